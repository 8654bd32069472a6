"""The record envelope, bulk results and the API's one error shape."""

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

import pytest
from pydantic import BaseModel, ValidationError

from schemas.errors import (
    ErrorBody,
    ErrorDetail,
    details_from_validation_error,
    error_body,
    field_path,
    summarize,
)
from schemas.kinds import Kind, validate_data
from schemas.records import (
    BulkRejection,
    BulkResult,
    RecordCreate,
    RecordIn,
    RecordPage,
    RecordPut,
    RecordRead,
)

PERSON = {
    "id_number": "632322198807150035",
    "name": "才让多杰",
    "sex": "male",
    "birth_date": "1988-07-15",
}


def examples(model: type[BaseModel]) -> list[Any]:
    extra = model.model_config.get("json_schema_extra")
    assert isinstance(extra, dict)
    found = extra["examples"]
    assert isinstance(found, list) and found
    return found


@pytest.mark.parametrize(
    "model",
    [RecordIn, RecordCreate, RecordRead, RecordPage, BulkRejection, BulkResult, ErrorBody],
)
def test_examples_validate(model: type[BaseModel]) -> None:
    for item in examples(model):
        model.model_validate(item)
    assert model.model_json_schema()["examples"]


def test_record_examples_carry_valid_data() -> None:
    for model in (RecordIn, RecordCreate, RecordRead):
        for item in examples(model):
            validate_data(item["kind"], item["data"])


def test_record_in() -> None:
    rec = RecordIn(kind="person", unit="632322101201", data=PERSON)
    assert rec.kind is Kind.person
    assert RecordPut is RecordIn
    with pytest.raises(ValidationError) as info:
        RecordIn.model_validate({"kind": "house", "unit": "6323221012", "data": [], "version": "x"})
    assert {e["loc"] for e in info.value.errors()} == {
        ("kind",),
        ("unit",),
        ("data",),
        ("version",),
    }


def test_record_create_id_optional_and_still_strict() -> None:
    assert RecordCreate(kind="household", unit="632322", data={}).id is None
    given = uuid4()
    assert RecordCreate(id=str(given), kind="household", unit="632322", data={}).id == given
    with pytest.raises(ValidationError, match="Extra inputs"):
        RecordCreate.model_validate({"kind": "grid", "unit": "6323", "data": {}, "seq": 1})
    with pytest.raises(ValidationError):
        RecordCreate.model_validate({"id": "nope", "kind": "grid", "unit": "6323", "data": {}})


@dataclass
class Row:
    id: UUID
    kind: str
    unit: str
    data: dict[str, Any]
    version: str
    deleted: bool
    origin: str
    schema_version: int
    seq: int
    updated_at: datetime


def test_record_read_from_attributes_and_json() -> None:
    row = Row(
        uuid4(),
        "person",
        "632322101201",
        PERSON,
        "v1",
        False,
        "632322101201",
        1,
        7,
        datetime.now(UTC),
    )
    rec = RecordRead.model_validate(row, from_attributes=True)
    dumped = rec.model_dump(mode="json")
    assert dumped["kind"] == "person" and dumped["id"] == str(row.id)
    assert RecordPage(items=[rec], next_cursor=None).model_dump(mode="json")["items"] == [dumped]
    assert RecordPage(items=[]).next_cursor is None


def test_bulk_result() -> None:
    result = BulkResult(accepted=2, rejected=[BulkRejection(index=1, error="bad")])
    assert result.model_dump() == {
        "accepted": 2,
        "rejected": [{"index": 1, "id": None, "error": "bad"}],
    }
    assert BulkResult(accepted=0).rejected == []


def test_details_name_dotted_fields_without_pydantic_noise() -> None:
    data = {
        "name": "Centre",
        "org_type": "centre",
        "members": [{"name": "a", "role": "b"}, {"name": "c"}],
        "founded": "1988-02-30",
    }
    with pytest.raises(ValidationError) as info:
        validate_data("governance_org", data)
    details = details_from_validation_error(info.value, prefix=("data",))
    fields = {d.field for d in details}
    assert fields == {"data.members.1.role", "data.founded"}
    with pytest.raises(ValidationError) as info:
        validate_data("person", PERSON | {"id_number": "632322198807150036"})
    (detail,) = details_from_validation_error(info.value, prefix=("data",))
    assert detail == ErrorDetail(
        field="data.id_number", reason="ID number check character is wrong: expected 5, got 6"
    )
    assert summarize([detail]) == (
        "data.id_number: ID number check character is wrong: expected 5, got 6"
    )


def test_model_level_error_has_the_prefix_as_field() -> None:
    with pytest.raises(ValidationError) as info:
        RecordIn.model_validate("not an object")
    (detail,) = details_from_validation_error(info.value)
    assert detail.field is None
    (detail,) = details_from_validation_error(info.value, prefix=("body",))
    assert detail.field == "body"


def test_error_body_shape() -> None:
    body = error_body("not_found", "record not found")
    assert body == {"error": {"code": "not_found", "message": "record not found", "details": []}}
    body = error_body("validation_error", "invalid", [ErrorDetail(field="unit", reason="bad")])
    assert ErrorBody.model_validate(body).error.details[0].field == "unit"
    assert field_path(()) is None
    assert field_path(("data", "members", 0)) == "data.members.0"
    assert summarize([ErrorDetail(reason="whole body")]) == "whole body"
