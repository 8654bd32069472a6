"""The record envelope of `/api/v1/records` (CONTRACT.md, Records).

`data` is validated separately, per kind, with `schemas.kinds.validate_data`; report its errors
with `schemas.errors.details_from_validation_error(exc, prefix=("data",))`.
"""

import uuid
from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, field_validator

from schemas.codes import UnitCode
from schemas.common import MoveLink, Timestamp
from schemas.errors import clip
from schemas.kinds import Kind
from schemas.storable import StorableInbound

_PERSON_DATA: dict[str, Any] = {
    "id_number": "632322198807150035",
    "name": "才让多杰",
    "sex": "male",
    "birth_date": "1988-07-15",
}
_RECORD_ID = "5f0c3b4e-8a8e-4d47-9b1a-2b6f7d9e0c11"
_READ_EXAMPLE: dict[str, Any] = {
    "id": _RECORD_ID,
    "kind": "person",
    "unit": "632322101201",
    "data": {**_PERSON_DATA, "status": "registered"},
    "version": "1732610000000-632322101201-0001",
    "deleted": False,
    "origin": "632322101201",
    "schema_version": 1,
    "seq": 42,
    "updated_at": "2024-11-26T08:33:20Z",
}


class RecordIn(StorableInbound):
    """A record as a client writes it: its kind, owning unit and payload."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"kind": "person", "unit": "632322101201", "data": _PERSON_DATA}]
        },
    )

    kind: Kind = Field(description="Record kind, e.g. person, household, incident")
    unit: UnitCode = Field(description="Code of the unit the record belongs to")
    data: dict[str, Any] = Field(description="Kind-specific payload")


class RecordCreate(RecordIn):
    """Body of `POST /api/v1/records`; `id` may be given (idempotent imports), else generated."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"id": _RECORD_ID, "kind": "person", "unit": "632322101201", "data": _PERSON_DATA}
            ]
        }
    )

    id: UUID | None = Field(default=None, description="Record id; generated when absent")


RecordPut = RecordIn
"""Body of `PUT /api/v1/records/{id}`."""


class RecordRead(BaseModel):
    """A stored record version as the API returns it."""

    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={"examples": [_READ_EXAMPLE]},
    )

    id: UUID = Field(description="Record id")
    kind: Kind = Field(description="Record kind")
    unit: str = Field(description="Code of the unit the record belongs to")
    data: dict[str, Any] = Field(description="Kind-specific payload (normalised)")
    version: str = Field(description="Opaque version of this state of the record")
    deleted: bool = Field(default=False, description="True for a deletion (tombstone)")
    origin: str = Field(description="Code of the node that made this version")
    schema_version: int = Field(description="Data schema version the payload was written with")
    seq: int = Field(description="Position of this version in this node's change log")
    updated_at: Timestamp = Field(description="When this version was made (with its offset)")
    masked: list[str] = Field(
        default_factory=list,
        description="Personal fields shown masked or left out (schemas/personal.py); "
        "`POST /api/v1/records/{id}/reveal` returns them in clear. A record written back as "
        "shown (masked values unchanged, withheld fields left out) keeps them",
    )


class RecordPage(BaseModel):
    """One page of `GET /api/v1/records`."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "items": [_READ_EXAMPLE],
                    "next_cursor": None,
                }
            ]
        }
    )

    items: list[RecordRead] = Field(description="Records in this page")
    next_cursor: str | None = Field(
        default=None, description="Pass as `cursor` for the next page; null on the last page"
    )


class BulkRejection(BaseModel):
    """A record of a bulk import that was not stored, with its position and reason."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "index": 3,
                    "id": None,
                    "error": "data.id_number: ID number check character is wrong: "
                    "expected 5, got 6",
                }
            ]
        }
    )

    index: int = Field(description="0-based position of the record in the request")
    id: str | None = Field(default=None, description="The record's id, when it had one")
    error: str = Field(description="Why it was rejected")

    @field_validator("error")
    @classmethod
    def _clipped(cls, value: str) -> str:
        return clip(value)


class BulkResult(BaseModel):
    """Result of `POST /api/v1/records/bulk`: every valid record stored, every invalid listed."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "accepted": 2,
                    "rejected": [{"index": 1, "id": None, "error": "data.name: Field required"}],
                }
            ]
        }
    )

    accepted: int = Field(description="Number of records stored")
    rejected: list[BulkRejection] = Field(
        default_factory=list, description="Records not stored, with reasons"
    )


MOVE_NAMESPACE = UUID("2c7f4f0e-5a3b-4d8e-9a51-6f0d8c3b7e21")


def moved_id(record_id: UUID, to_unit: str) -> UUID:
    """The id of the record a move begins at `to_unit`: the same at both ends, so the old and
    the new holder each write their half without talking to each other."""
    return uuid.uuid5(MOVE_NAMESPACE, f"{record_id}/{to_unit}")


class RecordMove(StorableInbound):
    """Body of `POST /api/v1/records/{id}/move`: where the record goes (docs/decisions/0652).

    At the node that holds the record: it ends there (a tombstone that links to the new
    record) and, when this node also holds the new unit, begins there in the same transaction.
    At the node that holds only the new unit: the new record begins, with `kind` and `data`
    (the old one is not held here) and `from_unit`.
    """

    unit: UnitCode = Field(description="The unit the record moves to")
    kind: Kind | None = Field(default=None, description="At the new holder only: the kind")
    data: dict[str, Any] | None = Field(
        default=None, description="The new record's data (default: the old record's)"
    )
    from_unit: UnitCode | None = Field(
        default=None, description="At the new holder only: the unit the record moves from"
    )


class MoveResult(BaseModel):
    """What a move wrote here: the ended record, the begun one, or both."""

    moved_from: MoveLink = Field(description="The old record and its unit")
    moved_to: MoveLink = Field(description="The new record and its unit")
    ended: bool = Field(description="The old record ended here (this node held it)")
    begun: RecordRead | None = Field(
        default=None, description="The new record, when this node holds its unit"
    )
    pending: str | None = Field(
        default=None,
        description="The half still to be written, and where (null when both are done here)",
    )
