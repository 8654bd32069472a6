"""Background tasks never die silently, against real processes (issue 10, defect 1): a village's
database locked by another process beyond its busy timeout, a parent address that answers 200
with a body that is no ack, and (PostgreSQL) the node's connections dropped and refused. Each
time the village keeps serving, `/readyz` and `status` name the failing replicator and for how
long, and once the fault ends it recovers on its own: every record reaches the parent.

Bounded: the busy timeout and the unready threshold are lowered through their settings
(TIERSYNC_SQLITE_BUSY_TIMEOUT_S, TIERSYNC_TASK_UNREADY_S), so each fault lasts seconds."""

import contextlib
import json
import socket
import sqlite3
import threading
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text

from node.app import open_node
from node.launcher import NodeSpec
from node.ops.status import node_status
from node.settings import Settings
from tests.conftest import PG_URL, require_pg
from tests.processes import Topology, topology, wait_for
from tests.test_ops_processes import cli, persons, write

pytestmark = pytest.mark.slow
__all__ = ["topology"]
TOWNSHIP, VILLAGE = "632322101", "632322101201"
FAST = {
    "TIERSYNC_RETRY_MAX_S": "0.5",
    "TIERSYNC_PUSH_DELAY_MS": "20",
    "TIERSYNC_SQLITE_BUSY_TIMEOUT_S": "1",
    "TIERSYNC_TASK_UNREADY_S": "2",
}


def readyz(spec: NodeSpec) -> tuple[int, Any]:
    try:
        answer = httpx.get(spec.url + "/readyz", timeout=10)
    except httpx.HTTPError:
        return 0, None
    return answer.status_code, answer.json()


def replicator_unready(spec: NodeSpec) -> str | None:
    """/readyz's 503 message when it names the replicator as failing for some time."""
    status, body = readyz(spec)
    message = str(body.get("error", {}).get("message", "")) if status == 503 else ""
    return message if "后台任务 replicator 已持续出错" in message else None


def status_of(spec: NodeSpec) -> Any:
    """What `tiersync status --json` reports (read in this process: a CLI costs seconds)."""
    parent = spec.parent.url if spec.parent else None
    settings = Settings(
        code=spec.code,
        name=spec.name,
        data_dir=spec.data_dir,
        database_url=spec.database_url,
        parent_url=parent,
    )
    ctx = open_node(settings, create=False, writable=False)
    try:
        return node_status(ctx)
    finally:
        ctx.db.dispose()


def assert_reported_failing(spec: NodeSpec, *, database_up: bool = True) -> None:
    message = wait_for(lambda: replicator_unready(spec), 30, "/readyz naming the replicator")
    assert " 秒（重启 " in message  # for how long, and how many restarts
    if not database_up:  # `tiersync status` cannot read the database: it shows what the node
        done = cli(spec, "status", "--json")  # published, with the database's error
        assert done.returncode == 1 and "数据库出错" in done.stderr, done.stderr
        shown = json.loads(done.stdout)
        assert any("replicator 已持续出错" in p for p in shown["problems"]), shown
        task = next(t for t in shown["tasks"]["tasks"] if t["name"] == "replicator")
        assert task["state"] == "failing" and task["failing_s"] > 0
        return
    report = status_of(spec)
    assert not report.ok
    assert any("replicator 已持续出错" in p for p in report.problems), report.problems
    task = next(t for t in report.tasks.tasks if t.name == "replicator")
    assert task.state == "failing" and task.failing_s is not None and task.failing_s > 0
    assert task.last_error


def assert_recovered(topo: Topology, spec: NodeSpec, total: int) -> None:
    wait_for(lambda: persons(topo, TOWNSHIP) == total, 30, f"{total} records at the township")
    wait_for(lambda: readyz(spec)[0] == 200, 30, "the village ready again")
    task = next(t for t in status_of(spec).tasks.tasks if t.name == "replicator")
    assert task.state == "running" and task.failing_s is None


def test_a_database_locked_beyond_the_busy_timeout(topology: Callable[..., Topology]) -> None:
    topo = topology(**FAST)
    topo.add(TOWNSHIP, "Kangyang Town")
    v_spec = topo.add(VILLAGE, "Dongmen Village", parent=TOWNSHIP)
    township = topo.start(TOWNSHIP)
    topo.start(VILLAGE)
    write(topo, 2)
    wait_for(lambda: persons(topo, TOWNSHIP) == 2, 30, "2 records at the township")
    township.kill()
    write(topo, 3)  # stored and answered 201; the parent is away (the link, not the task)

    # Another process holds the village's write lock: its replicator cannot save an ack.
    other = sqlite3.connect(v_spec.data_dir / "tiersync.db", isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        topo.start(TOWNSHIP)
        assert_reported_failing(v_spec)
        assert httpx.get(v_spec.url + "/healthz", timeout=10).status_code == 200
        assert persons(topo, VILLAGE) == 5  # it still serves what it holds
    finally:
        other.rollback()
        other.close()
    assert_recovered(topo, v_spec, 5)


class FlakyParent:
    """An address on 127.0.0.1 in front of the real parent: it pipes the bytes through, or,
    while `broken`, answers every request itself with a 200 whose body is no ack."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.broken = False
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._open: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        with contextlib.suppress(OSError):
            while True:
                conn, _ = self.server.accept()
                self._open.append(conn)
                target = self._answer if self.broken else self._pipe
                threading.Thread(target=target, args=(conn,), daemon=True).start()

    def _answer(self, conn: socket.socket) -> None:
        with contextlib.suppress(OSError), conn:
            head = b""
            while b"\r\n\r\n" not in head:
                chunk = conn.recv(65536)
                if not chunk:
                    return
                head += chunk
            body = b'{"hello": "this is no ack"}'
            conn.sendall(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n"
                + f"Content-Length: {len(body)}\r\n\r\n".encode()
                + body
            )

    def _pipe(self, conn: socket.socket) -> None:
        try:
            upstream = socket.create_connection(("127.0.0.1", self.target_port), timeout=30)
        except OSError:
            conn.close()
            return
        self._open.append(upstream)

        def copy(src: socket.socket, dst: socket.socket) -> None:
            with contextlib.suppress(OSError):
                while data := src.recv(65536):
                    dst.sendall(data)
            with contextlib.suppress(OSError):
                dst.shutdown(socket.SHUT_WR)

        threading.Thread(target=copy, args=(upstream, conn), daemon=True).start()
        copy(conn, upstream)

    def break_now(self) -> None:
        """Answer garbage from now on; connections already piped are cut."""
        self.broken = True
        for one in self._open:
            with contextlib.suppress(OSError):
                one.shutdown(socket.SHUT_RDWR)
        self._open.clear()

    def close(self) -> None:
        self.server.close()
        self.break_now()


@pytest.fixture
def flaky() -> Iterator[Callable[[int], FlakyParent]]:
    made: list[FlakyParent] = []

    def make(port: int) -> FlakyParent:
        made.append(FlakyParent(port))
        return made[-1]

    yield make
    for one in made:
        one.close()


def test_a_200_whose_body_is_no_ack(
    topology: Callable[..., Topology], flaky: Callable[[int], FlakyParent]
) -> None:
    topo = topology(**FAST)
    t_spec = topo.add(TOWNSHIP, "Kangyang Town")
    v_spec = topo.add(VILLAGE, "Dongmen Village", parent=TOWNSHIP)
    front = flaky(t_spec.port)
    v_spec.extra_env["TIERSYNC_PARENT_URL"] = front.url
    topo.start(TOWNSHIP)
    topo.start(VILLAGE)
    write(topo, 2)
    wait_for(lambda: persons(topo, TOWNSHIP) == 2, 30, "2 records at the township")

    front.break_now()
    write(topo, 3)
    assert_reported_failing(v_spec)
    assert "ProtocolError" in (
        next(t for t in status_of(v_spec).tasks.tasks if t.name == "replicator").last_error or ""
    )
    front.broken = False
    assert_recovered(topo, v_spec, 5)


@pytest.fixture
def own_database() -> Iterator[str]:
    """A PostgreSQL database of this test's own (its connections can be cut without touching
    anyone else's), dropped afterwards."""
    require_pg()
    name = f"ops10_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield name
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS true'))
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.mark.postgres
def test_postgresql_connections_dropped(
    topology: Callable[..., Topology], own_database: str
) -> None:
    topo = topology(**FAST)
    topo.add(TOWNSHIP, "Kangyang Town")
    url = PG_URL.rsplit("/", 1)[0] + f"/{own_database}"
    v_spec = topo.add(VILLAGE, "Dongmen Village", parent=TOWNSHIP, database_url=url)
    township = topo.start(TOWNSHIP)
    topo.start(VILLAGE)
    write(topo, 2)
    wait_for(lambda: persons(topo, TOWNSHIP) == 2, 30, "2 records at the township")
    township.kill()
    write(topo, 3)

    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:  # the server "restarts": no one gets in, all are cut
            conn.execute(text(f'ALTER DATABASE "{own_database}" WITH ALLOW_CONNECTIONS false'))
            conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = :name AND pid <> pg_backend_pid()"
                ),
                {"name": own_database},
            )
        topo.start(TOWNSHIP)
        assert_reported_failing(v_spec, database_up=False)
        alive = httpx.get(v_spec.url + "/healthz", timeout=10)  # it answers, and says why
        assert alive.status_code == 503 and "database unreachable" in alive.text
        with admin.connect() as conn:
            conn.execute(text(f'ALTER DATABASE "{own_database}" WITH ALLOW_CONNECTIONS true'))
    finally:
        admin.dispose()
    assert_recovered(topo, v_spec, 5)
