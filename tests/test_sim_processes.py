"""Real `tiersync serve` processes under the simulator's checker: seeded kill -9 cycles of any
tier during a large sync, every link through a fault proxy (tests/sim/proxy.py) that loses
answers, cuts connections, replays requests and delays them; after the faults heal every
acknowledged write must be at its origin and at every ancestor with the same version, nothing
else, figures equal to a recount, no quarantine.

A few cycles in CI; TIERSYNC_SIM_KILL_CYCLES=200 for the long profile (`make soak` runs it).
"""

import os
import random
import time
from collections import Counter
from collections.abc import Callable

import pytest

from tests.factories import person
from tests.processes import Topology, wait_for
from tests.sim import checker
from tests.sim.checker import Expect, Model
from tests.sim.proxy import FaultProxy, ProxyFaults

pytestmark = pytest.mark.slow
PREFECTURE, COUNTY, TOWNSHIP, VILLAGE = "6323", "632322", "632322101", "632322101201"
PARENTS = {PREFECTURE: None, COUNTY: PREFECTURE, TOWNSHIP: COUNTY, VILLAGE: TOWNSHIP}
CYCLES = int(os.environ.get("TIERSYNC_SIM_KILL_CYCLES", "3"))
SEED = int(os.environ.get("TIERSYNC_SIM_KILL_SEED", "16"))
PER_CYCLE = int(os.environ.get("TIERSYNC_SIM_KILL_ROWS", "400"))


def held(topo: Topology, code: str) -> int:
    try:
        with topo.client(code) as client:
            return int(client.get("/api/v1/views/summary").json()["counts"].get("person", 0))
    except Exception:  # being killed or restarted: no answer
        return -1


def link_faults(rng: random.Random) -> ProxyFaults:
    return ProxyFaults(
        lose_answer=rng.uniform(0, 0.3),
        cut=rng.uniform(0, 0.2),
        replay=rng.uniform(0, 0.3),
        delay=rng.uniform(0, 0.5),
    )


def test_kill_cycles_of_any_tier_through_fault_proxies_pass_the_checker(
    topology: Callable[..., Topology],
) -> None:
    rng = random.Random(SEED)
    started = time.monotonic()
    topo: Topology = topology(TIERSYNC_RETRY_MAX_S="0.5", TIERSYNC_PUSH_DELAY_MS="20")
    proxies: dict[str, FaultProxy] = {}
    try:
        topo.add_tree(PARENTS)
        for code, parent in PARENTS.items():
            if parent is not None:  # the child dials its parent through a fault proxy
                proxy = proxies[code] = FaultProxy(topo.specs[parent].port, seed=rng.random())
                topo.specs[code].extra_env["TIERSYNC_PARENT_URL"] = proxy.start().url
        topo.start_all(list(PARENTS))
        built = time.monotonic()
        for _cycle in range(CYCLES):
            for proxy in proxies.values():
                proxy.set(link_faults(rng))
            rows = [person() for _ in range(PER_CYCLE)]
            with topo.client(VILLAGE) as village:
                answer = village.post("/api/v1/records/bulk", json=rows)
            assert answer.status_code == 200, answer.text
            assert answer.json()["accepted"] == PER_CYCLE, answer.text
            victim = rng.choice([COUNTY, TOWNSHIP, VILLAGE, PREFECTURE])
            time.sleep(rng.uniform(0.05, 1.0))  # kill -9 mid-sync
            topo.procs[victim].kill()
            topo.start(victim)
        for proxy in proxies.values():  # heal
            proxy.set(ProxyFaults())
        total = CYCLES * PER_CYCLE
        cycled = time.monotonic()
        wait_for(lambda: held(topo, PREFECTURE) == total, 120, "every record at the top")
        topo.stop()
    finally:
        for proxy in proxies.values():
            proxy.stop()
    faults: Counter[str] = sum((p.counts for p in proxies.values()), start=Counter())
    print(
        f"\n{CYCLES} kill cycles, proxy faults {dict(faults)}: built in {built - started:.0f} s, "
        f"cycles {cycled - built:.0f} s, healed {time.monotonic() - cycled:.0f} s"
    )
    assert CYCLES == 0 or faults["lost answer"] + faults["cut"] + faults["replay"] > 0

    paths = {code: topo.specs[code].data_dir / "tiersync.db" for code in PARENTS}
    origin = checker.read_rows(paths[VILLAGE])
    model = Model(parents=PARENTS)
    persons = [rid for rid, row in origin.items() if row.kind == "person"]
    assert len(persons) == total  # every acknowledged row of every bulk import, once
    for rid in persons:
        model.records[rid] = Expect(VILLAGE, [origin[rid].value()])
    violations = checker.check(model, paths, {})
    assert violations == [], "\n".join(map(str, violations[:20]))
