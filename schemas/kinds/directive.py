"""Kind `directive`: an order sent down from a centre to all or part of its subtree."""

from enum import StrEnum
from typing import Annotated, Any, Literal, Self
from uuid import UUID

from pydantic import (
    AwareDatetime,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_serializer,
    model_validator,
)

from schemas.codes import CODE_LENGTHS, NODE_LEVELS, Level, UnitCode, is_within, level_of
from schemas.common import KindModel, NonEmptyStr


class DirectiveKind(StrEnum):
    notice = "notice"
    task = "task"
    screening = "screening"
    correction = "correction"
    resync = "resync"
    reveal = "reveal"  # one record in full, asked of its owner (docs/decisions/1001)


class DirectiveStatus(StrEnum):
    active = "active"
    cancelled = "cancelled"
    superseded = "superseded"


_TARGET_SHAPES = (
    'target must be exactly one of {"level": L}, {"units": [codes]} or {"subtree": true}'
)


class Target(KindModel):
    """Who receives a directive: exactly one of `level`, `units` or `subtree`.

    {"level": L}: every unit of level L in the issuer's subtree; {"units": [codes]}: the listed
    units (each below the issuer; duplicates dropped); {"subtree": true}: every unit below it.
    """

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"level": "village"},
                {"units": ["632322101", "632323102"]},
                {"subtree": True},
            ]
        }
    )

    level: Level | None = Field(default=None, description="prefecture, county, township or village")
    units: list[UnitCode] | None = Field(
        default=None, min_length=1, description="Codes of the target units"
    )
    subtree: Literal[True] | None = Field(default=None, description="true: the whole subtree")

    @field_validator("level")
    @classmethod
    def _node_level(cls, value: Level | None) -> Level | None:
        if value is not None and value not in NODE_LEVELS:
            raise ValueError(f"target level must be a node level, not {value}")
        return value

    @field_validator("units")
    @classmethod
    def _dedupe(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else list(dict.fromkeys(value))

    @model_validator(mode="after")
    def _exactly_one(self) -> Self:
        given = [name for name in ("level", "units", "subtree") if getattr(self, name) is not None]
        if len(given) != 1:
            raise ValueError(_TARGET_SHAPES)
        return self

    @model_serializer(mode="wrap")
    def _only_the_given_shape(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        return {key: value for key, value in handler(self).items() if value is not None}


RevealKey = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{43}=$")]
Body = Annotated[str, StringConstraints(strip_whitespace=True, max_length=20_000)]


class Directive(KindModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "title": "Monthly dispute screening",
                    "body": "Screen every grid for dispute clues and report by the deadline.",
                    "directive_kind": "screening",
                    "issuer": "632322",
                    "target": {"level": "village"},
                    "deadline": "2020-12-01T18:00:00+08:00",
                    "status": "active",
                }
            ]
        }
    )

    title: NonEmptyStr = Field(description="Title, 1-200 characters")
    body: Body = Field(default="", description="Text of the directive (up to 20,000 characters)")
    directive_kind: DirectiveKind = Field(
        default=DirectiveKind.notice,
        description="notice, task, screening, correction (of record_id), resync or reveal "
        "(of record_id)",
    )
    issuer: UnitCode = Field(description="Code of the issuing unit")
    target: Target = Field(
        description='Who receives it: {"level": L}, {"units": [codes]} or {"subtree": true}'
    )
    deadline: AwareDatetime | None = Field(default=None, description="Deadline, or null")
    status: DirectiveStatus = Field(
        default=DirectiveStatus.active, description="active, cancelled or superseded"
    )
    superseded_by: UUID | None = Field(
        default=None, description="Id of the directive that replaced this one"
    )
    record_id: UUID | None = Field(
        default=None, description="Record to correct or reveal (directive_kind correction, reveal)"
    )
    reveal_key: RevealKey | None = Field(
        default=None,
        description="A reveal request's one-time X25519 public key (base64url): the owner "
        "seals its answer to it, so only the requester can read it",
    )

    @field_validator("target")
    @classmethod
    def _below_issuer(cls, value: Target, info: ValidationInfo) -> Target:
        issuer = info.data.get("issuer")
        if issuer is None:
            return value
        if value.level is not None and CODE_LENGTHS[value.level] <= len(issuer):
            raise ValueError(
                f"target level {value.level} is not below the issuer's level {level_of(issuer)}"
            )
        if value.units is not None:
            outside = [u for u in value.units if u == issuer or not is_within(u, issuer)]
            if outside:
                raise ValueError(
                    f"target units {', '.join(outside)} are not below the issuer {issuer}"
                )
        return value
