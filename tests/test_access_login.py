"""Dashboard sign-in: sessions and their cookies, CSRF, a foreign Host, lockout, TOTP, and
revocation taking effect at once in the serving process."""

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pyotp
import pytest
from fastapi import FastAPI

from node.access import users
from node.app import create_app
from node.audit import service as audit
from node.settings import Settings
from tests.access_support import PASSWORD, bearer, grant
from tests.factories import person
from tests.lifespan import running

VILLAGE = "632322101201"


@pytest.fixture
async def node(tmp_path: Path) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    settings = Settings(
        code=VILLAGE,
        data_dir=tmp_path,
        login_max_failures=3,
        allowed_hosts=["dongmen.example"],
    )
    app = create_app(settings, run_replicator=False)
    async with running(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
            grant(app.state.ctx.db, VILLAGE, "operator", name="zhuoma", password=PASSWORD)
            yield app, client


async def login(client: httpx.AsyncClient, **body: Any) -> httpx.Response:
    return await client.post("/api/v1/auth/login", json={"name": "zhuoma", **body})


def actions(app: FastAPI, action: str) -> list[tuple[str, str]]:
    return [(e.actor, e.outcome) for e in audit.entries(app.state.ctx.db, action=action)]


async def test_session_cookie_is_httponly_strict_and_needs_csrf_to_write(
    node: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    app, client = node
    signed = await login(client, password=PASSWORD)
    assert signed.status_code == 200, signed.text
    cookies = signed.headers.get_list("set-cookie")
    session = next(c for c in cookies if c.startswith("tiersync_session="))
    assert "HttpOnly" in session and "SameSite=strict" in session and "Secure" not in session
    csrf_cookie = next(c for c in cookies if c.startswith("tiersync_csrf="))
    assert "HttpOnly" not in csrf_cookie
    csrf = signed.json()["csrf_token"]
    assert (await client.get("/api/v1/auth/me")).json()["name"] == "zhuoma"  # reads: no CSRF
    without = await client.post("/api/v1/records", json=person())
    assert without.status_code == 403
    assert without.json()["error"]["details"][0]["field"] == "X-CSRF-Token"
    wrong = await client.post("/api/v1/records", json=person(), headers={"X-CSRF-Token": "x"})
    assert wrong.status_code == 403
    foreign = await client.post(
        "/api/v1/records",
        json=person(),
        headers={"X-CSRF-Token": csrf, "Origin": "http://evil.example"},
    )
    assert foreign.status_code == 403
    written = await client.post("/api/v1/records", json=person(), headers={"X-CSRF-Token": csrf})
    assert written.status_code == 201
    assert ("user:zhuoma", "ok") in actions(app, "record.create")
    assert ("user:zhuoma", "ok") in actions(app, "auth.login")
    # Logging out revokes the session at once, in this process: the cookie no longer works.
    cookie = client.cookies.get("tiersync_session")
    assert (
        await client.post("/api/v1/auth/logout", headers={"X-CSRF-Token": csrf})
    ).status_code == 204
    client.cookies.set("tiersync_session", cookie or "")
    assert (await client.get("/api/v1/auth/me")).status_code == 401


async def test_bearer_requests_need_no_csrf_token(node: tuple[FastAPI, httpx.AsyncClient]) -> None:
    app, client = node
    token = grant(app.state.ctx.db, VILLAGE, "operator", name="script")
    written = await client.post("/api/v1/records", json=person(), headers=bearer(token))
    assert written.status_code == 201


async def test_a_foreign_host_is_refused(node: tuple[FastAPI, httpx.AsyncClient]) -> None:
    _, client = node
    rebound = await client.get("/healthz", headers={"Host": "attacker.example"})
    assert rebound.status_code == 400
    assert rebound.json()["error"]["details"] == [
        {"field": "Host", "reason": "not in TIERSYNC_ALLOWED_HOSTS"}
    ]
    for host in ("dongmen.example:8000", "127.0.0.1:8700", "[::1]:8000", "localhost"):
        assert (await client.get("/healthz", headers={"Host": host})).status_code == 200, host


async def test_no_cors_unless_configured(node: tuple[FastAPI, httpx.AsyncClient]) -> None:
    _, client = node
    preflight = await client.options(
        "/api/v1/records",
        headers={"Origin": "http://other.example", "Access-Control-Request-Method": "POST"},
    )
    assert "access-control-allow-origin" not in preflight.headers


async def test_brute_force_locks_the_account_and_is_audited(
    node: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    app, client = node
    for _ in range(3):
        failed = await login(client, password="wrong password 1")
        assert failed.status_code == 401
        assert failed.json()["error"]["message"] == "wrong user name or password"
    locked = await login(client, password=PASSWORD)  # right password, but locked
    assert locked.status_code == 401 and "locked" in locked.json()["error"]["message"]
    assert actions(app, "auth.lockout") == [("user:zhuoma", "locked")]
    assert len(actions(app, "auth.login")) == 4  # three failures and the refusal while locked
    unknown = await client.post("/api/v1/auth/login", json={"name": "nobody", "password": "x"})
    assert unknown.json()["error"]["message"] == "wrong user name or password"  # no oracle
    # The security administrator unlocks, over the API (right security.manage).
    security = grant(app.state.ctx.db, VILLAGE, "security", name="sec")
    unlocked = await client.post("/api/v1/users/zhuoma/unlock", headers=bearer(security))
    assert unlocked.status_code == 200 and unlocked.json()["locked_until"] is None
    assert (await login(client, password=PASSWORD)).status_code == 200
    assert actions(app, "user.unlock") == [("user:sec", "ok")]


async def test_admin_needs_a_totp_code(node: tuple[FastAPI, httpx.AsyncClient]) -> None:
    app, client = node
    db = app.state.ctx.db
    grant(db, VILLAGE, "admin", name="boss", password=PASSWORD)
    body = {"name": "boss", "password": PASSWORD}
    not_enrolled = await client.post("/api/v1/auth/login", json=body)
    assert not_enrolled.status_code == 401
    assert not_enrolled.json()["error"]["details"] == [{"field": "totp", "reason": "not enrolled"}]
    uri = users.enrol_totp(db, node=VILLAGE, name="boss", actor="os:test")
    secret = pyotp.parse_uri(uri).secret
    users.confirm_totp(db, name="boss", code=pyotp.TOTP(secret).now(), actor="os:test")
    missing = await client.post("/api/v1/auth/login", json=body)
    assert missing.status_code == 401
    assert missing.json()["error"]["details"][0]["field"] == "totp"
    wrong = await client.post("/api/v1/auth/login", json={**body, "totp": "000000"})
    assert wrong.status_code == 401 or pyotp.TOTP(secret).verify("000000")
    right = await client.post("/api/v1/auth/login", json={**body, "totp": pyotp.TOTP(secret).now()})
    assert right.status_code == 200 and right.json()["role"] == "admin"


async def test_expired_and_rotated_tokens_are_refused(
    node: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    app, client = node
    db = app.state.ctx.db
    expired = users.add_user(
        db, node=VILLAGE, name="old", role="viewer", units=[], actor="os:test",
        token_ttl=timedelta(seconds=-1),
    ).token  # fmt: skip
    assert (await client.get("/api/v1/views/summary", headers=bearer(expired))).status_code == 401
    first = grant(db, VILLAGE, "viewer", name="screen")
    second, _ = users.rotate_token(
        db, node=VILLAGE, name="screen", actor="os:test", token_ttl=timedelta(days=1)
    )
    assert (await client.get("/api/v1/views/summary", headers=bearer(first))).status_code == 401
    assert (await client.get("/api/v1/views/summary", headers=bearer(second))).status_code == 200
    assert actions(app, "user.token") == [("os:test", "ok")]


async def test_the_login_form_is_json_only(node: tuple[FastAPI, httpx.AsyncClient]) -> None:
    _, client = node
    form = await client.post(
        "/api/v1/auth/login", data={"name": "zhuoma", "password": PASSWORD}
    )  # what a cross-site HTML form could send
    assert form.status_code == 422
