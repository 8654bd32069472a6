"""`tiersync directive ...`: issue directives, follow their progress, report receipts.

Like `child add`, these act on the node's database, so they work whether or not the node is
serving; a running node serves what they write to its children within a second.
"""

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from rich.cells import cell_len
from rich.table import Table

from node.cli.common import (
    JsonOption,
    UsageError,
    console,
    node_context,
    print_json,
    report,
    say,
)
from node.cli.options import NodeConfig, node_command
from node.directives import service
from schemas.directives import DirectiveCreate, DirectiveRead, DirectiveSummary, InboxItem
from schemas.errors import details_from_validation_error, summarize
from schemas.kinds.directive import DirectiveKind

app = typer.Typer(help="Send directives down and follow their receipts.", no_args_is_help=True)
IdArgument = Annotated[uuid.UUID, typer.Argument(metavar="ID", help="The directive's id.")]
NoteOption = Annotated[str | None, typer.Option(help="A note that travels up with the receipt.")]
UnitsOption = Annotated[
    list[str] | None,
    typer.Option(
        "--unit",
        help="Answer for this target unit only (repeat for more; default: this node and every "
        "target unit it holds, those below it without a node of their own).",
    ),
]


# Values as the reports name them (the dashboard's enum.receipt_state.* and directives.* terms).
KINDS = {
    "notice": "通知",
    "task": "任务",
    "screening": "排查",
    "correction": "更正",
    "resync": "重新上报",
    "reveal": "查阅请求",
}
STATUSES = {"active": "进行中", "cancelled": "已撤销", "superseded": "已被取代"}
STATES = {"pending": "未送达", "delivered": "已送达", "acknowledged": "已签收", "done": "已完成"}
TITLE = "标题"


def _label(labels: dict[str, str], value: object) -> str:
    return labels.get(str(value), str(value))


def _when(at: datetime | None) -> str:
    return at.isoformat(timespec="minutes") if at else "-"


def _table(names: tuple[str, ...], rows: Sequence[Sequence[str]], right: int = 0) -> Table:
    """A plain table whose columns never shrink except the title, which gives way on a narrow
    terminal (ids stay whole: they are what `show`, `ack` and `done` take)."""
    table = Table(box=None, pad_edge=False)
    for index, name in enumerate(names):
        widest = max([cell_len(name), *(cell_len(row[index]) for row in rows)])  # CJK: 2
        if name == TITLE:
            table.add_column(name, min_width=10, overflow="ellipsis", no_wrap=True, ratio=1)
        else:
            numeric = index >= len(names) - right
            table.add_column(
                name, no_wrap=True, min_width=widest, justify="right" if numeric else "left"
            )
    for row in rows:
        table.add_row(*row)
    return table


def _progress_table(items: list[DirectiveSummary]) -> Table:
    rows = [
        (str(d.id), _label(KINDS, d.kind), _label(STATUSES, d.status), _when(d.deadline),
         d.title, *(str(n) for n in (d.targets, d.delivered, d.acknowledged, d.done, d.overdue)))
        for d in items
    ]  # fmt: skip
    names = ("编号", "类型", "状态", "截止时间", TITLE, "目标单位", "已送达", "已签收", "已完成")
    return _table((*names, "已逾期"), rows, right=5)


def _inbox_table(items: list[InboxItem]) -> Table:
    rows = [
        (
            str(i.id),
            _label(KINDS, i.kind),
            _label(STATUSES, i.status),
            _label(STATES, i.state or "-"),
            i.issuer,
            _when(i.deadline),
            i.title,
        )
        for i in items
    ]
    return _table(("编号", "类型", "状态", "回执", "下达单位", "截止时间", TITLE), rows)


def _show(view: DirectiveRead) -> None:
    console.print(_progress_table([view]), soft_wrap=True, markup=False)
    if view.body:
        say(view.body)
    if view.by_child:
        rows = [
            (c.unit, c.name, *(str(n) for n in (c.targets, c.delivered, c.acknowledged, c.done,
                                                c.overdue)))
            for c in view.by_child
        ]  # fmt: skip
        names = ("单位", "名称", "目标单位", "已送达", "已签收", "已完成", "已逾期")
        say("按下级单位：")
        console.print(_table(names, rows, right=5), soft_wrap=True, markup=False)
    if view.laggards:
        lagging = "、".join(
            f"{lag.unit}（{_label(STATES, lag.state)}）" for lag in view.laggards[:50]
        )
        more = f" 等，另有 {len(view.laggards) - 50} 个" if len(view.laggards) > 50 else ""
        say(f"未完成：{lagging}{more}")


def _request(**fields: Any) -> DirectiveCreate:
    try:
        return DirectiveCreate.model_validate({k: v for k, v in fields.items() if v is not None})
    except ValidationError as exc:
        raise UsageError(summarize(details_from_validation_error(exc))) from None


@app.command()
@node_command()
def send(
    config: NodeConfig,
    title: Annotated[str, typer.Option(help="Title (1-200 characters).")],
    body: Annotated[str, typer.Option(help="Text of the directive.")] = "",
    kind: Annotated[DirectiveKind, typer.Option(help="What it is.")] = DirectiveKind.notice,
    level: Annotated[
        str | None, typer.Option("--to-level", help="Target: every unit of this level below.")
    ] = None,
    units: Annotated[
        list[str] | None, typer.Option("--to", help="Target: this unit (repeat for more).")
    ] = None,
    subtree: Annotated[
        bool, typer.Option("--to-subtree", help="Target: every unit below this node.")
    ] = False,
    deadline: Annotated[str | None, typer.Option(help="ISO date-time with offset.")] = None,
    record: Annotated[str | None, typer.Option(help="Record to correct (kind correction).")] = None,
    json: JsonOption = False,
) -> None:
    """Issue a directive to units of this node's subtree (the target set is fixed now)."""
    target: dict[str, Any] | None = None
    if level or units or subtree:
        target = {"level": level, "units": units, "subtree": True if subtree else None}
        target = {k: v for k, v in target.items() if v is not None}
    request = _request(
        title=title, body=body, kind=kind, target=target, deadline=deadline, record_id=record
    )
    with node_context(config.settings()) as ctx:
        directive_id = service.issue_directive(ctx.db, node=ctx.identity, body=request)
        view = service.show_directive(ctx.db, node=ctx.identity, directive_id=directive_id)
    report(json, view, f"已向 {view.targets} 个单位下达{_label(KINDS, view.kind)} {view.id}")


@app.command("list")
@node_command()
def list_(
    config: NodeConfig,
    inbox: Annotated[bool, typer.Option(help="What this node received, not issued.")] = False,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="At most this many.")] = 50,
    json: JsonOption = False,
) -> None:
    """List directives issued here with their progress (or, with --inbox, received here)."""
    with node_context(config.settings(), writable=False) as ctx:
        if inbox:
            page: Any = service.inbox(ctx.db, node=ctx.identity, limit=limit)
        else:
            page = service.list_issued(ctx.db, node=ctx.identity, limit=limit)
    if json:
        print_json(page)
    elif not page.items:
        say("暂无收到的指令" if inbox else "暂无下达的指令")
    else:
        table = _inbox_table(page.items) if inbox else _progress_table(page.items)
        console.print(table, soft_wrap=True, markup=False)


@app.command()
@node_command()
def show(config: NodeConfig, directive_id: IdArgument, json: JsonOption = False) -> None:
    """Progress of a directive over this node's part of the tree: by child unit, laggards."""
    with node_context(config.settings(), writable=False) as ctx:
        view = service.show_directive(ctx.db, node=ctx.identity, directive_id=directive_id)
    if json:
        print_json(view)
    else:
        _show(view)


def _receipt(item: InboxItem, json: bool) -> None:
    note = f"（{item.note}）" if item.note else ""
    units = "、".join(item.units[:20]) + (" 等" if len(item.units) > 20 else "")
    report(
        json,
        item,
        f"指令 {item.id}：{_label(STATES, item.state)}{note}",
        f"  代 {len(item.units)} 个单位回执：{units}" if len(item.units) > 1 else None,
    )


@app.command()
@node_command()
def ack(
    config: NodeConfig,
    directive_id: IdArgument,
    note: NoteOption = None,
    units: UnitsOption = None,
    json: JsonOption = False,
) -> None:
    """Acknowledge a directive this node received, for itself and the target units it holds
    (those without a node of their own; --unit to choose); the receipts travel up."""
    with node_context(config.settings()) as ctx:
        item = service.acknowledge(
            ctx.db, node=ctx.identity, directive_id=directive_id, note=note, units=units
        )
    _receipt(item, json)


@app.command()
@node_command()
def done(
    config: NodeConfig,
    directive_id: IdArgument,
    note: NoteOption = None,
    units: UnitsOption = None,
    json: JsonOption = False,
) -> None:
    """Report a directive done (implies acknowledged), for itself and the target units it holds
    (--unit to choose); the receipts travel up."""
    with node_context(config.settings()) as ctx:
        item = service.complete(
            ctx.db, node=ctx.identity, directive_id=directive_id, note=note, units=units
        )
    _receipt(item, json)


@app.command()
@node_command()
def cancel(config: NodeConfig, directive_id: IdArgument, json: JsonOption = False) -> None:
    """Cancel a directive this node issued; the cancellation travels down."""
    with node_context(config.settings()) as ctx:
        service.cancel_directive(ctx.db, node=ctx.identity, directive_id=directive_id)
        view = service.show_directive(ctx.db, node=ctx.identity, directive_id=directive_id)
    report(json, view, f"已撤销指令 {view.id}（撤销通知将下发）")
