"""Values that every node can store and pass on: the edge's check of any inbound JSON.

A value that one engine accepts and another refuses wedges a chain of nodes (a SQLite village
under a PostgreSQL county); a number the roll-ups cannot sum breaks every view above. So the
edge refuses, anywhere in a body (the record's data, nested lists and objects, the envelope):

- U+0000 in a string or key (PostgreSQL's jsonb and text refuse it);
- a lone surrogate (not Unicode; the JSON encoder refuses it);
- NaN and ±Infinity (JSON has no such numbers: they would be stored as null);
- integers outside signed 64 bits (no engine column holds them; the encoder refuses them), and
  floats as large (an integer that a parser turned into a float on the way);
- nesting deeper than MAX_DEPTH objects and lists (a hostile body; no kind needs more).

The pydantic error names the field: its type is `unstorable` and its context carries the path
below the model's location (`schemas.errors.details_from_validation_error` joins the two).
"""

import math
from typing import Any

from pydantic import BaseModel, ConfigDict, model_validator
from pydantic_core import PydanticCustomError

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
ERROR_TYPE = "unstorable"
MAX_DEPTH = 32
"""Objects and lists nested inside one another, counted from the body's top."""

Path = tuple[str | int, ...]


def _string_problem(text: str) -> str | None:
    if "\x00" in text:
        return "contains U+0000 (a NUL character), which cannot be stored"
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            return "contains a lone surrogate (not valid Unicode text)"
    return None


def _number_problem(value: int | float) -> str | None:
    if isinstance(value, int):
        if INT64_MIN <= value <= INT64_MAX:
            return None
        return "integer out of range: beyond signed 64 bits"
    if not math.isfinite(value):
        return "not a finite number (NaN and Infinity are not JSON numbers)"
    if abs(value) > INT64_MAX:
        return "number out of range: beyond signed 64 bits"
    return None


def _plainly_storable(value: Any, depth: int) -> bool:
    """True when `value` is certainly storable (the common case, checked without building
    paths); False when it may not be: `first_problem` then looks for the problem and its path.
    Only exact built-in types are judged here; anything else is left to `first_problem`."""
    kind = type(value)
    if kind is dict:
        if depth >= MAX_DEPTH:
            return False
        try:
            keys = "".join(value)  # every key at once; a key that is not a str: TypeError
        except TypeError:
            return False
        if "\x00" in keys or not (keys.isascii() or _string_problem(keys) is None):
            return False
        items: Any = value.values()
    elif kind is list:
        if depth >= MAX_DEPTH:
            return False
        items = value
    else:
        return _plain_scalar(value, kind)
    for inner in items:
        kind = type(inner)
        if kind is str:
            if "\x00" in inner or not (inner.isascii() or _string_problem(inner) is None):
                return False
        elif kind is dict or kind is list:
            if not _plainly_storable(inner, depth + 1):
                return False
        elif not _plain_scalar(inner, kind):
            return False
    return True


def _plain_scalar(value: Any, kind: type) -> bool:
    if kind is str:
        return "\x00" not in value and (value.isascii() or _string_problem(value) is None)
    if kind is int:
        return INT64_MIN <= value <= INT64_MAX
    if value is None or kind is bool:
        return True
    if kind is float:
        return math.isfinite(value) and abs(value) <= INT64_MAX
    return False


def first_problem(value: Any, path: Path = ()) -> tuple[Path, str] | None:
    """The first unstorable value inside `value` (depth first), with its path; else None."""
    if _plainly_storable(value, 0):
        return None
    stack: list[tuple[Path, Any]] = [(path, value)]
    while stack:
        where, item = stack.pop()
        problem: str | None = None
        if isinstance(item, str):
            problem = _string_problem(item)
        elif isinstance(item, bool) or item is None:
            continue
        elif isinstance(item, int | float):
            problem = _number_problem(item)
        elif len(where) >= MAX_DEPTH + len(path) and isinstance(item, dict | list | tuple):
            problem = f"nested deeper than {MAX_DEPTH} levels of objects and lists"
        elif isinstance(item, dict):
            for key, inner in reversed(item.items()):
                key_name = key if isinstance(key, str) else str(key)
                key_problem = _string_problem(key_name)
                if key_problem:
                    return (*where, key_name[:32]), f"field name {key_problem}"
                stack.append(((*where, key_name), inner))
        elif isinstance(item, list | tuple):
            stack.extend(((*where, i), inner) for i, inner in reversed(list(enumerate(item))))
        if problem:
            return where, problem
    return None


def refuse_unstorable(value: Any) -> Any:
    """`value` unchanged, or a pydantic error naming the first unstorable value in it."""
    found = first_problem(value)
    if found is None:
        return value
    raise unstorable_error(*found)


def unstorable_error(where: Path, reason: str) -> PydanticCustomError:
    """The pydantic error of an unstorable value: its reason, and its path in the context."""
    return PydanticCustomError(
        ERROR_TYPE, "{reason}", {"reason": reason, "path": ".".join(str(p) for p in where)}
    )


class StorableInbound(BaseModel):
    """Base of every inbound body: unknown fields refused, every value storable everywhere."""

    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _storable(cls, value: Any) -> Any:
        return refuse_unstorable(value)


_PARSED_CHECKED = frozenset({dict, list, int, float})


class StorableParsed(BaseModel):
    """StorableInbound's check made on the parsed fields instead of the raw input, for the
    models that arrive by the thousand (a push's records): a check before parsing makes
    pydantic build the raw dict of each one and validate it again, field by field (measured:
    5.2 against 3.0 ms a push of 1,000 person records). Fields whose type is not a plain
    JSON value (a UUID, a bool) are storable by construction and skipped."""

    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="after")
    def _storable(self) -> "StorableParsed":
        for name, value in self.__dict__.items():
            kind = type(value)
            if kind is str:
                if "\x00" not in value and value.isascii():
                    continue
            elif kind not in _PARSED_CHECKED:
                continue
            found = first_problem(value, (name,))
            if found is not None:
                raise unstorable_error(*found)
        return self
