"""A village's disk fills up while it serves, against real processes (issue 10, defect 1 and
the failure table's "disk full" row): its writes answer 507 `storage_full` and store nothing,
its background tasks survive and `/readyz` and `tiersync status` say the disk is full, and
once there is space again everything written before reaches the parent and new writes
succeed, without a restart.

The full disk is SQLite's own: the node limits its database's pages to what a file says
(TIERSYNC_TEST_SQLITE_MAX_PAGES_FILE, node/db.py), and SQLite answers SQLITE_FULL ("database
or disk is full") exactly as on a disk with no space left; writing a larger number into the
file gives the space back. No root, no loop device, no tmpfs."""

import sqlite3
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from node.db import MAX_PAGES_FILE_ENV
from node.launcher import NodeSpec
from schemas.ops import StatusReport
from tests.factories import person
from tests.processes import Topology, topology, wait_for
from tests.test_faults_processes import FAST, TOWNSHIP, VILLAGE, readyz, status_of
from tests.test_ops_processes import persons

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]
__all__ = ["topology"]
ROOMY = "10000000"  # pages: far more than the test writes


def pages_in_use(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        return int(conn.execute("PRAGMA page_count").fetchone()[0])


def full_reported(spec: NodeSpec) -> StatusReport | None:
    report = status_of(spec)
    return report if any("disk full" in p for p in report.problems) else None


def test_a_village_whose_disk_fills_up_recovers_on_its_own(
    topology: Callable[..., Topology], tmp_path: Path
) -> None:
    topo = topology(**FAST)
    topo.add(TOWNSHIP, "Kangyang Town")
    village = topo.add(VILLAGE, "Dongmen Village", parent=TOWNSHIP)
    limit = tmp_path / "max-pages"
    limit.write_text(ROOMY)
    village.extra_env[MAX_PAGES_FILE_ENV] = str(limit)
    topo.start(TOWNSHIP)
    topo.start(VILLAGE)
    with topo.client(VILLAGE) as client:
        for _ in range(5):
            assert client.post("/api/v1/records", json=person()).status_code == 201
        wait_for(lambda: persons(topo, TOWNSHIP) == 5, 30, "5 records at the township")

        # The disk fills up: not one more page.
        limit.write_text(str(pages_in_use(village.data_dir / "tiersync.db")))
        accepted, refused = 5, None
        for _ in range(500):
            answer = client.post("/api/v1/records", json=person())
            if answer.status_code != 201:
                refused = answer
                break
            accepted += 1
        assert refused is not None, "the disk never filled up"
        assert refused.status_code == 507, refused.text
        error = refused.json()["error"]
        assert error["code"] == "storage_full" and "磁盘已满" in error["message"]
        bulk = client.post("/api/v1/records/bulk", json=[person() for _ in range(50)])
        assert bulk.status_code == 507, bulk.text
        assert persons(topo, VILLAGE) == accepted  # nothing half-written

        # It keeps serving, and says why it cannot write.
        assert httpx.get(village.url + "/healthz", timeout=10).status_code == 200
        status, body = readyz(village)
        assert status == 503 and "disk full since" in body["error"]["message"], body
        report = wait_for(lambda: full_reported(village), 30, "`tiersync status` naming it")
        assert not report.ok
        assert report.tasks is not None
        assert {t.name: t.state for t in report.tasks.tasks}.get("replicator") in (
            "running",
            "failing",
        )
        # What it accepted before the disk filled still goes up.
        wait_for(lambda: persons(topo, TOWNSHIP) == accepted, 30, "the accepted writes above")

        # Space again: the next write succeeds, the node is ready, everything reaches the
        # township, and no task died on the way.
        limit.write_text(ROOMY)
        assert client.post("/api/v1/records", json=person()).status_code == 201
        wait_for(lambda: readyz(village)[0] == 200, 30, "the village ready again")
        wait_for(lambda: persons(topo, TOWNSHIP) == accepted + 1, 30, "every record above")
        assert persons(topo, VILLAGE) == accepted + 1
        states = {t.name: t.state for t in status_of(village).tasks.tasks}  # type: ignore[union-attr]
        assert "dead" not in states.values(), states
        assert not [p for p in status_of(village).problems if "disk full" in p]
