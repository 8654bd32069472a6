"""Outgoing forms (node/sync/forms.py, decision 1801): what a village's push sends of a version
is worked out when the version is written and kept until the parent acks it. A push with the
forms sends exactly what a push that works everything out sends; a form never holds in clear
what the node seals at rest; a form made under another policy is never sent; a failure to make
one never fails the write; the forms go once the parent holds the versions."""

import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import func, select, update

from node.models import OutgoingForm, Record, table
from node.seed import records_for
from node.sync.runner import outbox
from tests.cluster import Cluster, Node
from tests.conftest import COUNTY, PREFECTURE, TOWNSHIP, VILLAGE
from tests.factories import person_data
from tests.test_privacy_leaks import identities, load

forms = table(OutgoingForm)
records_table = table(Record)
BIG = 1 << 30


@pytest.fixture
async def chain(tmp_path: Path, database_url_factory: Callable[[str], str]):
    """Prefecture ← county ← township ← village, the demo's records written at the village
    (not pushed yet)."""
    cluster = Cluster(tmp_path, database_url=database_url_factory)
    await cluster.add(PREFECTURE, "Huangnan Prefecture")
    await cluster.add(COUNTY, "Jianzha County", parent=PREFECTURE)
    await cluster.add(TOWNSHIP, "Kangyang Town", parent=COUNTY)
    await cluster.add(VILLAGE, "Dongmen Village", parent=TOWNSHIP)
    await cluster.sync(rounds=2)  # keys and registry entries first
    records = list(records_for("demo", VILLAGE, seed=5))
    await load(cluster.nodes[VILLAGE], records)
    yield cluster, records
    await cluster.close()


def _read(node: Node, *, with_forms: bool) -> Any:
    store = outbox(node.ctx)
    if not with_forms:
        store.forms = None
    return store.read_batch(store.acked(), max_records=BIG, max_bytes=BIG)


def _plain(batch: Any) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The batch's records as the parent parses them, and its origin seals' roots."""
    records = orjson.loads(orjson.dumps(batch.records))
    seals = [{k: s[k] for k in ("origin", "since", "until", "roots", "at")} for s in
             batch.sections["origins"]["seals"]]  # fmt: skip
    return records, seals


def _forms(node: Node) -> list[Any]:
    with node.ctx.db.read() as conn:
        return list(conn.execute(select(forms)))


async def test_a_push_with_forms_sends_what_working_it_all_out_sends(chain) -> None:
    cluster, records = chain
    village = cluster.nodes[VILLAGE]
    made = _forms(village)
    kinds = {r["kind"] for r in records}
    assert len(made) == len(records)  # every version the village wrote has its form
    with_forms, without = _read(village, with_forms=True), _read(village, with_forms=False)
    assert len(with_forms.records) == len(records) > 150
    assert _plain(with_forms) == _plain(without)
    sent_as_form = {r["kind"] for r in with_forms.records} & kinds
    assert {"person", "household", "grid"} <= sent_as_form
    # And the parents take it: every ancestor holds every record, the seals verified above.
    await cluster.sync(rounds=2)
    for code in (TOWNSHIP, COUNTY, PREFECTURE):
        with cluster.nodes[code].ctx.db.read() as conn:
            count = conn.execute(select(func.count()).select_from(records_table)).scalar()
        assert count >= len(records), code


async def test_a_form_never_holds_in_clear_what_the_village_seals_at_rest(chain) -> None:
    cluster, records = chain
    village = cluster.nodes[VILLAGE]
    made = {row.id: row for row in _forms(village)}
    kinds = {r["id"]: r["kind"] for r in records}
    ids, phones = identities(records)
    assert ids and phones
    for record_id, row in made.items():
        text = row.form or ""
        assert not any(i in text for i in ids), kinds[str(record_id)]
        assert not any(p in text for p in phones), kinds[str(record_id)]
    # A key-group member's name and worker go to the township in clear and are sealed at
    # rest at the village: no form is kept for it, only its leaves.
    key_people = [uuid.UUID(r["id"]) for r in records if r["kind"] == "key_person"]
    assert key_people
    for record_id in key_people:
        assert made[record_id].form is None and made[record_id].leaves is not None


async def test_a_form_made_under_another_policy_is_not_sent(chain) -> None:
    cluster, records = chain
    village = cluster.nodes[VILLAGE]
    person_id = next(uuid.UUID(r["id"]) for r in records if r["kind"] == "person")
    tampered = orjson.dumps({"name": "made elsewhere"}).decode()
    with village.ctx.db.write(notify=False) as txn:
        txn.conn.execute(update(forms).where(forms.c.id == person_id).values(form=tampered))
    sent = {r["id"]: r for r in orjson.loads(orjson.dumps(_read(village, with_forms=True).records))}
    assert sent[str(person_id)]["data"] == {"name": "made elsewhere"}  # the form is what is sent
    with village.ctx.db.write(notify=False) as txn:
        txn.conn.execute(update(forms).where(forms.c.id == person_id).values(fingerprint="0" * 16))
    sent = {r["id"]: r for r in orjson.loads(orjson.dumps(_read(village, with_forms=True).records))}
    assert sent[str(person_id)]["data"]["name"] != "made elsewhere"
    assert sent[str(person_id)]["data"]["id_number"].startswith("h:")


async def test_a_form_that_cannot_be_made_leaves_the_write_as_it_was(chain) -> None:
    cluster, _records = chain
    village = cluster.nodes[VILLAGE]
    hook = next(h for h in village.ctx.db.write_hooks if hasattr(h, "fingerprint"))

    def broken(*_args: Any, **_kwargs: Any) -> Any:
        raise ValueError("a projection bug")

    hook.leaves = broken
    written = await village.write(
        {"kind": "person", "unit": VILLAGE, "data": person_data(name="Forms Test")}
    )
    made = {row.id for row in _forms(village)}
    assert uuid.UUID(written["id"]) not in made
    await cluster.sync(rounds=2)
    with cluster.nodes[TOWNSHIP].ctx.db.read() as conn:
        held = conn.execute(
            select(records_table.c.data).where(records_table.c.id == uuid.UUID(written["id"]))
        ).scalar_one()
    assert held["name"] == "Forms Test"


async def test_the_forms_go_once_the_parent_holds_the_versions(chain) -> None:
    cluster, _records = chain
    village = cluster.nodes[VILLAGE]
    assert _forms(village)
    await cluster.sync(rounds=2)
    assert _forms(village) == []
    assert _forms(cluster.nodes[TOWNSHIP]) == []  # a relay's own forms, acked by the county
    assert _forms(cluster.nodes[PREFECTURE]) == []  # the top keeps none
