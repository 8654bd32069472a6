"""Read an import file into records, each tagged with where in the file it starts."""

from collections.abc import Iterator
from enum import StrEnum
from pathlib import Path

from node.cli.common import UsageError
from node.records.bulk_body import Unparsable, parse_row
from node.registers.read import Row, read_csv, read_xlsx
from schemas.kinds import Kind

__all__ = ["Format", "Row", "format_of", "read_rows"]


class Format(StrEnum):
    csv = "csv"
    ndjson = "ndjson"
    xlsx = "xlsx"


SUFFIXES = {".csv": Format.csv, ".ndjson": Format.ndjson, ".jsonl": Format.ndjson}
SUFFIXES[".xlsx"] = Format.xlsx


def format_of(path: Path, given: Format | None) -> Format:
    if given is not None:
        return given
    try:
        return SUFFIXES[path.suffix.lower()]
    except KeyError:
        known = "、".join(SUFFIXES)
        raise UsageError(
            f"无法判断 {path} 的格式（扩展名不是 {known}）：请用 --format 指定"
        ) from None


def read_rows(
    path: Path,
    fmt: Format,
    *,
    encoding: str | None = None,
    kind: Kind | None = None,
    unit: str | None = None,
) -> Iterator[Row]:
    if fmt is Format.ndjson:
        return read_ndjson(path)
    if fmt is Format.xlsx:
        return read_xlsx(path, kind=kind, unit=unit)
    return read_csv(path, encoding=encoding, kind=kind, unit=unit)


def read_ndjson(path: Path) -> Iterator[Row]:
    """One JSON record object per line; blank lines are skipped, a broken line is one bad row."""
    with path.open("rb") as stream:
        for number, line in enumerate(stream, start=1):
            if not line.strip():
                continue
            item = parse_row(line)
            if not isinstance(item, dict | Unparsable):
                item = Unparsable(f"not a JSON object but {type(item).__name__}")
            yield Row(number, item)
