"""`tiersync audit`: who did what to this node, when, with what outcome; and the helpers the
operator commands share (the --actor option, their errors)."""

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer
from rich.table import Table

from federation.errors import FederationError
from node.audit import service as audit_service
from node.audit.chain import Head
from node.bundles.file import BundleRefused
from node.cli.common import CliError, JsonOption, console, node_context, print_json, say, warn
from node.cli.options import NodeConfig, node_command
from node.principal import os_actor
from node.settings import Settings
from node.uplink import parent_connection

ActorOption = Annotated[
    str | None,
    typer.Option("--actor", help="Who runs this, for the audit log (default: the OS user)."),
]


TokenOption = Annotated[
    str | None,
    typer.Option(
        "--token",
        envvar="TIERSYNC_OPERATOR_TOKEN",
        show_envvar=True,
        help="While the node serves: an operator's API token (right ops.run); the serving "
        "node then runs the command (it moves the sync cursor, which only the node may do).",
    ),
]


def actor_of(given: str | None) -> str:
    return given or os_actor()


@contextmanager
def ops_errors() -> Iterator[None]:
    """A parent that cannot be reached or refuses, or a refused bundle: one line, exit 1."""
    try:
        yield
    except BundleRefused as exc:
        raise CliError(f"离线包被拒收：{exc}") from None
    except FederationError as exc:
        raise CliError(f"上级：{exc}") from None


app = typer.Typer(help="The audit log: list it, verify its hash chain.")

_BREAKS = {
    "edited": "第 {id} 条：内容被修改（与其哈希不符）",
    "unlinked": "第 {id} 条：与前一条断链（其前有条目被删除或调换了顺序）",
    "missing_head": "第 {id} 条：上级保存的链头在本地日志中找不到（日志被截断）",
    "head_differs": "第 {id} 条：与上级保存的链头不一致（日志被改写）",
}


@app.callback(invoke_without_command=True)
@node_command()
def audit(
    config: NodeConfig,
    ctx: typer.Context,
    limit: Annotated[int, typer.Option(min=1, max=100_000, help="Newest entries to show.")] = 50,
    json: JsonOption = False,
) -> None:
    """List the audit log: operator actions and refused peers, newest first."""
    if ctx.invoked_subcommand is not None:
        ctx.obj = config  # the subcommand's options add to these
        return
    with node_context(config.settings(), writable=False) as node:
        entries = audit_service.entries(node.db, limit=limit)
    if json:
        print_json(entries)
        return
    table = Table(box=None, pad_edge=False)
    for column in ("时间", "操作人", "操作", "结果", "详情"):
        table.add_column(column, overflow="fold")
    for e in entries:
        at = e.at.strftime("%Y-%m-%d %H:%M:%S")
        style = "red" if e.outcome in {"failed", "refused"} else None
        table.add_row(at, e.actor, e.action, e.outcome, e.detail, style=style)
    console.print(table if entries else "审计日志为空")


@app.command("verify")
@node_command()
def verify(
    config: NodeConfig,
    local: Annotated[
        bool, typer.Option("--local", help="Do not ask the parent for the head it holds.")
    ] = False,
) -> None:
    """Verify the audit log's hash chain, and against the head the parent holds (exit 1 if not)."""
    settings = config.settings()
    head: Head | None = None
    asked = False
    if settings.parent_url and not local:
        try:
            held = parent_head(settings)
        except FederationError as exc:
            warn(f"未能向上级核对链头：{exc}")
        else:
            asked = True
            head = Head(*held) if held else None
    with node_context(settings, writable=False) as node:
        count, breaks = audit_service.verify_log(node.db, parent_head=head)
    if breaks:
        say(f"审计日志未通过校验：{len(breaks)} 处问题（共 {count} 条）")
        for found in breaks:
            say("  " + _BREAKS[found.reason].format(id=found.id) + f" — {found.detail}")
        raise typer.Exit(1)
    said = f"审计日志完好：共 {count} 条，哈希链首尾相连"
    if head is not None:
        said += f"；与上级保存的链头（第 {head.id} 条）一致"
    elif asked:
        said += "；上级尚未收到本节点的链头"
    say(said)


def parent_head(settings: Settings) -> tuple[int, str] | None:
    """The head of this node's chain its parent keeps (GET /api/v1/sync/audit-head)."""

    async def ask() -> tuple[int, str] | None:
        async with parent_connection(settings) as parent:
            return await parent.audit_head()

    return asyncio.run(ask())
