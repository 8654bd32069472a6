"""The one JSON error shape of the API: {"error": {"code", "message", "details": [...]}}."""

import re
from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from schemas.storable import ERROR_TYPE as UNSTORABLE

_VALUE_ERROR_PREFIXES = ("Value error, ", "Assertion failed, ")

QUOTE_MAX = 40
"""At most this many characters of an offending value are quoted back in an error."""
TEXT_MAX = 500
"""An error message or reason is cut to this many characters."""
_LONG_RUN = re.compile(r"\S{" + str(QUOTE_MAX + 1) + ",}")


def clip(text: str) -> str:
    """The one rule for echoing input in errors: every run of text without a space longer than
    QUOTE_MAX (a 1 MB unit code, a token) is cut to a prefix with its length, and the whole to
    TEXT_MAX characters. Applied to every message and reason the API and the CLI print."""
    if len(text) <= QUOTE_MAX:
        return text
    # The cut run is QUOTE_MAX long with its ellipsis, so clipping twice changes nothing.
    text = _LONG_RUN.sub(lambda m: f"{m[0][: QUOTE_MAX - 1]}… ({len(m[0]):,} characters)", text)
    return text if len(text) <= TEXT_MAX else text[: TEXT_MAX - 1] + "…"


class ErrorDetail(BaseModel):
    """One problem, with the dotted path of the field it concerns (e.g. "data.id_number")."""

    field: str | None = Field(default=None, description="Dotted field path, or null")
    reason: str = Field(description="What is wrong with it")

    @field_validator("field", "reason")
    @classmethod
    def _clipped(cls, value: str | None) -> str | None:
        return value if value is None else clip(value)


class ErrorInfo(BaseModel):
    code: str = Field(
        description="Machine-readable error code: bad_request, unauthorized, forbidden, "
        "not_found, conflict, too_large, invalid, unavailable (or a more precise one such as "
        "cursor_mismatch, protocol_mismatch)"
    )
    message: str = Field(description="Human-readable summary")
    details: list[ErrorDetail] = Field(default_factory=list, description="Per-field problems")

    @field_validator("message")
    @classmethod
    def _clipped(cls, value: str) -> str:
        return clip(value)


class ErrorBody(BaseModel):
    """Body of every error response."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "error": {
                        "code": "invalid",
                        "message": "invalid person data",
                        "details": [
                            {
                                "field": "data.sex",
                                "reason": "sex female does not match ID number, whose 17th "
                                "digit says male",
                            }
                        ],
                    }
                }
            ]
        }
    )

    error: ErrorInfo


def field_path(loc: Iterable[str | int]) -> str | None:
    """Dotted path of a location tuple: ("data", "members", 0, "name") → "data.members.0.name"."""
    parts = [str(part) for part in loc]
    return ".".join(parts) if parts else None


def error_location(err: Any) -> tuple[str | int, ...]:
    """Where a pydantic error is: its location, and for an unstorable value the path below it."""
    loc = tuple(err["loc"])
    if err["type"] == UNSTORABLE and err.get("ctx", {}).get("path"):
        loc = (*loc, *str(err["ctx"]["path"]).split("."))
    return loc


def details_from_validation_error(
    exc: ValidationError, prefix: tuple[str | int, ...] = ()
) -> list[ErrorDetail]:
    """One ErrorDetail per error of `exc`, its field path prefixed with `prefix`.

    Pydantic's "Value error, " prefix is dropped from reasons; a tagged-union member name
    (e.g. the "level" in target.level.level) stays in the path as pydantic reports it.
    """
    details = []
    for err in exc.errors(include_url=False):
        reason = err["msg"]
        for noise in _VALUE_ERROR_PREFIXES:
            reason = reason.removeprefix(noise)
        field = field_path((*prefix, *error_location(err)))
        details.append(ErrorDetail(field=field, reason=reason))
    return details


def error_body(code: str, message: str, details: Iterable[ErrorDetail] = ()) -> dict[str, Any]:
    """The JSON-ready error body."""
    return ErrorBody(error=ErrorInfo(code=code, message=message, details=list(details))).model_dump(
        mode="json"
    )


def summarize(details: Iterable[ErrorDetail]) -> str:
    """One line for a bulk rejection: "data.name: Field required; data.sex: ..."."""
    return "; ".join(f"{d.field}: {d.reason}" if d.field else d.reason for d in details)
