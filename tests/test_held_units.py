"""Who holds a unit's records: writes into a unit held by a child node are refused (issue 10,
defect 13; docs/decisions/0650)."""

import os
from pathlib import Path

import orjson
import pytest

from tests.cli_support import run
from tests.cluster import Cluster
from tests.factories import household, person

PREFECTURE, COUNTY, TOWNSHIP = "6323", "632322", "632322101"
COUNTY_TOWN = "632322102"  # a township of Jianzha that runs no node: Jianzha holds it
VILLAGE = "632322101201"  # a village of Kangyang that runs no node: Kangyang holds it


@pytest.fixture
async def three(cluster: Cluster) -> Cluster:
    """Huangnan → Jianzha → Kangyang: three levels, each its own node."""
    await cluster.add(PREFECTURE, "Huangnan Prefecture")
    await cluster.add(COUNTY, "Jianzha County", parent=PREFECTURE)
    await cluster.add(TOWNSHIP, "Kangyang Town", parent=COUNTY)
    return cluster


async def test_writes_into_a_unit_a_child_node_holds_are_refused_naming_it(
    three: Cluster,
) -> None:
    county, prefecture = three.nodes[COUNTY], three.nodes[PREFECTURE]
    for unit in (TOWNSHIP, VILLAGE, VILLAGE + "003"):
        refused = await county.client.post("/api/v1/records", json=person(unit))
        assert refused.status_code == 403, refused.text
        error = refused.json()["error"]
        assert error["owner"] == TOWNSHIP and "correction" in error["message"]
        assert error["details"] == [{"field": "unit", "reason": f"held by node {TOWNSHIP}"}]
    refused = await prefecture.client.post("/api/v1/records", json=person(TOWNSHIP))
    assert refused.status_code == 403 and refused.json()["error"]["owner"] == COUNTY
    put = await county.client.put(
        "/api/v1/records/0190a7b4-0000-7000-8000-000000000001", json=household(VILLAGE)
    )
    assert put.status_code == 403, put.text

    # What the county holds itself stays open: its own unit and a township without a node.
    await county.write(person(COUNTY))
    await county.write(person(COUNTY_TOWN + "201"))
    await three.sync()
    assert (await county.summary())["counts"].get("person") == 2
    assert (await prefecture.summary())["counts"].get("person") == 2
    assert (await three.nodes[TOWNSHIP].summary())["counts"].get("person") is None


async def test_bulk_import_refuses_only_the_rows_a_child_node_holds(three: Cluster) -> None:
    county = three.nodes[COUNTY]
    rows = [person(COUNTY), person(VILLAGE), household(COUNTY_TOWN)]
    response = await county.client.post("/api/v1/records/bulk", json=rows)
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["accepted"] == 2
    assert [r["index"] for r in result["rejected"]] == [1]
    assert f"held by node {TOWNSHIP}" in result["rejected"][0]["error"]


async def test_cli_import_at_the_county_refuses_rows_of_the_townships_node(
    three: Cluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    county = three.nodes[COUNTY]
    path = tmp_path / "register.ndjson"
    lines = [orjson.dumps(r).decode() for r in (person(COUNTY), person(VILLAGE))]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    for key in [k for k in os.environ if k.startswith("TIERSYNC_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("TIERSYNC_CODE", COUNTY)
    monkeypatch.setenv("TIERSYNC_DATA_DIR", str(county.settings.data_dir))
    result = run("import", path, "--json")
    assert result.exit_code == 1, result.output
    report = orjson.loads(result.stdout)
    assert report["imported"] == 1
    assert [r["line"] for r in report["rejected"]] == [2]
    assert f"held by node {TOWNSHIP}" in report["rejected"][0]["error"]
