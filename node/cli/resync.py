"""`tiersync resync`: send this node's change log to its parent again; `--child CODE` at a
parent makes that child do so."""

import asyncio
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from node.cli.audit import ActorOption, TokenOption, actor_of, ops_errors
from node.cli.common import JsonOption, err_console, node_context, report
from node.cli.options import NodeConfig, node_command
from node.ops.actions import run_resync, run_resync_child
from schemas.codes import check_code


def _code(value: str | None) -> str | None:
    try:
        return None if value is None else check_code(value)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None


@node_command()
def resync(
    config: NodeConfig,
    from_: Annotated[
        int, typer.Option("--from", min=0, help="Log position to resend from (default: start).")
    ] = 0,
    child: Annotated[
        str | None,
        typer.Option("--child", callback=_code, help="At a parent: make this child resend."),
    ] = None,
    actor: ActorOption = None,
    token: TokenOption = None,
    json: JsonOption = False,
) -> None:
    """Re-send this node's change log to its parent from the start (or --from CURSOR).

    Idempotent: what the parent already holds is applied as stale. With --child CODE, run at
    a parent: lowers that child's cursor here, so its next push is answered 409 and it resends
    from there (and a resync directive is issued where the directives domain provides one).
    While the node serves, the serving node resends (give --token); without one, refused.
    """
    who = actor_of(actor)
    with node_context(config.settings()) as ctx, ops_errors():
        if child is not None:
            result = run_resync_child(ctx, child=child, since=from_, actor=who)
            directive = (
                f"（已下达重新上报指令 {result['directive']}）" if result["directive"] else ""
            )
            report(
                json,
                result,
                f"下级 {child} 在本节点的游标已改为 {result['cursor']}：其下次上报时将从该处"
                f"重新发送日志{directive}",
            )
            return
        columns = (TextColumn("重新上报"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
        bar = Progress(
            *columns, console=err_console, transient=True, disable=not err_console.is_terminal
        )
        with bar:
            task = bar.add_task("resync", total=None)

            def advance(done: int, total: int) -> None:
                bar.update(task, completed=done, total=total)

            done = asyncio.run(
                run_resync(ctx, since=from_, actor=who, progress=advance, token=token)
            )
    report(
        json,
        done,
        "由运行中的节点执行（tiersync serve）" if done.get("via") == "serving node" else None,
        f"已重新上报 {done['records']} 条记录，分 {done['batches']} 批（{done['bytes']} 字节）；"
        f"上级已持有日志至 {done['acked']}",
    )
