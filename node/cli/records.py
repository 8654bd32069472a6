"""`tiersync records ...`: read the records this node holds, and move one."""

import uuid
from typing import Annotated, Any

import orjson
import typer
from pydantic import ValidationError
from rich.table import Table
from rich.text import Text

from node.audit import service as audit
from node.cli.common import (
    CliError,
    JsonOption,
    check_reason,
    console,
    node_context,
    print_json,
    report,
    say,
)
from node.cli.options import NodeConfig, node_command
from node.principal import os_actor
from node.records.moves import move_record
from node.records.service import get_record, list_records
from schemas.codes import check_code, is_within
from schemas.errors import details_from_validation_error, summarize
from schemas.kinds import Kind
from schemas.personal import shown
from schemas.records import RecordMove, RecordRead

RevealOption = Annotated[
    str | None,
    typer.Option(
        "--reveal", metavar="REASON", help="Show personal data in clear, for this reason (audited)."
    ),
]
app = typer.Typer(help="Read records held by this node.", no_args_is_help=True)


def _unit(value: str | None) -> str | None:
    try:
        return None if value is None else check_code(value)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None


def _value(value: Any) -> str:
    if isinstance(value, dict | list):
        return orjson.dumps(value).decode()
    return str(value)


def whole(data: dict[str, Any]) -> Text:
    """Every field of a record's data, whole (the table wraps it rather than cutting it)."""
    return Text(", ".join(f"{k}={_value(v)}" for k, v in data.items()))


def record_table(items: list[RecordRead]) -> Table:
    table = Table(box=None, pad_edge=False)
    table.add_column("编号", no_wrap=True, min_width=36)  # whole: it is what `records get` takes
    table.add_column("类型", no_wrap=True)
    table.add_column("单位", no_wrap=True)
    table.add_column("数据", overflow="fold", ratio=1)
    for r in items:
        table.add_row(str(r.id), r.kind, r.unit, whole(r.data))
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
    reveal: RevealOption = None,
    json: JsonOption = False,
) -> None:
    """List live records of a subtree in (unit, id) order (exit 1 for a unit outside this
    node's jurisdiction: it holds nothing there); personal data masked unless --reveal."""
    check_reason(reveal)
    settings = config.settings()
    if unit is not None and not is_within(unit, settings.code):
        raise CliError(f"单位 {unit} 不在本节点（{settings.code}）辖区内")
    with node_context(settings, writable=reveal is not None) as ctx:
        page = list_records(
            ctx.db, kind=kind, unit=unit or settings.code, limit=limit, cursor=cursor
        )
        if reveal is not None:
            what = f"records list of {unit or settings.code} ({len(page.items)} records)"
            audit.reveal(ctx.db, actor=os_actor(), what=what, reason=reveal)
        else:
            page = page.model_copy(update={"items": [shown(r) for r in page.items]})
    if json:
        print_json(page)
        return
    if not page.items:
        say("没有记录")
        return
    console.print(record_table(page.items))
    if page.next_cursor:
        say(f"还有更多：--cursor {page.next_cursor}")


@app.command()
@node_command()
def get(
    config: NodeConfig,
    record_id: Annotated[uuid.UUID, typer.Argument(metavar="ID", help="The record's id.")],
    reveal: RevealOption = None,
    json: JsonOption = False,
) -> None:
    """Show one live record (exit code 1 when it is absent or deleted), personal data masked
    unless --reveal gives a reason (audited with the OS user)."""
    check_reason(reveal)
    with node_context(config.settings(), writable=reveal is not None) as ctx:
        record = get_record(ctx.db, record_id=record_id)
        if reveal is not None:
            what = f"{record_id} ({record.kind} at {record.unit})"
            audit.reveal(ctx.db, actor=os_actor(), what=what, reason=reveal)
        else:
            record = shown(record)
    if json:
        print_json(record)
        return
    for label, name in _FIELDS:
        say(f"{label}  {getattr(record, name)}")
    say(orjson.dumps(record.data, option=orjson.OPT_INDENT_2).decode())


_FIELDS = (
    ("编号    ", "id"),
    ("类型    ", "kind"),
    ("单位    ", "unit"),
    ("版本    ", "version"),
    ("写入节点", "origin"),
    ("更新时间", "updated_at"),
)


@app.command()
@node_command()
def move(
    config: NodeConfig,
    record_id: Annotated[uuid.UUID, typer.Argument(metavar="ID", help="The record's id.")],
    to: Annotated[str, typer.Option("--to", help="The unit the record moves to.")],
    from_unit: Annotated[
        str | None,
        typer.Option("--from-unit", help="At the new holder: the unit it moves from."),
    ] = None,
    kind: Annotated[Kind | None, typer.Option(help="At the new holder: the record's kind.")] = None,
    data_file: Annotated[
        typer.FileText | None,
        typer.Option("--data", help="At the new holder: a JSON file with the record's data."),
    ] = None,
    json: JsonOption = False,
) -> None:
    """Move a record to a unit of another subtree: it ends where it is held and begins at the
    new unit's holder (run it at each; at a node holding both, one run does both)."""
    data = orjson.loads(data_file.read()) if data_file is not None else None
    try:
        body = RecordMove(unit=to, from_unit=from_unit, kind=kind, data=data)
    except ValidationError as exc:
        raise CliError(summarize(details_from_validation_error(exc))) from None
    with node_context(config.settings()) as ctx:
        result = move_record(ctx.db, node=ctx.identity, record_id=record_id, body=body)
    if result.begun is not None:
        result.begun = shown(result.begun)
    old, new = result.moved_from, result.moved_to
    report(
        json,
        result,
        f"记录 {old.id} 已在 {old.unit} 结束" if result.ended else None,
        f"记录 {new.id} 已在 {new.unit} 建立" if result.begun is not None else None,
        None
        if result.ended
        else f"尚待完成：在持有 {old.unit} 的节点结束记录 {old.id}"
        "（在那里运行 tiersync records move）",
        None
        if result.begun is not None
        else f"尚待完成：在持有 {new.unit} 的节点建立记录 {new.id}"
        f"（在那里运行 tiersync records move，并给出 --from-unit {old.unit}、--kind 和 --data）",
    )
