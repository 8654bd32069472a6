"""`tiersync demo` (the README's main job) as a user runs it: a network of real processes."""

import json
import os
import random
import re
import signal
import socket
import sqlite3
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from node.launcher import tiersync_command
from node.seed.topology import HAZANG
from tests.processes import wait_for

pytestmark = pytest.mark.slow
NODES = 12


def free_port_run(count: int) -> int:
    """A base port with `count` free ports from it on 127.0.0.1."""
    for _ in range(50):
        base = random.randint(20_000, 40_000)
        try:
            for port in range(base, base + count):
                with socket.socket() as sock:
                    sock.bind(("127.0.0.1", port))
            return base
        except OSError:
            continue
    raise RuntimeError("no run of free ports")


KANGYANG = "632322101"


def operate_a_demo_node(data_dir: Path, output: str) -> None:
    """Every command can be aimed at a demo node with the configuration the demo wrote."""
    config = data_dir / KANGYANG / "tiersync.toml"
    assert re.search(
        rf"tiersync --config {re.escape(str(data_dir))}/\d+/tiersync.toml status", output
    )
    assert config.is_file()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TIERSYNC_")}

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        command = [*tiersync_command(), "--config", str(config), *args]
        return subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)

    status = cli("status", "--json", "--name", "Not Kangyang")
    report = json.loads(status.stdout)
    assert report["upstream"]["parent_url"], report  # not "the top"
    enrolled = [c["code"] for c in report["children"] if c["enrolled"]]
    assert enrolled == ["632322101201"], report["children"]  # Dongmen runs a node
    assert status.returncode == 0 and report["ok"], report["problems"]
    assert report["name"] != "Not Kangyang"
    verified = cli("verify", "--json")
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert cli("records", "list", "--limit", "1").returncode == 0


def test_demo_starts_the_network_loads_the_article_and_stops_cleanly(tmp_path: Path) -> None:
    base = free_port_run(NODES)
    log = (tmp_path / "demo.log").open("w")
    demo = subprocess.Popen(
        [*tiersync_command(), "demo", "--base-port", str(base), "--data-dir", str(tmp_path)],
        stdout=log,
        stderr=subprocess.STDOUT,
        env={k: v for k, v in os.environ.items() if not k.startswith("TIERSYNC_")},
    )
    try:
        text = lambda: (tmp_path / "demo.log").read_text()  # noqa: E731
        wait_for(
            lambda: "按 Ctrl+C 停止全部节点" in text() or demo.poll() is not None,
            240,
            "the demo to come up",
        )
        assert demo.poll() is None, text()
        output = text()
        assert "州（市）节点已收齐全部" in output
        assert f"https://127.0.0.1:{base}" in output and "Hazang Village" in output
        top = f"https://127.0.0.1:{base}"
        cacert = re.search(r"curl --cacert (\S+) ", output)
        assert cacert, output  # TLS by default, and the demo says how to trust its CA
        ca = str(Path(cacert.group(1)).expanduser())
        with pytest.raises(httpx.ConnectError):  # not trusted without the demo's CA
            httpx.get(f"{top}/healthz")
        path, params = f"{top}/api/v1/views/summary", {"unit": HAZANG}
        assert httpx.get(path, params=params, verify=ca).status_code == 401  # no token
        token = re.search(r"export TOKEN=(\S+);", output)
        assert token, output  # the demo prints how to use the README's curl examples
        auth = {"Authorization": f"Bearer {token.group(1).rstrip(';')}"}
        summary = httpx.get(path, params=params, headers=auth, verify=ca).json()
        assert summary["counts"]["person"] == 2223 and summary["counts"]["household"] == 583
        assert len(summary["children"]) == 10  # Hazang's grids, named by the registry
        operate_a_demo_node(tmp_path, output)

        # Every node's signing key is known at the prefecture, certified by the demo's CA.
        def keys() -> list[tuple[str, int]]:
            with sqlite3.connect(tmp_path / "6323" / "tiersync.db") as db:
                return db.execute("SELECT code, certified FROM descendant_keys").fetchall()

        wait_for(lambda: len(keys()) == NODES - 1, 30, "every key at the prefecture")
        assert all(certified for _, certified in keys()), keys()
        # ...and every record reached it under its origin's seal, checked at every level.
        with sqlite3.connect(tmp_path / "6323" / "tiersync.db") as db:
            seals = db.execute("SELECT sends, refused FROM child_seals").fetchall()
            sealing = {code for (code,) in db.execute("SELECT code FROM sealing_origins")}
            quarantined = db.execute("SELECT count(*) FROM quarantine").fetchone()[0]
        assert seals and all(sends and not refused for sends, refused in seals), seals
        assert HAZANG in sealing and quarantined == 0, (sealing, quarantined)
        demo.send_signal(signal.SIGTERM)
        assert demo.wait(60) == 0
        deadline = time.monotonic() + 10
        for port in range(base, base + NODES):
            while True:  # every node process has let go of its port
                with socket.socket() as sock:
                    if sock.connect_ex(("127.0.0.1", port)) != 0:
                        break
                assert time.monotonic() < deadline, f"port {port} still served after the demo"
                time.sleep(0.1)
    finally:
        if demo.poll() is None:
            demo.kill()
        log.close()
