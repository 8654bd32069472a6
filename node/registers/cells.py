"""Cell values ⇄ record data: what a spreadsheet or CSV holds, turned into the JSON a kind's
validation expects (and back for an export). The kind's own validation still judges the result,
so a bad cell is rejected with the field and the reason."""

import re
from datetime import date, datetime, time, timedelta, timezone
from functools import cache
from typing import Any

import orjson

from node.registers.columns import YES_NO, labels_of
from schemas.kinds import Kind, model_for

CHINA_TIME = timezone(timedelta(hours=8))
"""Spreadsheet times carry no offset; the centres keep China Standard Time."""
_LIST_SEPARATORS = re.compile(r"\s*[、,，;；]\s*")
_CN_DATE = re.compile(r"(\d{4})\s*[年/.\-]\s*(\d{1,2})\s*[月/.\-]\s*(\d{1,2})\s*日?")
_TIME = re.compile(r"(\d{1,2}):(\d{2})(?::(\d{2}))?")


@cache
def shapes(kind: Kind) -> dict[str, str]:
    """Field → list, objects, date, datetime, bool, int or text, from the kind's JSON schema."""
    out: dict[str, str] = {}
    for name, prop in model_for(kind).model_json_schema()["properties"].items():
        options = [p for p in prop.get("anyOf", [prop]) if p.get("type") != "null"]
        first = options[0] if options else {}
        kind_of = first.get("type")
        if kind_of == "array":
            items = first.get("items", {})
            out[name] = "objects" if "$ref" in items or items.get("type") == "object" else "list"
        elif first.get("format") in ("date", "date-time"):
            out[name] = "date" if first["format"] == "date" else "datetime"
        elif kind_of in ("boolean", "integer"):
            out[name] = "bool" if kind_of == "boolean" else "int"
        else:
            out[name] = "text"
    return out


def _text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # Excel keeps numbers as floats: an ID or phone typed as one
    return str(value).strip()


def _date(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    match = _CN_DATE.fullmatch(_text(value))
    if match:
        year, month, day = (int(g) for g in match.groups())
        return f"{year:04d}-{month:02d}-{day:02d}"
    return _text(value)


def _datetime(value: Any) -> Any:
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=CHINA_TIME)
        return moment.isoformat()
    text = _text(value)
    match = _CN_DATE.match(text)
    rest = text[match.end() :].strip() if match else ""
    clock = _TIME.fullmatch(rest) if match else None
    if match and (clock or not rest):
        day = date.fromisoformat(_date(match[0]))
        hours, minutes, seconds = (int(g or 0) for g in clock.groups()) if clock else (0, 0, 0)
        moment = datetime.combine(day, time(hours, minutes, seconds), CHINA_TIME)
        return moment.isoformat()
    return text


def _list(value: Any) -> Any:
    text = _text(value)
    return [part for part in _LIST_SEPARATORS.split(text) if part]


def _objects(value: Any) -> Any:
    text = _text(value)
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return text  # the kind's validation says what it expected


def _bool(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    text = _text(value)
    return YES_NO.get(text, text)


def _int(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value if isinstance(value, int) else _text(value)


_CONVERT = {
    "date": _date,
    "datetime": _datetime,
    "list": _list,
    "objects": _objects,
    "bool": _bool,
    "int": _int,
}


def to_data(kind: Kind, field: str, value: Any) -> Any:
    """A cell's value as the field's JSON value (Chinese labels mapped to the kind's values)."""
    shape = shapes(kind).get(field, "text")
    if shape == "text":
        text = _text(value)
        return labels_of(kind, field).get(text, text)
    return _CONVERT[shape](value)


def to_cell(kind: Kind, field: str, value: Any, lang: str) -> Any:
    """A data value as a cell: lists joined, objects as JSON, values labelled in Chinese."""
    if isinstance(value, list):
        if all(isinstance(v, str) for v in value):
            return "、".join(value) if lang == "zh" else ", ".join(value)
        return orjson.dumps(value).decode()
    if isinstance(value, dict):
        return orjson.dumps(value).decode()
    if lang == "zh":
        if isinstance(value, bool):
            return "是" if value else "否"
        if isinstance(value, str):
            reverse = {v: k for k, v in reversed(labels_of(kind, field).items())}
            return reverse.get(value, value)
    return value
