"""Helpers shared by the schema tests: examples, and asserting a rejection names its field."""

from typing import Any

import pytest
from pydantic import ValidationError

from schemas.kinds import Kind, example_data, validate_data


def example(kind: Kind) -> dict[str, Any]:
    return example_data(kind)


def error_fields(exc: ValidationError) -> set[str]:
    return {".".join(str(p) for p in err["loc"]) for err in exc.errors()}


def rejects(kind: Kind, data: dict[str, Any], field: str, match: str = "") -> str:
    with pytest.raises(ValidationError) as info:
        validate_data(kind, data)
    assert field in error_fields(info.value), info.value
    text = str(info.value)
    assert match in text, text
    return text
