"""Operator access for tests: a user of some role on a node, and its bearer header.

The shared helpers (tests/conftest.py `node_client`, tests/cluster.py) authenticate their
clients once with `sign_in`, as an operator unless told otherwise.
"""

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from fastapi import FastAPI

from node.access import login, users
from node.db import Database
from node.errors import Unauthorized

PASSWORD = "Dashboard-2020!"  # a test password that passes the strength rule


def grant(
    db: Database,
    node: str,
    role: str = "operator",
    *,
    name: str | None = None,
    units: tuple[str, ...] = (),
    password: str | None = None,
) -> str:
    """Create a user of `role` on the node's database and return its API token."""
    added = users.add_user(
        db,
        node=node,
        name=name or f"test-{role}",
        role=role,
        units=list(units),
        actor="os:test",
        token_ttl=timedelta(days=1),
        password=password,
    )
    return added.token


def holds(db: Database, node: str, token: str) -> bool:
    """Whether the node's database still accepts `token` (a rebuilt node has lost its users)."""
    try:
        login.verify_token(db, node=node, token=token, kind="api", now=datetime.now(UTC))
    except Unauthorized:
        return False
    return True


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def sign_in(client: httpx.AsyncClient, app: FastAPI, role: str = "operator") -> str:
    """Make every request of `client` carry a token of a new `role` user of `app`'s node."""
    ctx = app.state.ctx
    token = grant(ctx.db, ctx.identity.code, role)
    client.headers.update(bearer(token))
    return token


@asynccontextmanager
async def operator_client(app: FastAPI, role: str = "operator") -> AsyncIterator[httpx.AsyncClient]:
    """A client of `app` (its lifespan entered) through ASGITransport, signed in as `role`."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
        sign_in(client, app, role)
        yield client


def browser_sign_in(
    driver: Any, base_url: str, name: str, password: str, totp: str = "", page: str = "/login"
) -> None:
    """Sign a Chromium (selenium) in through the login page, and wait until it has left it."""
    from selenium.webdriver.common.by import By

    driver.get(base_url + page)
    driver.find_element(By.ID, "name").send_keys(name)
    driver.find_element(By.ID, "password").send_keys(password)
    if totp:
        driver.find_element(By.ID, "totp").send_keys(totp)
    driver.find_element(By.ID, "submit").click()
    from selenium.common.exceptions import WebDriverException

    deadline = time.monotonic() + 15
    while "/login" in driver.current_url:
        try:
            error = driver.find_element(By.ID, "error").text
        except WebDriverException:  # the page is being left: the next loop will tell
            error = ""
        assert not error and time.monotonic() < deadline, f"sign-in failed: {error!r}"
        time.sleep(0.05)
