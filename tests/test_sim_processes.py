"""Real `tiersync serve` processes under the simulator's checker: seeded kill -9 cycles of any
tier during a large sync, then every acknowledged write must be at its origin and at every
ancestor with the same version, nothing else, figures equal to a recount, no quarantine.

A few cycles in CI; TIERSYNC_SIM_KILL_CYCLES=200 for the long profile (`make soak` runs it).
"""

import os
import random
from collections.abc import Callable

import pytest

from tests.factories import person
from tests.processes import Topology, wait_for
from tests.sim import checker
from tests.sim.checker import Expect, Model

pytestmark = pytest.mark.slow
PREFECTURE, COUNTY, TOWNSHIP, VILLAGE = "6323", "632322", "632322101", "632322101201"
PARENTS = {PREFECTURE: None, COUNTY: PREFECTURE, TOWNSHIP: COUNTY, VILLAGE: TOWNSHIP}
CYCLES = int(os.environ.get("TIERSYNC_SIM_KILL_CYCLES", "3"))
SEED = int(os.environ.get("TIERSYNC_SIM_KILL_SEED", "16"))


def held(topo: Topology, code: str) -> int:
    try:
        with topo.client(code) as client:
            return int(client.get("/api/v1/views/summary").json()["counts"].get("person", 0))
    except Exception:  # being killed or restarted: no answer
        return -1


def test_kill_cycles_of_any_tier_during_a_large_sync_pass_the_checker(
    topology: Callable[..., Topology],
) -> None:
    rng = random.Random(SEED)
    topo: Topology = topology(TIERSYNC_RETRY_MAX_S="0.5", TIERSYNC_PUSH_DELAY_MS="20")
    for code, parent in PARENTS.items():
        topo.add(code, code, parent=parent)
        topo.start(code)
    per_cycle = 1500
    for cycle in range(CYCLES):
        rows = [person() for _ in range(per_cycle)]
        with topo.client(VILLAGE) as village:
            answer = village.post("/api/v1/records/bulk", json=rows)
        assert answer.status_code == 200 and answer.json()["accepted"] == per_cycle, answer.text
        victim = rng.choice([COUNTY, TOWNSHIP, VILLAGE, PREFECTURE])
        # kill -9 mid-sync: once something of this cycle moved past the village
        wait_for(lambda: held(topo, TOWNSHIP) > 0, 60, f"cycle {cycle}: the sync to start")
        topo.procs[victim].kill()
        topo.start(victim)
    total = CYCLES * per_cycle
    wait_for(lambda: held(topo, PREFECTURE) == total, 180, "every record at the top")
    topo.stop()

    paths = {code: topo.specs[code].data_dir / "tiersync.db" for code in PARENTS}
    origin = checker.read_rows(paths[VILLAGE])
    model = Model(parents=PARENTS)
    persons = [rid for rid, row in origin.items() if row.kind == "person"]
    assert len(persons) == total  # every acknowledged row of every bulk import, once
    for rid in persons:
        model.records[rid] = Expect(VILLAGE, [origin[rid].value()])
    violations = checker.check(model, paths, {})
    assert violations == [], "\n".join(map(str, violations[:20]))
