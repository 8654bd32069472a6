"""Cursor-moving operator commands beside a serving node (issue 10, defect 4): `resync` and
`bundle ack` are run by the serving process when given an operator's token, refused (nothing
changed) without one (`rebuild` always refuses: tests/test_restore_processes.py). Real
`tiersync serve` processes."""

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from node.app import open_node
from node.audit import service as audit
from node.bundles import service as bundles
from node.context import NodeContext
from node.launcher import NodeSpec
from node.ops.status import node_status
from node.settings import Settings
from tests.processes import Topology, topology, wait_for
from tests.test_ops_processes import cli, persons, write

pytestmark = pytest.mark.slow
__all__ = ["topology"]
TOWNSHIP, VILLAGE = "632322101", "632322101201"


@contextmanager
def opened(spec: NodeSpec) -> Iterator[NodeContext]:
    """The node's database in this process, as a CLI opens it (a CLI costs seconds of
    imports: only the commands under test run as subprocesses)."""
    parent = spec.parent.url if spec.parent else None
    settings = Settings(code=spec.code, name=spec.name, data_dir=spec.data_dir, parent_url=parent)
    ctx = open_node(settings, create=False)
    try:
        yield ctx
    finally:
        ctx.db.dispose()


def upstream(topo: Topology) -> dict[str, int]:
    """The village's link up as `status` reports it."""
    with opened(topo.specs[VILLAGE]) as ctx:
        up = node_status(ctx).upstream
    assert up is not None
    return {"acked": up.acked, "pending": up.pending}


def test_resync_and_bundle_ack_go_through_the_serving_node(
    topology: Callable[..., Topology], tmp_path: Path
) -> None:
    topo = topology(TIERSYNC_RETRY_MAX_S="0.5", TIERSYNC_PUSH_DELAY_MS="20")
    t_spec = topo.add(TOWNSHIP, "Kangyang Town")
    v_spec = topo.add(VILLAGE, "Dongmen Village", parent=TOWNSHIP)
    topo.start(TOWNSHIP)
    topo.start(VILLAGE)
    write(topo, 5)
    wait_for(lambda: persons(topo, TOWNSHIP) == 5, 30, "5 records at the township")
    wait_for(lambda: upstream(topo)["pending"] == 0, 30, "the village's log acked")
    before = upstream(topo)

    # No token: refused in Chinese, naming the serving process and the way out; nothing moved.
    refused = cli(v_spec, "resync")
    assert refused.returncode == 1
    assert "正在运行" in refused.stderr and "--token" in refused.stderr, refused.stderr
    assert upstream(topo) == before
    bad = cli(v_spec, "resync", "--token", "tsu_632322101201_nosuchtoken_" + "x" * 43)
    assert bad.returncode == 1 and "HTTP 401" in bad.stderr, bad.stderr

    # With an operator's token the serving node resends its whole log, between its own rounds.
    done = cli(v_spec, "resync", "--json", "--token", v_spec.operator_token or "")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["via"] == "serving node" and report["since"] == 0
    assert report["records"] >= 5 and report["acked"] == before["acked"]
    assert persons(topo, TOWNSHIP) == 5  # resent as stale: no duplicates
    write(topo, 1)  # the replicator still pushes on its own afterwards
    wait_for(lambda: persons(topo, TOWNSHIP) == 6, 30, "a write after the resync")

    # The township's receipt, carried by hand, is taken by the serving village.
    down = tmp_path / "down.tsb"
    with opened(t_spec) as township:  # works beside the serving township (its own cursors)
        bundles.export_down(township, child=VILLAGE, out=down)
    taken = cli(
        v_spec, "bundle", "ack", str(down), "--json", "--token", v_spec.operator_token or ""
    )
    assert taken.returncode == 0, taken.stderr
    assert json.loads(taken.stdout)["direction"] == "down"
    assert list((v_spec.data_dir / "incoming").iterdir()) == []

    with opened(v_spec) as ctx:
        log = audit.entries(ctx.db, action="ops.resync")
    resyncs = [(e.actor, e.outcome) for e in log]
    assert ("user:test-operator", "ok") in resyncs and ("ops-test", "failed") in resyncs
