"""Restores and rebuilds with real `tiersync serve` processes and the CLI as an operator runs it."""

import json
import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from node.launcher import NodeSpec, enrol, tiersync_command
from tests.factories import person
from tests.processes import Topology, give_operator, topology, wait_for
from tests.test_ops_processes import copy_db, persons

pytestmark = pytest.mark.slow
__all__ = ["topology"]
COUNTY, TOWNSHIP, VILLAGE = "632322", "632322101", "632322101201"


def cli(spec: NodeSpec, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*tiersync_command(), *args],
        env=spec.env(),
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )


def test_commands_that_move_cursors_refuse_beside_a_serving_node(
    topology: Callable[..., Topology],
) -> None:
    topo = topology()
    topo.add(TOWNSHIP, "Kangyang Town")
    v_spec = topo.add(VILLAGE, "Dongmen Village", parent=TOWNSHIP)
    topo.start(TOWNSHIP)
    village = topo.start(VILLAGE)
    for command in (["resync"], ["rebuild", "--from-parent", "--force"]):
        refused = cli(v_spec, *command)
        assert refused.returncode == 1, refused.stderr
        assert VILLAGE in refused.stderr and v_spec.url in refused.stderr, refused.stderr
        assert "tiersync serve" in refused.stderr and "停止" in refused.stderr
    second = cli(v_spec, "serve", "--port", "0")
    assert second.returncode == 1 and "tiersync serve" in second.stderr
    village.stop()
    assert cli(v_spec, "resync").returncode == 0


def write(topo: Topology, code: str, n: int) -> None:
    with topo.client(code) as client:
        result = client.post("/api/v1/records/bulk", json=[person() for _ in range(n)]).json()
        assert result["accepted"] == n, result


def test_a_township_rebuilt_from_its_county_lets_its_village_in_again(
    topology: Callable[..., Topology],
) -> None:
    topo = topology(TIERSYNC_RETRY_MAX_S="0.5", TIERSYNC_PUSH_DELAY_MS="20")
    c_spec = topo.add(COUNTY, "Jianzha County")
    t_spec = topo.add(TOWNSHIP, "Kangyang Town", parent=COUNTY)
    topo.add(VILLAGE, "Dongmen Village", parent=TOWNSHIP)
    for code in (COUNTY, TOWNSHIP, VILLAGE):
        topo.start(code)
    write(topo, VILLAGE, 10)
    wait_for(lambda: persons(topo, COUNTY) == 10, 30, "10 records at the county")
    # The township goes offline, the village keeps writing: the county lacks these.
    topo.procs[TOWNSHIP].kill()
    write(topo, VILLAGE, 5)

    # The township's disk dies, its key with it: the county enrols it again (`child add`; the
    # old code was spent on the lost key) and it is rebuilt from the county.
    shutil.rmtree(t_spec.data_dir)
    enrol(c_spec, t_spec)
    rebuilt = cli(t_spec, "rebuild", "--from-parent", "--json")
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert json.loads(rebuilt.stdout)["enrolments"] == 1
    give_operator(t_spec)  # users are the node's own: a rebuilt node's are made again
    topo.start(TOWNSHIP)
    # The village reconnects with the credential it holds and resends what was lost.
    wait_for(lambda: persons(topo, TOWNSHIP) == 15, 30, "the village's records at the township")
    wait_for(lambda: persons(topo, COUNTY) == 15, 30, "the village's records at the county")
    write(topo, VILLAGE, 1)
    wait_for(lambda: persons(topo, COUNTY) == 16, 30, "a new record at the county")


def test_children_resend_to_a_restored_parent_within_seconds(
    topology: Callable[..., Topology], tmp_path: Path
) -> None:
    # Heartbeats at their default (600 s): only the restore healing can bring the data back.
    topo = topology(TIERSYNC_RETRY_MAX_S="0.5", TIERSYNC_PUSH_DELAY_MS="20")
    t_spec = topo.add(TOWNSHIP, "Kangyang Town")
    topo.add(VILLAGE, "Dongmen Village", parent=TOWNSHIP)
    topo.start(TOWNSHIP)
    topo.start(VILLAGE)
    write(topo, VILLAGE, 5)
    wait_for(lambda: persons(topo, TOWNSHIP) == 5, 30, "5 records at the township")
    topo.procs[TOWNSHIP].stop()
    copy_db(t_spec.data_dir, tmp_path / "township-backup")
    topo.start(TOWNSHIP)
    write(topo, VILLAGE, 5)
    wait_for(lambda: persons(topo, TOWNSHIP) == 10, 30, "10 records at the township")

    topo.procs[TOWNSHIP].kill()
    copy_db(tmp_path / "township-backup", t_spec.data_dir)
    topo.start(TOWNSHIP)
    started = time.monotonic()
    wait_for(lambda: persons(topo, TOWNSHIP) == 10, 10, "the village's resend")
    print(f"restored township whole again {time.monotonic() - started:.2f} s after its start")
