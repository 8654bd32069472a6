"""`tiersync records ...`: read the records this node holds."""

import uuid
from typing import Annotated, Any

import orjson
import typer
from rich.table import Table
from rich.text import Text

from node.cli.common import JsonOption, console, node_context, print_json, say
from node.cli.options import NodeConfig, node_command
from node.records.service import get_record, list_records
from schemas.codes import check_code
from schemas.kinds import Kind
from schemas.records import RecordRead

app = typer.Typer(help="Read records held by this node.", no_args_is_help=True)


def _unit(value: str | None) -> str | None:
    try:
        return None if value is None else check_code(value)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None


def preview(data: dict[str, Any], width: int) -> Text:
    """The first fields of a record's data, cut to `width` cells."""
    text = Text(", ".join(f"{k}={v}" for k, v in data.items() if not isinstance(v, dict | list)))
    text.truncate(width, overflow="ellipsis")
    return text


def record_table(items: list[RecordRead]) -> Table:
    table = Table(box=None, pad_edge=False)
    table.add_column("id", no_wrap=True, min_width=36)  # whole: it is what `records get` takes
    table.add_column("kind", no_wrap=True)
    table.add_column("unit", no_wrap=True)
    table.add_column("data")
    # What is left of the line after id, kind and unit (Rich drops columns that do not fit).
    kind_width = max(len("kind"), *(len(r.kind) for r in items))
    width = max(10, console.width - 36 - kind_width - 15 - 6)
    for r in items:
        table.add_row(str(r.id), r.kind, r.unit, preview(r.data, width))
    return table


@app.command("list")
@node_command()
def list_(
    config: NodeConfig,
    kind: Annotated[Kind | None, typer.Option(help="Only this kind.")] = None,
    unit: Annotated[
        str | None, typer.Option(help="Subtree root (default: this node).", callback=_unit)
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="At most this many.")] = 50,
    cursor: Annotated[str | None, typer.Option(help="Continue after a previous page.")] = None,
    json: JsonOption = False,
) -> None:
    """List live records of a subtree in (unit, id) order."""
    settings = config.settings()
    with node_context(settings) as ctx:
        page = list_records(
            ctx.db, kind=kind, unit=unit or settings.code, limit=limit, cursor=cursor
        )
    if json:
        print_json(page)
        return
    if not page.items:
        say("no records")
        return
    console.print(record_table(page.items))
    if page.next_cursor:
        say(f"more: --cursor {page.next_cursor}")


@app.command()
@node_command()
def get(
    config: NodeConfig,
    record_id: Annotated[uuid.UUID, typer.Argument(metavar="ID", help="The record's id.")],
    json: JsonOption = False,
) -> None:
    """Show one live record (exit code 1 when it is absent or deleted)."""
    with node_context(config.settings()) as ctx:
        record = get_record(ctx.db, record_id=record_id)
    if json:
        print_json(record)
        return
    for name in ("id", "kind", "unit", "version", "origin", "updated_at"):
        say(f"{name:<10} {getattr(record, name)}")
    say(orjson.dumps(record.data, option=orjson.OPT_INDENT_2).decode())
