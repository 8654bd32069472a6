"""`tiersync import FILE`: load a register (CSV or NDJSON) in batches; bad rows by line."""

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from node.cli.common import JsonOption, err_console, node_context, print_json, say, warn
from node.cli.options import NodeConfig, node_command
from node.cli.readers import Format, Row, count_lines, format_of, read_rows
from node.context import NodeContext
from node.records.service import bulk_write

BATCH = 1000


def import_batch(ctx: NodeContext, batch: list[Row]) -> list[dict[str, Any]]:
    """Store the batch's valid records; return the rejected ones by line."""
    result = bulk_write(ctx.db, node=ctx.identity, items=[row.item for row in batch])
    return [{"line": batch[r.index].line, "id": r.id, "error": r.error} for r in result.rejected]


@node_command()
def import_file(
    config: NodeConfig,
    file: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, readable=True, help="CSV or NDJSON.")
    ],
    file_format: Annotated[
        Format | None, typer.Option("--format", help="Default: from the extension.")
    ] = None,
    batch_size: Annotated[int, typer.Option(min=1, max=10_000, help="Records per batch.")] = BATCH,
    json: JsonOption = False,
) -> None:
    """Import records from NDJSON ({kind, unit, data, id?} per line) or CSV (kind, unit, id?, …).

    CSV: every column but kind, unit and id is a data field; empty cells are left out.

    Every valid row is stored; a row with an id creates or replaces that record (re-runnable).

    Every bad row is reported with its line number, and the exit code is then 1.
    """
    fmt = format_of(file, file_format)
    settings = config.settings()
    imported, rejected = 0, list[dict[str, Any]]()
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
    progress = Progress(
        *columns,
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
        disable=not err_console.is_terminal,
    )
    with node_context(settings) as ctx, progress:
        task = progress.add_task(f"importing {file.name}", total=count_lines(file))
        batch: list[Row] = []
        for row in read_rows(file, fmt):
            batch.append(row)
            if len(batch) >= batch_size:
                bad = import_batch(ctx, batch)
                imported, rejected = imported + len(batch) - len(bad), rejected + bad
                progress.update(task, completed=batch[-1].line)
                batch = []
        if batch:
            bad = import_batch(ctx, batch)
            imported, rejected = imported + len(batch) - len(bad), rejected + bad
        progress.update(task, completed=progress.tasks[0].total)
    if json:
        print_json({"file": str(file), "imported": imported, "rejected": rejected})
    else:
        for r in rejected:
            warn(f"line {r['line']}: {r['error']}")
        say(f"imported {imported}, rejected {len(rejected)}")
    if rejected:
        raise typer.Exit(1)
