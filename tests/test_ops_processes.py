"""The operator tools as an operator runs them: `tiersync serve` processes on loopback and the
CLI commands as subprocesses with TIERSYNC_* variables. Bounded; nodes killed in teardown."""

import json
import shutil
import sqlite3
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from node.launcher import NodeSpec, add_operator, create, enrol, free_port, tiersync_command
from tests.factories import person
from tests.processes import Topology, topology, wait_for

pytestmark = pytest.mark.slow
__all__ = ["topology"]
TOWNSHIP, VILLAGE, OTHER_TOWNSHIP = "632322101", "632322101201", "632322102"


def cli(spec: NodeSpec, *args: str) -> subprocess.CompletedProcess[str]:
    actor = [] if args[0] in {"status", "audit"} else ["--actor", "ops-test"]
    return subprocess.run(
        [*tiersync_command(), *args, *actor],
        env=spec.env(),
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )


def as_json(done: subprocess.CompletedProcess[str]) -> Any:
    assert done.stdout, done.stderr
    return json.loads(done.stdout)


def persons(topo: Topology, code: str) -> int:
    try:
        with topo.client(code) as client:
            total, cursor = 0, None
            while True:
                params = {"kind": "person", "limit": 1000} | ({"cursor": cursor} if cursor else {})
                page = client.get("/api/v1/records", params=params).json()
                total += len(page["items"])
                cursor = page["next_cursor"]
                if not cursor:
                    return total
    except Exception:  # a node being restarted answers nothing
        return -1


def write(topo: Topology, n: int) -> None:
    with topo.client(VILLAGE) as client:
        result = client.post("/api/v1/records/bulk", json=[person() for _ in range(n)]).json()
        assert result["accepted"] == n


def copy_db(src: Path, dst: Path) -> None:
    """A stopped node's files, as a backup or a restore (WAL included)."""
    dst.mkdir(parents=True, exist_ok=True)
    for name in ("tiersync.db", "tiersync.db-wal"):
        if (src / name).exists():
            shutil.copy(src / name, dst / name)
        else:
            (dst / name).unlink(missing_ok=True)
    (dst / "tiersync.db-shm").unlink(missing_ok=True)


def stored_persons(data_dir: Path) -> int:
    """Live person records in a stopped node's database file."""
    with sqlite3.connect(data_dir / "tiersync.db") as db:
        (count,) = db.execute(
            "SELECT count(*) FROM records WHERE kind = 'person' AND NOT deleted"
        ).fetchone()
    return int(count)


def differences(done: subprocess.CompletedProcess[str]) -> list[str]:
    return sorted(d["action"] for d in as_json(done)["parent"]["differences"])


def test_operator_tools_as_real_processes(
    topology: Callable[..., Topology], tmp_path: Path
) -> None:
    topo = topology(TIERSYNC_RETRY_MAX_S="0.5", TIERSYNC_PUSH_DELAY_MS="20")
    t_spec = topo.add(TOWNSHIP, "Kangyang Town")
    v_spec = topo.add(VILLAGE, "Dongmen Village", parent=TOWNSHIP)
    township, village = topo.start(TOWNSHIP), topo.start(VILLAGE)
    write(topo, 20)
    wait_for(lambda: persons(topo, TOWNSHIP) == 20, 30, "20 records at the township")
    township.kill()
    village.kill()
    copy_db(t_spec.data_dir, tmp_path / "t-old")
    copy_db(v_spec.data_dir, tmp_path / "v-old")
    township, village = topo.start(TOWNSHIP), topo.start(VILLAGE)
    write(topo, 10)
    wait_for(lambda: persons(topo, TOWNSHIP) == 30, 30, "30 records at the township")

    # The township is restored from its older backup: the village's verify repairs it.
    township.kill()
    copy_db(tmp_path / "t-old", t_spec.data_dir)
    # What the restored files hold, read before the township starts: once it serves, the
    # village may resend what it lost within a second, before any query of ours.
    assert stored_persons(t_spec.data_dir) == 20
    township = topo.start(TOWNSHIP)
    repaired = cli(v_spec, "verify", "--repair", "--json")
    assert repaired.returncode == 0, repaired.stderr
    # The village resends what the township lost: by its verify, or on its own just before it
    # (a child notices a parent that went back within seconds: docs/protocol.md).
    assert differences(repaired) in ([], ["send"] * 10), repaired.stdout
    wait_for(lambda: persons(topo, TOWNSHIP) == 30, 30, "the township whole again")

    # The village is restored from its older backup, and one record is damaged by hand.
    village.kill()
    copy_db(tmp_path / "v-old", v_spec.data_dir)
    with sqlite3.connect(v_spec.data_dir / "tiersync.db") as db:
        db.execute(
            "UPDATE records SET hlc = hlc - 5, data = '{}' "
            "WHERE rowid = (SELECT min(rowid) FROM records WHERE kind = 'person')"
        )
    village = topo.start(VILLAGE)
    found = cli(v_spec, "verify", "--deep", "--json")
    assert found.returncode == 1 and differences(found) == ["fetch"] * 11
    assert cli(v_spec, "verify", "--repair").returncode == 0
    assert persons(topo, VILLAGE) == 30

    status = as_json(cli(t_spec, "status", "--json"))
    assert [(c["code"], c["stale"]) for c in status["children"]] == [(VILLAGE, False)]

    # No link: a bundle goes up by hand — twice, tampered, to the wrong township — and back.
    village.stop()
    bundle = tmp_path / "up.tsb"
    assert cli(v_spec, "bundle", "export", "--out", str(bundle)).returncode == 0
    first = cli(t_spec, "bundle", "import", str(bundle), "--json")
    assert first.returncode == 0, first.stderr
    again = as_json(cli(t_spec, "bundle", "import", str(bundle), "--json"))
    assert again["already_imported"] and again["applied"] == 0
    raw = bytearray(bundle.read_bytes())
    raw[-3] ^= 0x55
    (tmp_path / "bad.tsb").write_bytes(bytes(raw))
    tampered = cli(t_spec, "bundle", "import", str(tmp_path / "bad.tsb"))
    assert tampered.returncode == 1 and "altered" in tampered.stderr
    elsewhere = NodeSpec(OTHER_TOWNSHIP, "Second Town", tmp_path / OTHER_TOWNSHIP, free_port())
    create(elsewhere)
    wrong = cli(elsewhere, "bundle", "import", str(bundle))
    assert wrong.returncode == 1 and "not to this node" in wrong.stderr
    assert cli(v_spec, "bundle", "ack", as_json(first)["receipt"]).returncode == 0

    # The village's disk dies: rebuilt from the township, it serves and writes again. Its key
    # died with the disk and its code was spent on that key: the township enrols it again.
    shutil.rmtree(v_spec.data_dir)
    enrol(t_spec, v_spec)
    rebuilt = cli(v_spec, "rebuild", "--from-parent", "--json")
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert as_json(rebuilt)["records"] == 30
    add_operator(v_spec)  # users are the node's own: a rebuilt node's are made again
    topo.start(VILLAGE)
    write(topo, 1)
    wait_for(lambda: persons(topo, TOWNSHIP) == 31, 30, "the rebuilt village's new record")
    assert persons(topo, VILLAGE) == 31

    log = as_json(cli(t_spec, "audit", "--json"))
    imports = [e["outcome"] for e in log if e["action"] == "ops.bundle_import"]
    assert imports == ["failed", "no-op", "ok"] and {e["actor"] for e in log} >= {"ops-test"}
