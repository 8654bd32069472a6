"""`tiersync import FILE`: load a register (XLSX, CSV or NDJSON) in batches; bad rows by place."""

from pathlib import Path
from typing import Annotated, Any

import typer

from node.cli.common import JsonOption, UsageError, node_context, print_json, say, warn
from node.cli.options import NodeConfig, node_command
from node.cli.progress import progress_bar
from node.cli.readers import Format, Row, format_of, read_rows
from node.context import NodeContext
from node.records.service import bulk_write
from node.registers.read import ENCODINGS, RegisterError, count_rows
from schemas.kinds import Kind

BATCH = 1000


def import_batch(ctx: NodeContext, batch: list[Row]) -> list[dict[str, Any]]:
    """Store the batch's valid records; return the rejected ones with where they were."""
    result = bulk_write(ctx.db, node=ctx.identity, items=[row.item for row in batch])
    out = []
    for r in result.rejected:
        row = batch[r.index]
        where: dict[str, Any] = {"sheet": row.sheet, "row": row.line} if row.sheet else {}
        out.append({"line": row.line, **where, "id": r.id, "error": r.error, "at": row.place})
    return out


@node_command()
def import_file(
    config: NodeConfig,
    file: Annotated[
        Path,
        typer.Argument(exists=True, dir_okay=False, readable=True, help="XLSX, CSV or NDJSON."),
    ],
    file_format: Annotated[
        Format | None, typer.Option("--format", help="Default: from the extension.")
    ] = None,
    encoding: Annotated[
        str | None,
        typer.Option(help=f"CSV text encoding: {', '.join(ENCODINGS)} (default: detected)."),
    ] = None,
    kind: Annotated[
        Kind | None, typer.Option(help="Kind of every row (when the file has no kind column).")
    ] = None,
    unit: Annotated[
        str | None, typer.Option(help="Unit of every row that has no unit column.")
    ] = None,
    batch_size: Annotated[int, typer.Option(min=1, max=10_000, help="Records per batch.")] = BATCH,
    json: JsonOption = False,
) -> None:
    """Import records from an XLSX workbook, CSV or NDJSON ({kind, unit, data, id?} per line).

    XLSX: one sheet per kind, named after it (实有人口 or person, 房屋 or household, …); CSV:
    columns kind and unit (or --kind, --unit), optional id, every other column a data field.
    Headers and values may be Chinese (身份证号, 姓名, 性别 男/女, 出生日期 …) or the fields'
    names; CSV may be UTF-8 (with or without BOM), GBK or GB18030.

    Every valid row is stored; a row with an id creates or replaces that record (re-runnable).
    Every bad row is reported by line (or sheet and row) with the field and the reason, and
    the exit code is then 1.
    """
    fmt = format_of(file, file_format)
    if encoding is not None and encoding.lower() not in ENCODINGS:
        raise UsageError(f"--encoding 只能是 {'、'.join(ENCODINGS)} 之一")
    settings = config.settings()
    imported, rejected = 0, list[dict[str, Any]]()
    try:
        with node_context(settings) as ctx, progress_bar() as progress:
            task = progress.add_task(f"正在导入 {file.name}", total=count_rows(file, fmt))
            batch: list[Row] = []
            rows = read_rows(file, fmt, encoding=encoding, kind=kind, unit=unit)
            for row in rows:
                batch.append(row)
                if len(batch) >= batch_size:
                    bad = import_batch(ctx, batch)
                    imported, rejected = imported + len(batch) - len(bad), rejected + bad
                    progress.advance(task, len(batch))
                    batch = []
            if batch:
                bad = import_batch(ctx, batch)
                imported, rejected = imported + len(batch) - len(bad), rejected + bad
                progress.advance(task, len(batch))
    except RegisterError as exc:
        raise UsageError(exc.message) from None
    if json:
        print_json({"file": str(file), "imported": imported, "rejected": rejected})
    else:
        for r in rejected:
            warn(f"{r['at']}: {r['error']}")
        say(f"导入 {imported} 条，拒收 {len(rejected)} 条")
    if rejected:
        raise typer.Exit(1)
