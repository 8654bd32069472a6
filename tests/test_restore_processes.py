"""Restores and rebuilds with real `tiersync serve` processes and the CLI as an operator runs it."""

import subprocess
from collections.abc import Callable

import pytest

from node.launcher import NodeSpec, tiersync_command
from tests.processes import Topology, topology

pytestmark = pytest.mark.slow
__all__ = ["topology"]
TOWNSHIP, VILLAGE = "632322101", "632322101201"


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
