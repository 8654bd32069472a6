"""The duplicate-person finder (issue 14): the same ID number registered in villages of two
townships is found at their county by its keyed hash, the number itself never held there."""

from pathlib import Path

from node.config_file import write_config
from node.privacy import duplicates
from tests.cli_support import run
from tests.cluster import Cluster
from tests.factories import person_data

COUNTY, TOWN_A, TOWN_B = "632322", "632322101", "632322102"
VILLAGE_A, VILLAGE_B = "632322101201", "632322102201"


async def test_the_same_person_in_two_townships_villages_is_found_at_the_county(
    tmp_path: Path,
) -> None:
    cluster = Cluster(tmp_path)
    try:
        await cluster.add(COUNTY, "Jianzha County")
        await cluster.add(TOWN_A, "Kangyang Town", parent=COUNTY)
        await cluster.add(TOWN_B, "Maketang Town", parent=COUNTY)
        a = await cluster.add(VILLAGE_A, "Dongmen Village", parent=TOWN_A)
        b = await cluster.add(VILLAGE_B, "Xigou Village", parent=TOWN_B)
        floating = person_data(name="才让")
        first = await a.write({"kind": "person", "unit": VILLAGE_A, "data": floating})
        again = await b.write({"kind": "person", "unit": VILLAGE_B, "data": dict(floating)})
        await a.write({"kind": "person", "unit": VILLAGE_A, "data": person_data()})
        await b.write({"kind": "person", "unit": VILLAGE_B, "data": person_data()})
        await cluster.sync(rounds=2)

        county = cluster.nodes[COUNTY]
        found = duplicates.find(county.ctx.db, root=COUNTY)
        assert len(found) == 1
        assert {(r.village, r.record_id) for r in found[0].registrations} == {
            (VILLAGE_A, first["id"]),
            (VILLAGE_B, again["id"]),
        }
        assert duplicates.find(cluster.nodes[TOWN_A].ctx.db, root=TOWN_A) == []  # one village
        assert duplicates.find(a.ctx.db, root=VILLAGE_A) == []

        config = tmp_path / "county.toml"
        write_config(config, county.settings)
        listed = run("--config", config, "persons", "duplicates")
        assert listed.exit_code == 0, listed.output
        assert "1 人在两个及以上村登记" in listed.stdout
        assert "Dongmen Village" in listed.stdout and "Xigou Village" in listed.stdout
        assert floating["id_number"] not in listed.stdout
        one_town = run("--config", config, "persons", "duplicates", "--unit", TOWN_A)
        assert one_town.exit_code == 0 and "未发现" in one_town.stdout
    finally:
        await cluster.close()
