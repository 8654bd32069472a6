"""Fixtures: databases on both engines, and nodes built in-process.

PostgreSQL tests run against TIERSYNC_TEST_PG_URL (default: the local server, database `test`),
each test in a schema of its own. Where PostgreSQL is unreachable they skip with the reason, but
fail under CI=true: CI must run them.
"""

import os
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import create_engine, text

from node.app import create_app
from node.settings import Settings
from tests.access_support import sign_in
from tests.lifespan import running

if TYPE_CHECKING:
    from tests.cluster import Cluster

pytest_plugins = ["tests.processes"]

# Test files that each take minutes, run first: with two workers and a file per worker at a
# time (Makefile), the 200-seed simulation collected late ran alone at the end of CI while the
# other worker had nothing left to do.
LONGEST_FIRST = ("tests/test_sim.py", "tests/test_demo_process.py")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def rank(item: pytest.Item) -> int:
        path = item.nodeid.split("::", 1)[0]
        return LONGEST_FIRST.index(path) if path in LONGEST_FIRST else len(LONGEST_FIRST)

    items.sort(key=rank)  # stable: the order within each file, and of the rest, is kept


# Every in-process node of the tests' prefecture holds the same hash key (node/privacy), as
# `tiersync child add` hands it out; a test of a mismatch gives a node another one.
os.environ.setdefault("TIERSYNC_HASH_KEY", "5e" * 32)

PG_URL = os.environ.get("TIERSYNC_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
_pg_problem: str | None = None
_pg_checked = False


def pg_unavailable() -> str | None:
    global _pg_checked, _pg_problem
    if not _pg_checked:
        _pg_checked = True
        try:
            engine = create_engine(PG_URL, connect_args={"connect_timeout": 3})
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            engine.dispose()
        except Exception as exc:  # any failure means: no usable PostgreSQL here
            _pg_problem = f"PostgreSQL at {PG_URL} unreachable: {exc.__class__.__name__}: {exc}"
    return _pg_problem


def require_pg() -> None:
    problem = pg_unavailable()
    if problem:
        if os.environ.get("CI") == "true":
            pytest.fail(problem + " (CI=true: PostgreSQL tests must run)")
        pytest.skip(problem)


@pytest.fixture
def pg_schema_url() -> Iterator[Callable[[], str]]:
    """Factory of PostgreSQL URLs, each bound to a fresh schema dropped after the test."""
    require_pg()
    admin = create_engine(PG_URL)
    schemas: list[str] = []

    def make() -> str:
        name = f"t_{uuid.uuid4().hex[:16]}"
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{name}"'))
        schemas.append(name)
        return f"{PG_URL}?options=-csearch_path%3D{name}"

    yield make
    with admin.begin() as conn:
        for name in schemas:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{name}" CASCADE'))
    admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def engine_name(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def database_url_factory(
    engine_name: str, tmp_path: Path, request: pytest.FixtureRequest
) -> Callable[[str], str]:
    """Database URL per node name, on the engine this test is parametrised with."""
    if engine_name == "postgresql":
        make_pg = request.getfixturevalue("pg_schema_url")
        return lambda _name: make_pg()
    return lambda name: f"sqlite:///{tmp_path / name / 'tiersync.db'}"


def node_settings(
    code: str, tmp_path: Path, database_url: str | None = None, **extra: Any
) -> Settings:
    return Settings(
        code=code,
        data_dir=tmp_path / code,
        database_url=database_url,
        **extra,
    )


@pytest.fixture
async def node_app(
    tmp_path: Path, database_url_factory: Callable[[str], str]
) -> AsyncIterator[FastAPI]:
    """One village node on the parametrised engine, its lifespan entered."""
    settings = node_settings(
        "632322101201",
        tmp_path,
        database_url_factory("632322101201"),
        name="Dongmen Village",
        allowed_hosts=["village"],
    )
    app = create_app(settings)
    async with running(app):
        yield app


@pytest.fixture
async def node_client(node_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """`node_app` called through ASGITransport, signed in as an operator (tests of other roles
    sign in their own clients or pass their own headers)."""
    transport = httpx.ASGITransport(app=node_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://village") as client:
        sign_in(client, node_app)
        yield client


@pytest.fixture
async def cluster(tmp_path: Path) -> AsyncIterator["Cluster"]:
    from tests.cluster import Cluster

    c = Cluster(tmp_path)
    try:
        yield c
    finally:
        await c.close()


PREFECTURE, COUNTY, TOWNSHIP, VILLAGE = "6323", "632322", "632322101", "632322101201"


@pytest.fixture
async def chain(cluster: "Cluster") -> "Cluster":
    """Huangnan → Jianzha → Kangyang → Dongmen, SQLite everywhere."""
    await cluster.add(PREFECTURE, "Huangnan Prefecture")
    await cluster.add(COUNTY, "Jianzha County", parent=PREFECTURE)
    await cluster.add(TOWNSHIP, "Kangyang Town", parent=COUNTY)
    await cluster.add(VILLAGE, "Dongmen Village", parent=TOWNSHIP)
    return cluster
