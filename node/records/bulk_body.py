"""Reading a bulk body (a JSON array or NDJSON) row by row: one bad row is one rejected row.

A body that parses as a whole takes the fast path. When it does not — a lone surrogate, a NaN, a
byte that is not UTF-8 in one row — the array is cut into its top-level elements and each is
parsed alone, so only the broken rows are rejected, each with its reason.
"""

import json
import re
from dataclasses import dataclass
from typing import Any

import orjson

from node.errors import FieldError, Invalid, TooLarge

MAX_BULK_ROWS = 10_000
"""Rows in one bulk request; more is refused with 413 before any is stored."""


@dataclass(frozen=True)
class Unparsable:
    """A bulk row that could not be read as JSON; it is rejected with this reason."""

    reason: str


_TOKENS = re.compile(rb'["\\\[\]{},]')
_WHITESPACE = b" \t\r\n"


def parse_row(raw: bytes) -> Any:
    """One JSON value, or Unparsable saying why not.

    orjson first; the standard parser reads what orjson refuses but a node can name precisely
    (NaN, a lone surrogate escape), so the row is refused by the edge check naming its field.
    """
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as fast_error:
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            return Unparsable(f"not UTF-8 text: byte {exc.start} of the row")
        try:
            return json.loads(text)
        except (ValueError, RecursionError):  # orjson refuses nesting past 1,024 levels too
            return Unparsable(f"not JSON: {fast_error}")


def split_array(raw: bytes) -> list[bytes] | None:
    """The top-level elements of a JSON array, as bytes; None when `raw` is no whole array."""
    body = raw.strip(_WHITESPACE)
    if not body.startswith(b"[") or not body.endswith(b"]"):
        return None
    elements: list[bytes] = []
    depth, start, in_string, skip_to = 0, 1, False, -1
    for match in _TOKENS.finditer(body, 1):
        pos, char = match.start(), match[0]
        if pos < skip_to:
            continue
        if in_string:
            if char == b"\\":
                skip_to = pos + 2  # the escaped character, whatever it is
            elif char == b'"':
                in_string = False
        elif char == b'"':
            in_string = True
        elif char in b"[{":
            depth += 1
        elif char in b"]}":
            if depth == 0:  # the array's own closing bracket
                if pos != len(body) - 1:
                    return None
                break
            depth -= 1
        elif char == b"," and depth == 0:
            elements.append(body[start:pos])
            start = pos + 1
    else:
        return None
    if in_string or depth:
        return None
    last = body[start:-1]
    if last.strip(_WHITESPACE) or elements:
        elements.append(last)
    return elements


def parse_bulk_body(raw: bytes, content_type: str) -> list[Any]:
    """A JSON array, or NDJSON (one record per line); blank lines are skipped.

    At most MAX_BULK_ROWS rows (413 otherwise).
    """
    return _bounded(_parse_bulk_body(raw, content_type))


def _bounded(items: list[Any]) -> list[Any]:
    if len(items) > MAX_BULK_ROWS:
        raise TooLarge(
            f"bulk body holds {len(items):,} rows: at most {MAX_BULK_ROWS:,} per request",
            [FieldError(None, f"{len(items):,} rows, more than {MAX_BULK_ROWS:,}")],
        )
    return items


def _parse_bulk_body(raw: bytes, content_type: str) -> list[Any]:
    if "ndjson" in content_type or "jsonlines" in content_type:
        items: list[Any] = []
        for number, line in enumerate(raw.splitlines(), start=1):
            if line.strip():
                item = parse_row(line)
                if isinstance(item, Unparsable):
                    item = Unparsable(f"line {number}: {item.reason}")
                items.append(item)
        return items
    try:
        parsed = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        elements = split_array(raw)
        if elements is None:
            raise Invalid("body is not JSON", [FieldError(None, str(exc))]) from exc
        return [parse_row(element) for element in elements]
    if not isinstance(parsed, list):
        raise Invalid("bulk body must be a JSON array", [FieldError(None, "expected an array")])
    return parsed
