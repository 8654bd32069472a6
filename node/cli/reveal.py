"""`tiersync reveal ...`: ask a record's owner for it in full, answer such requests, read the
answer while it is held (node/reveals; docs/decisions/1001). Acts on the node's database,
whether or not the node is serving; each step is audited."""

import uuid
from typing import Annotated

import orjson
import typer

from node.cli.common import JsonOption, UsageError, node_context, print_json, report, say
from node.cli.options import NodeConfig, node_command
from node.principal import local
from node.reveals import service
from schemas.reveals import RevealRead

app = typer.Typer(
    help="Reveal on request: one record in full, asked of its owner.", no_args_is_help=True
)
IdArgument = Annotated[uuid.UUID, typer.Argument(metavar="ID", help="The request's id.")]
ReasonOption = Annotated[str, typer.Option(help="Why (5-500 characters; audited).")]
STATUS = {"pending": "待答复", "approved": "已批准", "refused": "已拒绝", "expired": "已过期清除"}


def _reason(reason: str) -> str:
    reason = reason.strip()
    if not 5 <= len(reason) <= 500:
        raise UsageError("--reason 需 5 至 500 个字符，说明用途")
    return reason


def _line(item: RevealRead) -> str:
    until = f"，保留至 {item.expires_at.isoformat(timespec='minutes')}" if item.expires_at else ""
    note = f"（{item.note}）" if item.note else ""
    return (
        f"{item.id}  记录 {item.record_id}  所属 {item.owner}  "
        f"{STATUS.get(item.status, item.status)}{note}{until}"
    )


@app.command()
@node_command()
def request(
    config: NodeConfig,
    record: Annotated[uuid.UUID, typer.Argument(metavar="RECORD", help="The record's id.")],
    reason: ReasonOption,
    json: JsonOption = False,
) -> None:
    """Ask the owner node of a record held here (minimised) for it in full."""
    with node_context(config.settings()) as ctx:
        asked = service.request(ctx, record_id=record, reason=_reason(reason), by=local())
    report(json, asked, f"已向 {asked.owner} 发出查阅请求 {asked.id}，待其操作员批准。")


@app.command("list")
@node_command()
def list_(
    config: NodeConfig,
    inbox: Annotated[bool, typer.Option(help="Requests addressed to this node.")] = False,
    json: JsonOption = False,
) -> None:
    """The requests made here (or, with --inbox, those this node is asked to answer)."""
    with node_context(config.settings()) as ctx:
        page = service.inbox(ctx) if inbox else service.list_requests(ctx)
    if json:
        print_json(page)
        return
    if not page.items:
        say("没有查阅请求。")
    for item in page.items:
        if isinstance(item, RevealRead):
            say(_line(item))
        else:
            state = {"done": "已答复"}.get(str(item.state), "待审批")
            say(f"{item.id}  记录 {item.record_id}  来自 {item.issuer}  {state}  理由：{item.body}")


@app.command()
@node_command()
def show(config: NodeConfig, request_id: IdArgument, json: JsonOption = False) -> None:
    """A request made here; approved and still held: the record in full (audited)."""
    with node_context(config.settings()) as ctx:
        item = service.show(ctx, request_id=request_id, by=local())
    if json:
        print_json(item)
        return
    say(_line(item))
    if item.record is not None:
        say(orjson.dumps(item.record, option=orjson.OPT_INDENT_2).decode())


@app.command()
@node_command()
def approve(
    config: NodeConfig,
    request_id: IdArgument,
    note: Annotated[str | None, typer.Option(help="A note for the requester.")] = None,
    json: JsonOption = False,
) -> None:
    """Send the record, encrypted to the requester alone, up with this node's receipt."""
    with node_context(config.settings()) as ctx:
        item = service.approve(ctx, request_id=request_id, note=note, by=local())
    report(
        json, item, f"已批准查阅请求 {item.id}：记录已加密发往 {item.issuer}（仅请求方可解密）。"
    )


@app.command()
@node_command()
def refuse(
    config: NodeConfig, request_id: IdArgument, reason: ReasonOption, json: JsonOption = False
) -> None:
    """Refuse a request, saying why (the reason travels up to the requester)."""
    with node_context(config.settings()) as ctx:
        item = service.refuse(ctx, request_id=request_id, reason=_reason(reason), by=local())
    report(json, item, f"已拒绝查阅请求 {item.id}。")
