"""Changing the policy (issue 14): a widened field reaches the ancestors and a narrowed one is
dropped or re-masked where it was held, by re-sending only the kinds that changed (no resync)."""

import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from node.records import repository as records_repo
from tests.cluster import Cluster, Node
from tests.conftest import COUNTY, PREFECTURE, TOWNSHIP, VILLAGE
from tests.factories import household, person


def _held(node: Node, record_id: str) -> dict[str, Any]:
    with node.ctx.db.read() as conn:
        row = records_repo.get_row(conn, uuid.UUID(record_id))
    assert row is not None
    return {"data": row.data, "hlc": row.hlc, "origin": row.origin}


async def _restart_with(chain: Cluster, code: str, policy: Path | None) -> Node:
    node = chain.nodes[code]
    node.settings = node.settings.model_copy(update={"privacy_policy": policy})
    return await chain.restart(code)


async def _loaded(chain: Cluster) -> tuple[dict[str, Any], dict[str, Any]]:
    village = chain.nodes[VILLAGE]
    resident = await village.write(person(VILLAGE, name="才让东智"))
    home = await village.write(household(VILLAGE))
    await chain.sync(rounds=2)
    return resident, home


async def test_widening_reaches_the_county_and_narrowing_purges_the_township(
    tmp_path: Path, database_url_factory: Callable[[str], str], engine_name: str
) -> None:
    chain = Cluster(tmp_path, database_url=database_url_factory)
    try:
        await chain.add(PREFECTURE, "Huangnan Prefecture")
        await chain.add(COUNTY, "Jianzha County", parent=PREFECTURE)
        await chain.add(TOWNSHIP, "Kangyang Town", parent=COUNTY)
        await chain.add(VILLAGE, "Dongmen Village", parent=TOWNSHIP)
        await _widen_then_narrow(chain, tmp_path)
    finally:
        await chain.close()


async def _widen_then_narrow(chain: Cluster, tmp_path: Path) -> None:
    resident, home = await _loaded(chain)
    rid = resident["id"]
    assert _held(chain.nodes[COUNTY], rid)["data"]["name"] == "才***"
    before = _held(chain.nodes[COUNTY], rid)
    home_seq = _seq(chain.nodes[COUNTY], home["id"])

    # Widen: the county may hold names in clear (the prefecture still masked).
    wide = tmp_path / "wide.toml"
    wide.write_text('[person]\nname = { county = "clear", prefecture = "mask" }\n')
    for code in (TOWNSHIP, VILLAGE):
        await _restart_with(chain, code, wide)
    pushed = chain.router.requests.get(COUNTY, 0)
    await chain.sync(rounds=2)
    county = _held(chain.nodes[COUNTY], rid)
    assert county["data"]["name"] == "才让东智"
    assert (county["hlc"], county["origin"]) == (before["hlc"], before["origin"])  # same version
    assert _held(chain.nodes[PREFECTURE], rid)["data"]["name"] == "才***"
    assert chain.router.requests[COUNTY] > pushed
    # Only the kind that changed went again: the household kept its place in the county's log.
    assert _seq(chain.nodes[COUNTY], home["id"]) == home_seq

    # Narrow: names masked from the township up; the township and the county drop the clear one.
    narrow = tmp_path / "narrow.toml"
    narrow.write_text('[person]\nname = "mask"\n')
    for code in (TOWNSHIP, VILLAGE):
        await _restart_with(chain, code, narrow)
    await chain.sync(rounds=2)
    for code in (TOWNSHIP, COUNTY, PREFECTURE):
        assert _held(chain.nodes[code], rid)["data"]["name"] == "才***", code
    assert _held(chain.nodes[VILLAGE], rid)["data"]["name"] == "才让东智"  # the owner keeps it


async def test_a_restart_under_the_same_policy_sends_nothing_again(chain: Cluster) -> None:
    resident, _home = await _loaded(chain)
    seq_before = _seq(chain.nodes[TOWNSHIP], resident["id"])
    await chain.restart(VILLAGE)
    await chain.restart(TOWNSHIP)
    await chain.sync(rounds=2)
    assert _seq(chain.nodes[TOWNSHIP], resident["id"]) == seq_before


def _seq(node: Node, record_id: str) -> int:
    with node.ctx.db.read() as conn:
        row = records_repo.get_row(conn, uuid.UUID(record_id))
    assert row is not None
    return int(row.seq)
