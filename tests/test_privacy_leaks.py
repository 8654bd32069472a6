"""The leak check (issue 14): after the demo's load over a chain, no ancestor's database and no
ancestor's answer holds a clear ID number or phone number where the policy says none, on both
engines; and the views still read the same at every level."""

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import MetaData, Table, inspect, select

from federation.errors import PeerRejected
from federation.privacy import MissingHashKey
from node.seed import records_for
from tests.cluster import Cluster, Node
from tests.conftest import COUNTY, PREFECTURE, TOWNSHIP, VILLAGE
from tests.factories import person_data

PHONE = re.compile(r"1[3-9]\d{9}|0\d{2,3}-\d{7,8}")


def identities(records: list[dict[str, Any]]) -> tuple[set[str], set[str]]:
    """Every ID number and phone number in the records' data, as written."""
    ids, phones = set(), set()
    for record in records:
        for value in _strings(record["data"]):
            if re.fullmatch(r"\d{17}[\dX]", value):
                ids.add(value)
            elif PHONE.fullmatch(value):
                phones.add(value)
    return ids, phones


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def stored_text(node: Node) -> str:
    """All a node's database holds: its SQLite files' bytes, or every row of every table."""
    url = node.settings.resolved_database_url
    if url.startswith("sqlite"):
        path = Path(url.removeprefix("sqlite:///"))
        files = [p for p in path.parent.glob(path.name + "*") if p.is_file()]
        return b"".join(p.read_bytes() for p in files).decode("utf-8", "replace")
    engine = node.ctx.db.engine
    parts: list[str] = []
    with engine.connect() as conn:
        for table in inspect(conn).get_table_names():
            reflected = Table(table, MetaData(), autoload_with=conn)
            parts += [repr(tuple(row)) for row in conn.execute(select(reflected))]
    return "\n".join(parts)


async def answers(node: Node, ids: list[str]) -> str:
    """What the node's operator API answers about the records: listings, each record, its
    reveal in clear, the views."""
    client = node.client
    texts: list[str] = []
    cursor: str | None = None
    while True:
        params = {"limit": 500, **({"cursor": cursor} if cursor else {})}
        page = await client.get("/api/v1/records", params=params)
        assert page.status_code == 200, page.text
        texts.append(page.text)
        cursor = page.json()["next_cursor"]
        if not cursor:
            break
    for record_id in ids:
        texts.append((await client.get(f"/api/v1/records/{record_id}")).text)
        revealed = await client.post(
            f"/api/v1/records/{record_id}/reveal", json={"reason": "leak check"}
        )
        assert revealed.status_code == 200, revealed.text
        texts.append(revealed.text)
    for view in ("summary", "population", "key-groups"):
        texts.append((await client.get(f"/api/v1/views/{view}")).text)
    return "\n".join(texts)


async def load(node: Node, records: list[dict[str, Any]]) -> None:
    body = [{k: r[k] for k in ("id", "kind", "unit", "data")} for r in records]
    response = await node.client.post("/api/v1/records/bulk", json=body)
    assert response.status_code == 200, response.text
    assert response.json()["rejected"] == [], response.text[:500]


async def demo_chain(tmp_path: Path, url: Callable[[str], str]) -> tuple[Cluster, list[dict]]:
    cluster = Cluster(tmp_path, database_url=url)
    await cluster.add(PREFECTURE, "Huangnan Prefecture")
    await cluster.add(COUNTY, "Jianzha County", parent=PREFECTURE)
    await cluster.add(TOWNSHIP, "Kangyang Town", parent=COUNTY)
    await cluster.add(VILLAGE, "Dongmen Village", parent=TOWNSHIP)
    records = list(records_for("demo", VILLAGE, seed=5))
    await load(cluster.nodes[VILLAGE], records)
    await cluster.sync(rounds=2)
    return cluster, records


async def test_no_ancestor_holds_or_answers_a_clear_id_or_phone(
    tmp_path: Path, database_url_factory: Callable[[str], str], engine_name: str
) -> None:
    cluster, records = await demo_chain(tmp_path, database_url_factory)
    try:
        ids, phones = identities(records)
        assert len(ids) > 100 and len(phones) > 20  # the scan has something to find
        people = [r["id"] for r in records if r["kind"] in ("person", "key_person")][:20]
        village = cluster.nodes[VILLAGE]
        assert ids & set(re.findall(r"\d{17}[\dX]", await answers(village, people)))  # control
        figures = {}
        for code in (VILLAGE, TOWNSHIP, COUNTY, PREFECTURE):
            node = cluster.nodes[code]
            figures[code] = [
                (await node.client.get(f"/api/v1/views/{v}", params={"unit": VILLAGE})).json()
                for v in ("population", "key-groups", "summary")
            ]
            if code == VILLAGE:
                continue
            for where, text in (
                ("database", stored_text(node)),
                ("API", await answers(node, people)),
            ):
                leaked_ids = {i for i in ids if i in text}
                leaked_phones = {p for p in phones if p in text}
                assert not leaked_ids, (code, where, engine_name, sorted(leaked_ids)[:3])
                assert not leaked_phones, (code, where, engine_name, sorted(leaked_phones)[:3])
        for code in (TOWNSHIP, COUNTY, PREFECTURE):  # the figures read the same everywhere
            assert _without_times(figures[code]) == _without_times(figures[VILLAGE]), code
    finally:
        await cluster.close()


def _without_times(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            k: _without_times(v)
            for k, v in value.items()
            if k not in ("as_of", "generated_at", "freshness", "children", "unit", "name")
        }
    if isinstance(value, list):
        return [_without_times(v) for v in value]
    return value


async def test_a_child_with_another_hash_key_is_refused(tmp_path: Path) -> None:
    cluster = Cluster(tmp_path)
    try:
        await cluster.add(TOWNSHIP, "Kangyang Town")
        village = await cluster.add(VILLAGE, "Dongmen", parent=TOWNSHIP, hash_key="77" * 32)
        await village.write({"kind": "person", "unit": VILLAGE, "data": person_data()})
        with pytest.raises(PeerRejected) as refused:
            await village.replicator.run_once()
        assert refused.value.status == 409
        assert "another hash key" in refused.value.message
        held = await cluster.nodes[TOWNSHIP].client.get("/api/v1/records")
        assert held.json()["items"] == []
    finally:
        await cluster.close()


async def test_a_child_without_the_hash_key_sends_nothing_and_says_why(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cluster = Cluster(tmp_path)
    try:
        await cluster.add(TOWNSHIP, "Kangyang Town")
        monkeypatch.delenv("TIERSYNC_HASH_KEY")
        village = await cluster.add(VILLAGE, "Dongmen", parent=TOWNSHIP)
        await village.write({"kind": "person", "unit": VILLAGE, "data": person_data()})
        with pytest.raises(MissingHashKey, match="TIERSYNC_HASH_KEY"):
            await village.replicator.run_once()
        held = await cluster.nodes[TOWNSHIP].client.get("/api/v1/records")
        assert held.json()["items"] == []
    finally:
        await cluster.close()
