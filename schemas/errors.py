"""The one JSON error shape of the API: {"error": {"code", "message", "details": [...]}}."""

from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

_VALUE_ERROR_PREFIXES = ("Value error, ", "Assertion failed, ")


class ErrorDetail(BaseModel):
    """One problem, with the dotted path of the field it concerns (e.g. "data.id_number")."""

    field: str | None = Field(default=None, description="Dotted field path, or null")
    reason: str = Field(description="What is wrong with it")


class ErrorInfo(BaseModel):
    code: str = Field(description="Machine-readable error code, e.g. validation_error")
    message: str = Field(description="Human-readable summary")
    details: list[ErrorDetail] = Field(default_factory=list, description="Per-field problems")


class ErrorBody(BaseModel):
    """Body of every error response."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "error": {
                        "code": "validation_error",
                        "message": "invalid record",
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
        details.append(ErrorDetail(field=field_path((*prefix, *err["loc"])), reason=reason))
    return details


def error_body(code: str, message: str, details: Iterable[ErrorDetail] = ()) -> dict[str, Any]:
    """The JSON-ready error body."""
    return ErrorBody(error=ErrorInfo(code=code, message=message, details=list(details))).model_dump(
        mode="json"
    )


def summarize(details: Iterable[ErrorDetail]) -> str:
    """One line for a bulk rejection: "data.name: Field required; data.sex: ..."."""
    return "; ".join(f"{d.field}: {d.reason}" if d.field else d.reason for d in details)
