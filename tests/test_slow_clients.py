"""Slow clients against a real `tiersync serve`: trickling connections are closed on time, the
node keeps answering meanwhile, and connections beyond the cap are answered 503
(docs/protocol.md, Limits)."""

import os
import socket
import statistics
import subprocess
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.test_serve_process import TIERSYNC, VILLAGE, Served, free_port, wait_healthy

pytestmark = pytest.mark.slow

HEADER_TIMEOUT_S = 2.0
TRICKLERS = 200


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    tmp_path = tmp_path_factory.mktemp("slow_clients")
    env = {k: v for k, v in os.environ.items() if not k.startswith("TIERSYNC_")}
    env |= {
        "TIERSYNC_CODE": VILLAGE,
        "TIERSYNC_DATA_DIR": str(tmp_path / "node"),
        "TIERSYNC_HEADER_TIMEOUT_S": str(HEADER_TIMEOUT_S),
        "TIERSYNC_BODY_TIMEOUT_S": "2",
        "TIERSYNC_MAX_CONNECTIONS": "250",
    }
    config = str(tmp_path / "node.toml")
    for command in (["init", "--config", config], ["user", "add", "clerk", "--role", "operator"]):
        made = subprocess.run(
            [str(TIERSYNC), *command], env=env, cwd=tmp_path, capture_output=True, text=True
        )
        assert made.returncode == 0, made.stderr
    token = made.stdout.strip().splitlines()[-1]
    port = free_port()
    log = tmp_path / "serve.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [str(TIERSYNC), "serve", "--port", str(port), "--log-level", "error"],
            env=env,
            cwd=tmp_path,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    try:
        served = Served(process, f"http://127.0.0.1:{port}", log, token)
        wait_healthy(served)
        yield served
    finally:
        process.kill()
        process.wait(timeout=10)


def open_tricklers(port: int, count: int) -> list[socket.socket]:
    socks = []
    for _ in range(count):
        sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # never finished
        sock.setblocking(False)
        socks.append(sock)
    return socks


def trickle(socks: list[socket.socket]) -> int:
    """One more header byte on each connection; returns how many the server has closed."""
    closed = 0
    for sock in socks:
        try:
            if sock.recv(1024) == b"":
                closed += 1
                continue
        except BlockingIOError:
            pass
        except OSError:
            closed += 1
            continue
        try:
            sock.send(b"X")
        except OSError:
            closed += 1
    return closed


def healthz_ms(client: httpx.Client) -> tuple[int, float]:
    started = time.perf_counter()
    status = client.get("/healthz").status_code
    return status, (time.perf_counter() - started) * 1000


def test_trickling_connections_are_closed_and_the_node_stays_responsive(node: Served) -> None:
    port = int(node.url.rsplit(":", 1)[1])
    socks = open_tricklers(port, TRICKLERS)
    try:
        opened = time.monotonic()
        timings: list[float] = []
        closed = 0
        with httpx.Client(base_url=node.url, timeout=5) as client:
            # While the 200 trickle, /healthz answers (each on a new connection: the 201st).
            while time.monotonic() - opened < HEADER_TIMEOUT_S * 0.8:
                closed = trickle(socks)
                status, ms = healthz_ms(client)
                assert status == 200
                timings.append(ms)
                time.sleep(0.05)
            assert closed == 0  # not yet their deadline
            assert statistics.median(timings) < 100, timings
            # Past the deadline every trickling connection is closed by the server.
            deadline = opened + HEADER_TIMEOUT_S + 8
            while closed < TRICKLERS and time.monotonic() < deadline:
                time.sleep(0.2)
                closed = trickle(socks)
            assert closed == TRICKLERS, f"{closed} of {TRICKLERS} closed"
            assert client.get("/healthz").status_code == 200
    finally:
        for sock in socks:
            sock.close()


def test_connections_beyond_the_cap_are_503_and_a_slow_body_408(node: Served) -> None:
    port = int(node.url.rsplit(":", 1)[1])
    socks = open_tricklers(port, 255)  # over TIERSYNC_MAX_CONNECTIONS=250
    try:
        with httpx.Client(base_url=node.url, timeout=5) as client:
            assert client.get("/healthz").status_code == 503
        for sock in socks:
            sock.close()
        socks = []
        time.sleep(0.3)
        # A body that trickles in is refused once the body deadline passes.
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            sock.sendall(
                b"POST /api/v1/records HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                + f"Authorization: Bearer {node.token}\r\n".encode()
                + b"Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"
            )
            started = time.monotonic()
            answer = b""
            sock.settimeout(0.3)
            while time.monotonic() - started < 8 and b"\r\n\r\n" not in answer:
                try:
                    sock.sendall(b" ")
                    answer += sock.recv(4096)
                except TimeoutError:
                    continue
                except OSError:
                    break
            elapsed = time.monotonic() - started
        assert answer.startswith(b"HTTP/1.1 408"), answer
        assert elapsed < 6
    finally:
        for sock in socks:
            sock.close()
