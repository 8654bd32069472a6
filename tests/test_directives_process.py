"""Directives through real `tiersync serve` processes: prefecture → county → township → village."""

import time
from collections.abc import Callable
from typing import Any

import httpx
import orjson
import pytest

from node.app import open_node
from node.launcher import NodeProcess, NodeSpec, free_port, run_cli
from node.settings import Settings
from node.units.service import enrol_child
from tests.directives_support import DONGMEN, JIANZHA, KANGYANG, PREFECTURE
from tests.processes import Topology, give_operator, wait_for

pytestmark = pytest.mark.slow


def add(topo: Topology, code: str, name: str, parent: str | None = None) -> NodeSpec:
    """Like Topology.add, but enrols in this process (the CLI's `child add` is tested
    elsewhere; each subprocess here costs seconds of imports)."""
    spec = NodeSpec(code, name, topo.root / code, free_port(), extra_env=dict(topo.env))
    give_operator(spec)
    if parent is not None:
        above = topo.specs[parent]
        settings = Settings(code=above.code, name=above.name, data_dir=above.data_dir)
        ctx = open_node(settings)
        try:
            spec.token = enrol_child(ctx.db, node_code=above.code, code=code, name=name).token
        finally:
            ctx.db.dispose()
        spec.parent = above
    topo.specs[code] = spec
    return spec


def get(topo: Topology, code: str, path: str, **params: Any) -> Any:
    try:
        with topo.client(code) as client:
            response = client.get(path, params=params)
    except httpx.HTTPError:
        return None
    return response.json() if response.status_code == 200 else None


def test_directive_reaches_the_village_and_its_done_receipt_rolls_up(
    topology: Callable[..., Topology],
) -> None:
    topo: Topology = topology(TIERSYNC_RETRY_MAX_S="0.5", TIERSYNC_PUSH_DELAY_MS="20")
    add(topo, PREFECTURE, "Huangnan Prefecture")
    add(topo, JIANZHA, "Jianzha County", parent=PREFECTURE)
    add(topo, KANGYANG, "Kangyang Town", parent=JIANZHA)
    village = add(topo, DONGMEN, "Dongmen Village", parent=KANGYANG)
    for code in (PREFECTURE, JIANZHA, KANGYANG, DONGMEN):  # start together: imports take time
        topo.procs[code] = NodeProcess(topo.specs[code]).start()
    for proc in topo.procs.values():
        proc.wait_healthy(60)
    wait_for(
        lambda: DONGMEN in str(get(topo, PREFECTURE, "/api/v1/views/summary", unit=KANGYANG)),
        30,
        "the village's registry entry at the prefecture",
    )
    time.sleep(0.5)  # let every child settle into its long poll

    # Issued with the CLI on the running prefecture's database, as an operator would: the
    # prefecture notices the commit of another process within its one-second recheck.
    sent = orjson.loads(
        run_cli(
            topo.specs[PREFECTURE], "directive", "send", "--title", "Screen every grid",
            "--kind", "screening", "--to-level", "village", "--json",
        )
    )  # fmt: skip
    assert sent["target_units"] == [DONGMEN]
    started = time.monotonic()
    wait_for(
        lambda: (get(topo, DONGMEN, "/api/v1/directives", inbox="true") or {}).get("items"),
        15,
        "the directive at the village",
    )
    down_s = time.monotonic() - started

    with topo.client(DONGMEN) as client:
        done = client.post(f"/api/v1/directives/{sent['id']}/done", json={"note": "40 grids"})
        assert done.status_code == 200, done.text
    wait_for(
        lambda: (get(topo, PREFECTURE, f"/api/v1/directives/{sent['id']}") or {}).get("done"),
        15,
        "the done receipt at the prefecture",
    )
    shown = get(topo, PREFECTURE, f"/api/v1/directives/{sent['id']}")
    assert (shown["targets"], shown["delivered"], shown["done"]) == (1, 1, 1)
    listed = run_cli(village, "directive", "list", "--inbox")
    assert sent["id"] in listed and "已完成" in listed and "Screen every" in listed
    assert down_s < 6, f"three levels down took {down_s:.1f} s"
