"""The storable check's fast path (schemas/storable.py, perf pass of issues 10, 13, 14) never
passes a value the full walk refuses: for every poison, wherever it sits in a record, the
answer (path and reason) is the full walk's; a push validated whole gives the same batch as
one read record by record, and only a batch with a poison is read record by record."""

import json
import math
from typing import Any

import orjson
import pytest

from node.sync import intake
from schemas import storable
from schemas.storable import MAX_DEPTH, first_problem
from schemas.sync import PROTOCOL_VERSION, PushBatch
from tests.factories import person_data

VILLAGE = "632322101201"

POISONS: list[Any] = [
    "a\x00b",
    "lone \ud800 surrogate",
    "\udfff",
    2**63,
    -(2**63) - 1,
    2**64,
    math.nan,
    math.inf,
    -math.inf,
    1e19,
    -1e300,
]


def _full_walk(value: Any) -> Any:
    """first_problem without its fast path: the reference answer."""
    fast = storable._plainly_storable
    storable._plainly_storable = lambda _value, _depth: False  # type: ignore[assignment]
    try:
        return first_problem(value)
    finally:
        storable._plainly_storable = fast


def _placements(poison: Any) -> list[Any]:
    data = person_data(grid=f"{VILLAGE}001")
    return [
        poison,
        {"data": {**data, "note": poison}},
        {"data": {**data, "members": [{"phone": "1"}, {"phone": poison}]}},
        {"data": [[1, 2, [poison]]]},
        {"data": {**data, "tags": ("t", poison)}},  # a tuple: left to the full walk
    ]


@pytest.mark.parametrize("poison", POISONS, ids=repr)
def test_every_poison_is_found_with_the_full_walks_path(poison: Any) -> None:
    for value in _placements(poison):
        expected = _full_walk(value)
        assert expected is not None, value
        assert first_problem(value) == expected


@pytest.mark.parametrize("key", ["na\x00me", "bad \ud800", 7, None, ("a", 1)], ids=repr)
def test_a_bad_or_odd_key_is_judged_by_the_full_walk(key: Any) -> None:
    value = {"data": {"name": "x", key: "v"}}
    assert first_problem(value) == _full_walk(value)


def test_nesting_beyond_the_limit_is_refused_at_the_same_depth() -> None:
    for depth in (MAX_DEPTH - 1, MAX_DEPTH, MAX_DEPTH + 1, MAX_DEPTH + 5):
        deep: Any = "leaf"
        for i in range(depth):
            deep = [deep] if i % 2 else {"k": deep}
        assert first_problem(deep) == _full_walk(deep), depth
    assert first_problem({"k": [[{"x": 1}]]}) is None


def test_plain_records_pass_both_ways() -> None:
    for value in [
        {"data": person_data(grid=f"{VILLAGE}001")},
        {"name": "才让多杰", "n": 2**63 - 1, "m": -(2**63), "f": 1.5, "b": True, "z": None},
        {"list": [], "dict": {}, "emoji": "\U0001f600", "uuid-like": object()},
    ]:
        assert _full_walk(value) is None
        assert first_problem(value) is None


def _body(records: list[Any]) -> bytes:
    return orjson.dumps(
        {
            "protocol": PROTOCOL_VERSION,
            "source": VILLAGE,
            "since": 0,
            "until": len(records),
            "head": len(records),
            "records": records,
        }
    )


def _record(i: int, **changes: Any) -> dict[str, Any]:
    return {
        "id": f"00000000-0000-4000-8000-{i:012d}",
        "kind": "person",
        "unit": VILLAGE,
        "data": person_data(grid=f"{VILLAGE}001"),
        "version": f"{i + 1:016x}.{VILLAGE}",
        "deleted": False,
        "schema_version": 1,
        **changes,
    }


def test_a_clean_push_is_validated_whole_and_equals_the_record_by_record_reading(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    body = _body([_record(i) for i in range(5)])
    split_calls: list[int] = []
    split = intake.split_records

    def counted(batch: intake.IncomingBatch) -> Any:
        split_calls.append(1)
        return split(batch)

    monkeypatch.setattr(intake, "split_records", counted)
    batch, refused = intake.parse_push(body)
    assert (split_calls, refused) == ([], [])
    by_record, none = split(intake.IncomingBatch.model_validate_json(body))
    assert none == []
    assert batch.model_dump() == by_record.model_dump()
    assert isinstance(batch, PushBatch) and len(batch.records) == 5


def test_a_push_with_a_poison_is_read_record_by_record_and_isolates_it() -> None:
    records = [_record(0), _record(1, data={"note": "a\x00b"}), _record(2)]
    batch, refused = intake.parse_push(_body(records))
    assert [str(r.id) for r in batch.records] == [records[0]["id"], records[2]["id"]]
    assert len(refused) == 1
    assert refused[0].raw["id"] == records[1]["id"]
    assert refused[0].reason.startswith("records.1: data.note")


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"kind": "per\x00son"}, "kind"),
        ({"unit": VILLAGE + "\x00"}, "unit"),
        ({"version": f"{1:016x}.{VILLAGE}\x00"}, "version"),
        ({"data": {"n": 2**64}}, "data.n"),
        ({"data": {"deep": {"x": [math.inf]}}}, "data.deep.x.0"),
    ],
    ids=["kind", "unit", "version", "int", "nested"],
)
def test_a_pushed_record_is_checked_field_by_field_after_parsing(
    changes: dict[str, Any], named: str
) -> None:
    """ChangeRecord is checked once parsed (StorableParsed, not a check of the raw dict
    before): every string field and the data, with the field named as before."""
    records = [_record(0), _record(1, **changes)]
    body = json.dumps(  # the standard encoder writes what orjson refuses: 2**64, Infinity
        {"protocol": PROTOCOL_VERSION, "source": VILLAGE, "since": 0, "until": 2, "head": 2,
         "records": records}
    ).encode()  # fmt: skip
    batch, refused = intake.parse_push(body)
    assert [str(r.id) for r in batch.records] == [records[0]["id"]]
    assert len(refused) == 1 and refused[0].reason.startswith(f"records.1: {named}"), refused
