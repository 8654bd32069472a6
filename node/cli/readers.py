"""Read an import file into records, each tagged with the line of the file it starts on."""

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

import orjson

from node.cli.common import UsageError
from node.records.bulk_body import Unparsable

ENVELOPE = ("kind", "unit", "id")


class Format(StrEnum):
    csv = "csv"
    ndjson = "ndjson"


SUFFIXES = {".csv": Format.csv, ".ndjson": Format.ndjson, ".jsonl": Format.ndjson}


@dataclass(frozen=True)
class Row:
    line: int
    item: dict[str, Any] | Unparsable | Any


def format_of(path: Path, given: Format | None) -> Format:
    if given is not None:
        return given
    try:
        return SUFFIXES[path.suffix.lower()]
    except KeyError:
        known = ", ".join(SUFFIXES)
        raise UsageError(f"cannot tell the format of {path} (not {known}); pass --format") from None


def count_lines(path: Path) -> int:
    lines, last = 0, b"\n"
    with path.open("rb") as stream:
        while chunk := stream.read(1 << 20):
            lines += chunk.count(b"\n")
            last = chunk[-1:]
    return lines + (last != b"\n")


def read_rows(path: Path, fmt: Format) -> Iterator[Row]:
    return read_ndjson(path) if fmt is Format.ndjson else read_csv(path)


def read_ndjson(path: Path) -> Iterator[Row]:
    """One JSON record object per line; blank lines are skipped, a broken line is one bad row."""
    with path.open("rb") as stream:
        for number, line in enumerate(stream, start=1):
            if not line.strip():
                continue
            try:
                item = orjson.loads(line)
            except orjson.JSONDecodeError as exc:
                yield Row(number, Unparsable(f"not JSON: {exc}"))
                continue
            if not isinstance(item, dict):
                item = Unparsable(f"not a JSON object but {type(item).__name__}")
            yield Row(number, item)


def read_csv(path: Path) -> Iterator[Row]:
    """Columns kind, unit and optional id; every other column is a data field (empty = absent)."""
    with path.open(newline="", encoding="utf-8-sig") as stream:
        reader = csv.reader(stream)
        try:
            header = [name.strip() for name in next(reader)]
        except StopIteration:
            return
        except UnicodeDecodeError as exc:
            raise UsageError(f"{path} is not UTF-8 text: {exc}") from None
        _check_header(path, header)
        consumed = reader.line_num
        while True:
            start = consumed + 1  # a quoted cell may span lines: report where the row starts
            try:
                cells = next(reader)
            except StopIteration:
                return
            except UnicodeDecodeError as exc:
                raise UsageError(f"{path} is not UTF-8 text near line {start}: {exc}") from None
            except csv.Error as exc:
                yield Row(start, Unparsable(f"not CSV: {exc}"))
                return
            consumed = reader.line_num
            if any(cell.strip() for cell in cells):
                yield Row(start, _record(header, cells))


def _check_header(path: Path, header: list[str]) -> None:
    missing = [name for name in ("kind", "unit") if name not in header]
    if missing:
        raise UsageError(f"{path}: the CSV header needs column(s) {', '.join(missing)}")
    duplicates = sorted({name for name in header if header.count(name) > 1})
    if duplicates or "" in header:
        problem = f"duplicate column(s) {', '.join(duplicates)}" if duplicates else "a blank column"
        raise UsageError(f"{path}: the CSV header has {problem}")


def _record(header: list[str], cells: list[str]) -> dict[str, Any] | Unparsable:
    if len(cells) != len(header):
        return Unparsable(f"has {len(cells)} cells; the header has {len(header)} columns")
    values = {name: cell.strip() for name, cell in zip(header, cells, strict=True) if cell.strip()}
    record: dict[str, Any] = {name: values.pop(name) for name in ENVELOPE if name in values}
    record["data"] = values
    return record
