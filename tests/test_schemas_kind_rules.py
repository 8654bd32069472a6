"""Per-kind rules: ID/sex/birth agreement, codes, amounts, time order, directive targets."""

from typing import Any

import pytest
from pydantic import ValidationError

from schemas.kinds import Kind, validate_data
from tests.schema_checks import error_fields, example, rejects

# --- person ----------------------------------------------------------------------------------


def test_person_output_fills_defaults_and_drops_unset() -> None:
    data = validate_data(
        "person",
        {
            "id_number": "632322198807150035",
            "name": " 才让多杰 ",
            "sex": "male",
            "birth_date": "1988-07-15",
        },
    )
    assert data == {
        "id_number": "632322198807150035",
        "name": "才让多杰",
        "sex": "male",
        "birth_date": "1988-07-15",
        "status": "registered",
    }


def test_person_sex_must_match_id_number() -> None:
    data = example(Kind.person) | {"sex": "female"}
    rejects(Kind.person, data, "sex", "17th digit says male")


def test_person_birth_date_must_match_id_number() -> None:
    data = example(Kind.person) | {"birth_date": "1988-07-16"}
    rejects(Kind.person, data, "birth_date", "which says 1988-07-15")


def test_person_bad_id_number_reported_once_on_id_number() -> None:
    data = example(Kind.person) | {"id_number": "632322198807150036"}
    with pytest.raises(ValidationError) as info:
        validate_data(Kind.person, data)
    assert error_fields(info.value) == {"id_number"}
    assert "expected 5, got 6" in str(info.value)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("household_id", "not-a-uuid"),
        ("grid", "632322101201"),
        ("grid", "６３２３２２１０１２０１００３"),
        ("phone", "12345"),
        ("name", "   "),
    ],
)
def test_person_optional_fields_checked(field: str, value: str) -> None:
    rejects(Kind.person, example(Kind.person) | {field: value}, field)


def test_person_household_id_and_phone_normalised() -> None:
    data = example(Kind.person) | {
        "household_id": "0B7F6C1E-2D7A-4F6E-9A57-3F0C1D2E4B5A",
        "phone": "138 9731 2345",
    }
    out = validate_data(Kind.person, data)
    assert out["household_id"] == "0b7f6c1e-2d7a-4f6e-9a57-3f0c1d2e4b5a"
    assert out["phone"] == "13897312345"


# --- other kinds -----------------------------------------------------------------------------


def test_household_member_count() -> None:
    data = example(Kind.household)
    del data["member_count"]
    assert validate_data(Kind.household, data)["member_count"] == 0
    rejects(Kind.household, data | {"member_count": -1}, "member_count")
    rejects(Kind.household, data | {"head_id_number": "123"}, "head_id_number")


def test_organization_credit_code() -> None:
    data = example(Kind.organization)
    lower = data | {"unified_credit_code": "93632322ma7xk2l41b"}
    assert validate_data(Kind.organization, lower)["unified_credit_code"] == "93632322MA7XK2L41B"
    rejects(
        Kind.organization,
        data | {"unified_credit_code": "93632322MA7XK2L41"},
        "unified_credit_code",
        "18 characters",
    )
    rejects(
        Kind.organization,
        data | {"unified_credit_code": "93632322MA7XK2L41I"},
        "unified_credit_code",
        "'I'",
    )
    rejects(Kind.organization, data | {"employees": -3}, "employees")


def test_governance_org_members() -> None:
    data = example(Kind.governance_org)
    data["members"].append({"name": "扎西"})
    rejects(Kind.governance_org, data, "members.2.role", "Field required")
    data["members"][2] = {"name": "扎西", "role": "clerk", "age": 30}
    rejects(Kind.governance_org, data, "members.2.age", "Extra inputs")
    del data["members"]
    assert validate_data(Kind.governance_org, data)["members"] == []


def test_grid_code_must_be_a_grid() -> None:
    data = example(Kind.grid)
    rejects(Kind.grid, data | {"code": "632322101201"}, "code", "not a grid code")
    rejects(Kind.grid, data | {"members": ["ok", " "]}, "members.1")
    rejects(Kind.grid, data | {"households": -1}, "households")


def test_incident_resolved_not_before_reported() -> None:
    data = example(Kind.incident) | {"resolved_at": "2020-11-20T00:00:00+08:00"}
    rejects(Kind.incident, data, "resolved_at", "is before reported_at")
    same_instant = example(Kind.incident) | {"resolved_at": "2020-11-20T01:15:00Z"}
    assert validate_data(Kind.incident, same_instant)["resolved_at"] == "2020-11-20T01:15:00Z"


def test_dispute_rules() -> None:
    data = example(Kind.dispute)
    rejects(Kind.dispute, data | {"parties": []}, "parties")
    rejects(Kind.dispute, data | {"closed_on": "2020-06-01"}, "closed_on", "is before accepted_on")
    rejects(Kind.dispute, data | {"amount_recovered_yuan": "-5"}, "amount_recovered_yuan")
    rejects(Kind.dispute, data | {"amount_recovered_yuan": "1.005"}, "amount_recovered_yuan")
    out = validate_data(Kind.dispute, data | {"amount_recovered_yuan": 7277000})
    assert out["amount_recovered_yuan"] == "7277000.00"
    del data["amount_recovered_yuan"], data["judicial_confirmation"]
    out = validate_data(Kind.dispute, data)
    assert out["amount_recovered_yuan"] == "0.00"
    assert out["judicial_confirmation"] is False


def test_patrol_and_legal_activity_counts() -> None:
    rejects(Kind.patrol, example(Kind.patrol) | {"grid": "632322101"}, "grid", "not a grid code")
    rejects(Kind.patrol, example(Kind.patrol) | {"households_visited": -1}, "households_visited")
    rejects(Kind.legal_activity, example(Kind.legal_activity) | {"attendance": -1}, "attendance")


# --- directive and receipt -------------------------------------------------------------------


def directive(**changes: Any) -> dict[str, Any]:
    return example(Kind.directive) | changes


@pytest.mark.parametrize(
    ("target", "stored"),
    [
        ({"level": "township"}, {"level": "township"}),
        (
            {"units": ["632322101", "632322101201", "632322101"]},
            {"units": ["632322101", "632322101201"]},
        ),
        ({"subtree": True}, {"subtree": True}),
    ],
)
def test_directive_target_shapes(target: dict[str, Any], stored: dict[str, Any]) -> None:
    assert validate_data(Kind.directive, directive(target=target))["target"] == stored


@pytest.mark.parametrize(
    ("target", "field", "match"),
    [
        ({}, "target", "exactly one of"),
        ({"level": "village", "subtree": True}, "target", "exactly one of"),
        ({"subtree": False}, "target.subtree", "Input should be True"),
        ({"units": []}, "target.units", "at least 1 item"),
        ({"units": ["63232210"]}, "target.units.0", "expected 4, 6, 9, 12 or 15"),
        ({"level": "grid"}, "target.level", "must be a node level"),
        ({"level": "county"}, "target", "not below the issuer"),
        ({"level": "prefecture"}, "target", "not below the issuer"),
        ({"units": ["632323101"]}, "target", "not below the issuer 632322"),
        ({"units": ["632322"]}, "target", "not below the issuer 632322"),
        ({"everyone": True}, "target.everyone", "Extra inputs"),
        ("village", "target", "valid dictionary"),
    ],
)
def test_directive_bad_targets(target: Any, field: str, match: str) -> None:
    rejects(Kind.directive, directive(target=target), field, match)


def test_directive_text_limits_and_defaults() -> None:
    data = directive()
    del data["body"], data["directive_kind"], data["status"], data["deadline"]
    out = validate_data(Kind.directive, data)
    assert (out["body"], out["directive_kind"], out["status"]) == ("", "notice", "active")
    assert "deadline" not in out
    assert validate_data(Kind.directive, directive(body="x" * 20_000))["body"] == "x" * 20_000
    rejects(Kind.directive, directive(body="x" * 20_001), "body")
    rejects(Kind.directive, directive(title="x" * 201), "title")
    rejects(Kind.directive, directive(title=""), "title")
    rejects(Kind.directive, directive(deadline="2020-12-01T18:00:00"), "deadline", "timezone")
    rejects(Kind.directive, directive(issuer="6323a2"), "issuer")
    rejects(Kind.directive, directive(superseded_by="x"), "superseded_by")


def test_receipt_limits() -> None:
    data = example(Kind.receipt)
    rejects(Kind.receipt, data | {"note": "x" * 2001}, "note")
    rejects(Kind.receipt, data | {"unit": "６３２３"}, "unit")
    rejects(Kind.receipt, data | {"directive_id": "nope"}, "directive_id")
    rejects(Kind.receipt, data | {"at": "2020-11-28T17:05:00"}, "at", "timezone")
