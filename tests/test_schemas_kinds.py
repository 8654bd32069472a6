"""Every record kind: its example passes; missing, wrong, future and extra fields fail."""

from datetime import UTC, date, datetime, timedelta

import pytest

from schemas.kinds import (
    BASE_KINDS,
    KIND_MODELS,
    SCHEMA_VERSION,
    Kind,
    model_for,
    validate_data,
)
from tests.schema_checks import example, rejects

REQUIRED = {
    Kind.person: {"id_number", "name", "sex", "birth_date"},
    Kind.household: {"address", "head_name"},
    Kind.key_person: {"id_number", "name", "category", "risk_level", "responsible_worker"},
    Kind.organization: {"name", "org_type"},
    Kind.governance_org: {"name", "org_type"},
    Kind.grid: {"code", "name", "leader"},
    Kind.incident: {"category", "title", "status", "reported_at", "reporter"},
    Kind.dispute: {"case_no", "parties", "accepted_on", "status"},
    Kind.patrol: {"grid", "patrol_type", "worker", "visited_at"},
    Kind.legal_activity: {"title", "activity_type", "held_on", "attendance"},
    Kind.directive: {"title", "issuer", "target"},
    Kind.receipt: {"directive_id", "unit", "state", "at"},
}
ENUMS = {
    Kind.person: ["sex", "status"],
    Kind.household: ["house_type"],
    Kind.key_person: ["category", "risk_level"],
    Kind.organization: ["org_type"],
    Kind.governance_org: ["org_type"],
    Kind.incident: ["category", "status"],
    Kind.dispute: ["status"],
    Kind.patrol: ["patrol_type"],
    Kind.legal_activity: ["activity_type"],
    Kind.directive: ["directive_kind", "status"],
    Kind.receipt: ["state"],
}
FUTURE_DATES = [
    (Kind.person, "birth_date"),
    (Kind.key_person, "since"),
    (Kind.governance_org, "founded"),
    (Kind.dispute, "accepted_on"),
    (Kind.dispute, "closed_on"),
    (Kind.legal_activity, "held_on"),
]
FUTURE_TIMES = [
    (Kind.incident, "reported_at"),
    (Kind.incident, "resolved_at"),
    (Kind.patrol, "visited_at"),
]


def test_kind_names_are_the_contract() -> None:
    assert [k.value for k in Kind] == [
        "person",
        "household",
        "key_person",
        "organization",
        "governance_org",
        "grid",
        "incident",
        "dispute",
        "patrol",
        "legal_activity",
        "directive",
        "receipt",
    ]
    assert set(KIND_MODELS) == set(Kind)
    assert len(BASE_KINDS) == 10
    assert Kind.directive not in BASE_KINDS and Kind.receipt not in BASE_KINDS
    assert SCHEMA_VERSION == 1


@pytest.mark.parametrize("kind", list(Kind))
def test_example_passes_and_is_stable(kind: Kind) -> None:
    data = validate_data(kind, example(kind))
    assert validate_data(kind.value, data) == data  # normalised output validates to itself


@pytest.mark.parametrize("kind", list(Kind))
def test_required_fields_are_exactly_these(kind: Kind) -> None:
    model = KIND_MODELS[kind]
    assert {n for n, f in model.model_fields.items() if f.is_required()} == REQUIRED[kind]


@pytest.mark.parametrize(
    ("kind", "field"), [(k, f) for k, fs in REQUIRED.items() for f in sorted(fs)]
)
def test_missing_required_field_is_named(kind: Kind, field: str) -> None:
    data = example(kind)
    del data[field]
    rejects(kind, data, field, "Field required")


@pytest.mark.parametrize(("kind", "field"), [(k, f) for k, fs in ENUMS.items() for f in fs])
def test_bad_enum_value_is_named(kind: Kind, field: str) -> None:
    data = example(kind)
    data[field] = "no-such-value"
    rejects(kind, data, field, "Input should be")


@pytest.mark.parametrize("kind", list(Kind))
def test_unknown_field_rejected(kind: Kind) -> None:
    data = example(kind)
    data["favourite_colour"] = "blue"
    rejects(kind, data, "favourite_colour", "Extra inputs are not permitted")


@pytest.mark.parametrize(("kind", "field"), FUTURE_DATES)
def test_future_dates_rejected(kind: Kind, field: str) -> None:
    future = date.today() + timedelta(days=30)
    data = example(kind)
    data[field] = future.isoformat()
    rejects(kind, data, field, f"{field} {future.isoformat()} is in the future")


@pytest.mark.parametrize(("kind", "field"), FUTURE_TIMES)
def test_future_times_rejected_and_naive_times_too(kind: Kind, field: str) -> None:
    data = example(kind)
    data[field] = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    rejects(kind, data, field, "is in the future")
    data[field] = "2020-11-20T09:15:00"
    rejects(kind, data, field, "timezone")


@pytest.mark.parametrize("kind", list(Kind))
def test_every_field_is_described(kind: Kind) -> None:
    model = KIND_MODELS[kind]
    assert all(f.description for f in model.model_fields.values())
    schema = model.model_json_schema()
    assert schema["examples"]


def test_unknown_kind() -> None:
    with pytest.raises(ValueError, match="unknown kind 'house'"):
        validate_data("house", {})
    with pytest.raises(ValueError, match="unknown kind"):
        model_for("")
