"""`tiersync serve` as a real process: starts, answers, and stops cleanly on a signal."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.factories import person

pytestmark = pytest.mark.slow

TIERSYNC = Path(sys.executable).parent / "tiersync"
VILLAGE = "632322101201"
STARTUP_TIMEOUT_S = 20.0


@dataclass
class Served:
    process: subprocess.Popen[bytes]
    url: str
    log: Path
    token: str

    def output(self) -> str:
        return self.log.read_text(errors="replace")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_healthy(served: Served) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if served.process.poll() is not None:
            pytest.fail(f"serve exited with {served.process.returncode}:\n{served.output()}")
        try:
            if httpx.get(f"{served.url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    pytest.fail(f"no 200 from /healthz within {STARTUP_TIMEOUT_S} s:\n{served.output()}")


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    if not TIERSYNC.exists():
        pytest.fail(f"{TIERSYNC} missing: install the project (pip install -e .)")
    env = {k: v for k, v in os.environ.items() if not k.startswith("TIERSYNC_")}
    env |= {
        "TIERSYNC_CODE": VILLAGE,
        "TIERSYNC_NAME": "Dongmen Village",
        "TIERSYNC_DATA_DIR": str(tmp_path / "node"),
    }
    # Installed as an operator would: the node created, then its first user.
    config = str(tmp_path / "node.toml")  # not ./tiersync.toml: serve reads the environment
    for command in (["init", "--config", config], ["user", "add", "clerk", "--role", "operator"]):
        added = subprocess.run(
            [str(TIERSYNC), *command], env=env, cwd=tmp_path, capture_output=True, text=True,
        )  # fmt: skip
        assert added.returncode == 0, added.stderr
    token = added.stdout.strip().splitlines()[-1]  # the API token is the last line
    port = free_port()
    log = tmp_path / "serve.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [str(TIERSYNC), "serve", "--port", str(port)],
            env=env,
            cwd=tmp_path,  # no stray ./tiersync.toml
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    try:
        yield Served(process, f"http://127.0.0.1:{port}", log, token)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_serve_stores_records_and_stops_cleanly(served: Served, signum: signal.Signals) -> None:
    wait_healthy(served)
    auth = {"Authorization": f"Bearer {served.token}"}
    with httpx.Client(base_url=served.url, headers=auth, timeout=10) as client:
        created = client.post("/api/v1/records", json=person())
        assert created.status_code == 201, created.text
        record = created.json()
        got = client.get(f"/api/v1/records/{record['id']}")
        assert got.status_code == 200 and got.json()["data"] == record["data"]

    served.process.send_signal(signum)
    try:
        returncode = served.process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        pytest.fail(f"serve did not stop within 15 s of {signum.name}:\n{served.output()}")
    output = served.output()
    assert returncode == 0, output
    assert "Application shutdown complete" in output
    assert "Traceback" not in output
    # Not a terminal: JSON lines (after serve's one line for the operator), no personal data.
    events = [json.loads(line) for line in output.splitlines()[1:] if line.strip()]
    writes = [e for e in events if e["event"] == "request" and e["route"] == "/api/v1/records"]
    assert [(w["method"], w["status"], w["node"]) for w in writes] == [("POST", 201, VILLAGE)]
    assert len(writes[0]["request_id"]) == 32
    assert record["data"]["id_number"] not in output and record["data"]["name"] not in output
