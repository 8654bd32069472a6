"""The chain as real processes: SIGKILL middle nodes mid-sync, lose nothing, double nothing."""

from collections.abc import Callable

import pytest

from tests.factories import person
from tests.processes import Topology, wait_for

pytestmark = pytest.mark.slow
PREFECTURE, COUNTY, TOWNSHIP, VILLAGE = "6323", "632322", "632322101", "632322101201"
TOTAL = 20_000


def person_count(topo: Topology, code: str) -> int:
    try:
        with topo.client(code) as client:
            return int(client.get("/api/v1/views/summary").json()["counts"].get("person", 0))
    except Exception:  # a node being killed or restarted answers nothing
        return -1


def all_ids(topo: Topology, code: str) -> list[str]:
    ids: list[str] = []
    cursor = None
    with topo.client(code) as client:
        while True:
            params = {"kind": "person", "limit": 1000} | ({"cursor": cursor} if cursor else {})
            page = client.get("/api/v1/records", params=params).json()
            ids += [item["id"] for item in page["items"]]
            cursor = page["next_cursor"]
            if not cursor:
                return ids


def test_sigkill_middle_nodes_mid_sync_loses_and_duplicates_nothing(
    topology: Callable[..., Topology],
) -> None:
    topo: Topology = topology(TIERSYNC_RETRY_MAX_S="0.5", TIERSYNC_PUSH_DELAY_MS="20")
    topo.add(PREFECTURE, "Huangnan Prefecture")
    topo.add(COUNTY, "Jianzha County", parent=PREFECTURE)
    topo.add(TOWNSHIP, "Kangyang Town", parent=COUNTY)
    topo.add(VILLAGE, "Dongmen Village", parent=TOWNSHIP)
    for code in (PREFECTURE, COUNTY, VILLAGE):
        topo.start(code)

    # The village works offline: its township is not up yet.
    rows = [person() for _ in range(TOTAL)]
    with topo.client(VILLAGE) as village:
        for start in range(0, TOTAL, 5000):
            result = village.post("/api/v1/records/bulk", json=rows[start : start + 5000]).json()
            assert result["accepted"] == 5000, result["rejected"][:3]

    township = topo.start(TOWNSHIP)
    seen = wait_for(lambda: 0 < person_count(topo, TOWNSHIP) < TOTAL, 60, "township mid-sync")
    assert seen
    township.kill()
    topo.start(TOWNSHIP)

    # Kill the county while the township is forwarding to it.
    county = topo.procs[COUNTY]
    wait_for(lambda: person_count(topo, COUNTY) > 0, 60, "county to receive data")
    county.kill()
    topo.start(COUNTY)

    wait_for(lambda: person_count(topo, PREFECTURE) == TOTAL, 120, "all records at the top")
    ids = all_ids(topo, PREFECTURE)
    assert len(ids) == TOTAL and len(set(ids)) == TOTAL
    assert set(ids) == {str(r_id) for r_id in all_ids(topo, VILLAGE)}
    for code in (TOWNSHIP, COUNTY):
        assert person_count(topo, code) == TOTAL
