"""Export the records of a subtree as registers: XLSX (one sheet per kind) or CSV (one kind).

Every record passes through `visible_data` on its way out: personal data masked
(schemas/personal.py), unless the export was asked to reveal it (audited by the command).
"""

import csv
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from node.db import Database
from node.records.service import list_records
from node.registers.cells import to_cell
from node.registers.columns import header_of, sheet_of
from schemas.kinds import Kind, model_for
from schemas.personal import shown
from schemas.records import RecordRead

PAGE = 1000
Tick = Callable[[int], None]


def visible_data(record: RecordRead, reveal: bool = False) -> dict[str, Any]:
    """What of a record an export shows: the masked view, or everything when revealed."""
    return record.data if reveal else shown(record).data


def records_of(db: Database, *, kind: Kind, unit: str) -> Iterator[RecordRead]:
    cursor: str | None = None
    while True:
        page = list_records(db, kind=kind, unit=unit, limit=PAGE, cursor=cursor)
        yield from page.items
        if not page.next_cursor:
            return
        cursor = page.next_cursor


def _fields(kind: Kind) -> list[str]:
    return ["id", "unit", *model_for(kind).model_fields]


def rows(
    kind: Kind, records: Iterable[RecordRead], lang: str, tick: Tick, reveal: bool = False
) -> Iterator[list[Any]]:
    """The header, then one row per record (its fields in the kind's order)."""
    fields = _fields(kind)
    yield [header_of(kind, name, lang) for name in fields]
    for record in records:
        data = visible_data(record, reveal)
        envelope = {"id": str(record.id), "unit": record.unit}
        yield [
            to_cell(kind, name, envelope.get(name, data.get(name)), lang)
            if name in envelope or data.get(name) is not None
            else None
            for name in fields
        ]
        tick(1)


def write_xlsx(
    path: Path,
    db: Database,
    *,
    kinds: list[Kind],
    unit: str,
    lang: str,
    tick: Tick,
    reveal: bool = False,
) -> dict[str, int]:
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    counts: dict[str, int] = {}
    for kind in kinds:
        sheet = book.create_sheet(sheet_of(kind, lang))
        written = 0
        for row in rows(kind, records_of(db, kind=kind, unit=unit), lang, tick, reveal):
            sheet.append(row)
            written += 1
        counts[kind.value] = written - 1
    book.save(path)
    return counts


def write_csv(
    path: Path,
    db: Database,
    *,
    kind: Kind,
    unit: str,
    lang: str,
    encoding: str,
    tick: Tick,
    reveal: bool = False,
) -> dict[str, int]:
    written = 0
    with path.open("w", newline="", encoding=encoding, errors="strict") as stream:
        writer = csv.writer(stream)
        for row in rows(kind, records_of(db, kind=kind, unit=unit), lang, tick, reveal):
            writer.writerow(["" if cell is None else cell for cell in row])
            written += 1
    return {kind.value: written - 1}
