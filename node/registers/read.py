"""Read a register (CSV in UTF-8, UTF-8 with BOM, GBK or GB18030; or an XLSX workbook with
one sheet per kind) into bulk-write items, each tagged with where it came from.

Headers and values may be Chinese or the fields' English names (node/registers/columns.py).
Every row becomes one item: the record's validation then accepts or rejects it by itself.
"""

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from node.errors import TiersyncError
from node.records.bulk_body import Unparsable
from node.registers.cells import to_data
from node.registers.columns import field_of, sheet_kind
from schemas.kinds import Kind

ENCODINGS = ("utf-8", "utf-8-sig", "gbk", "gb18030")
BLANK = ("", None)


class RegisterError(TiersyncError):
    """A register that cannot be read at all (not a row that is bad): exit code 2."""

    status_code = 400
    code = "bad_register"


@dataclass(frozen=True)
class Row:
    line: int
    item: dict[str, Any] | Unparsable | Any
    sheet: str | None = None

    @property
    def place(self) -> str:
        return f"sheet {self.sheet} row {self.line}" if self.sheet else f"line {self.line}"


def decode(path: Path, encoding: str | None) -> tuple[str, str]:
    """The file's text and its encoding: the one given, else UTF-8 (with or without BOM), else
    GB18030 (which reads GBK too)."""
    raw = path.read_bytes()
    candidates = [encoding] if encoding else ["utf-8-sig", "gb18030"]
    for name in candidates:
        try:
            text = raw.decode(name)
        except UnicodeDecodeError as exc:
            if encoding:
                line = raw[: exc.start].count(b"\n") + 1
                raise RegisterError(f"{path} is not {encoding} text (line {line})") from None
            continue
        shown = "utf-8" if name == "utf-8-sig" and not raw.startswith(b"\xef\xbb\xbf") else name
        return text.removeprefix("\ufeff"), shown
    raise RegisterError(f"{path} is neither UTF-8 nor GB18030/GBK text; pass --encoding")


def _kind(value: Any) -> Kind | str:
    """A kind named in a cell (English or a sheet's Chinese name); else the text as written."""
    text = str(value).strip()
    return sheet_kind(text) or text


def record(
    header: list[str], cells: list[Any], *, kind: Kind | None, unit: str | None
) -> dict[str, Any] | Unparsable:
    """One row as a bulk item: envelope from its columns (or the defaults), data converted."""
    if len(cells) > len(header) and any(c not in BLANK for c in cells[len(header) :]):
        return Unparsable(f"has {len(cells)} cells; the header has {len(header)} columns")
    given = {h: c for h, c in zip(header, cells, strict=False) if c not in BLANK}
    given = {h: c for h, c in given.items() if not (isinstance(c, str) and not c.strip())}
    kind_cell = next((v for h, v in given.items() if field_of(None, h) == "kind"), None)
    row_kind = _kind(kind_cell) if kind_cell is not None else kind
    item: dict[str, Any] = {"kind": row_kind} if row_kind is not None else {}
    if unit is not None:
        item["unit"] = unit
    data: dict[str, Any] = {}
    known = row_kind if isinstance(row_kind, Kind) else None
    for header_name, value in given.items():
        name = field_of(known, header_name)
        if name in ("id", "unit"):
            item[name] = str(value).strip() if not isinstance(value, float) else str(int(value))
        elif name != "kind":
            data[name] = to_data(known, name, value) if known else value
    item["data"] = data
    return item


def read_csv(
    path: Path, *, encoding: str | None, kind: Kind | None, unit: str | None
) -> Iterator[Row]:
    text, _ = decode(path, encoding)
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [name.strip() for name in next(reader)]
    except StopIteration:
        return
    _check_header(path, header, kind=kind, unit=unit)
    consumed = reader.line_num
    while True:
        start = consumed + 1  # a quoted cell may span lines: report where the row starts
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield Row(start, Unparsable(f"not CSV: {exc}"))
            return
        consumed = reader.line_num
        if any(cell.strip() for cell in cells):
            if len(cells) != len(header):
                problem = f"has {len(cells)} cells; the header has {len(header)} columns"
                yield Row(start, Unparsable(problem))
                continue
            yield Row(start, record(header, cells, kind=kind, unit=unit))


def _check_header(path: Path, header: list[str], *, kind: Kind | None, unit: str | None) -> None:
    fields = [field_of(kind, name) for name in header]
    needed = [(name, given) for name, given in (("kind", kind), ("unit", unit)) if given is None]
    missing = [name for name, _ in needed if name not in fields]
    if missing:
        what = ", ".join(missing)
        raise RegisterError(
            f"{path}: the header needs column(s) {what} (or pass "
            + " and ".join(f"--{m}" for m in missing)
            + ")"
        )
    duplicates = sorted({name for name in fields if fields.count(name) > 1})
    if duplicates or "" in header:
        problem = f"duplicate column(s) {', '.join(duplicates)}" if duplicates else "a blank column"
        raise RegisterError(f"{path}: the header has {problem}")


def read_xlsx(path: Path, *, kind: Kind | None, unit: str | None) -> Iterator[Row]:
    """Every sheet named after a kind (or any sheet, with --kind); row numbers as Excel shows."""
    from openpyxl import load_workbook  # only imports that read a workbook pay for it

    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a damaged or foreign file
        raise RegisterError(f"{path} is not an XLSX workbook: {exc}") from None
    try:
        for sheet in book.worksheets:
            sheet_kind_ = sheet_kind(sheet.title) or kind
            rows = sheet.iter_rows(values_only=True)
            header_cells = next(rows, None)
            if header_cells is None:
                continue
            header = ["" if c is None else str(c).strip() for c in header_cells]
            if sheet_kind_ is None and "kind" not in [field_of(None, h) for h in header]:
                raise RegisterError(
                    f"{path}: sheet {sheet.title!r} is not named after a kind (e.g. 实有人口 or "
                    "person) and has no kind column; rename it or pass --kind"
                )
            for number, cells in enumerate(rows, start=2):
                if all(c in BLANK or (isinstance(c, str) and not c.strip()) for c in cells):
                    continue
                item = record(header, list(cells), kind=sheet_kind_, unit=unit)
                yield Row(number, item, sheet=sheet.title)
    finally:
        book.close()


def count_rows(path: Path, fmt: str) -> int | None:
    """Rows to read, for the progress bar (None when the workbook does not say)."""
    if fmt == "xlsx":
        from openpyxl import load_workbook

        try:
            book = load_workbook(path, read_only=True)
        except Exception:
            return None
        try:
            sizes = [sheet.max_row for sheet in book.worksheets]
        finally:
            book.close()
        return None if any(s is None for s in sizes) else sum(max(0, s - 1) for s in sizes)
    lines, last = 0, b"\n"
    with path.open("rb") as stream:
        while chunk := stream.read(1 << 20):
            lines += chunk.count(b"\n")
            last = chunk[-1:]
    return lines + (last != b"\n") - (1 if fmt == "csv" else 0)
