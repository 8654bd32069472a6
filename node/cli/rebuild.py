"""`tiersync rebuild --from-parent`: recreate this node's data from its parent's copy."""

import asyncio
from typing import Annotated

import typer
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from node.cli.audit import ActorOption, actor_of, ops_errors
from node.cli.common import JsonOption, UsageError, err_console, node_context, report
from node.cli.options import NodeConfig, node_command
from node.ops.actions import run_rebuild


@node_command()
def rebuild(
    config: NodeConfig,
    from_parent: Annotated[
        bool, typer.Option("--from-parent", help="Take the data from the parent's copy.")
    ] = False,
    force: Annotated[
        bool, typer.Option("--force", help="Merge into a node that still holds records.")
    ] = False,
    actor: ActorOption = None,
    json: JsonOption = False,
) -> None:
    """Restore a node whose data was lost from its parent's copy of its subtree.

    Records (origin and version kept) and the unit registry come back; the node continues
    with versions above everything it had issued. Run it on the new, empty node with its usual
    configuration (the same TIERSYNC_PARENT_TOKEN).
    """
    if not from_parent:
        raise UsageError("请说明从何处重建：tiersync rebuild --from-parent")
    bar = Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
        disable=not err_console.is_terminal,
    )
    with node_context(config.settings(), create=True) as ctx, ops_errors(), bar:
        task = bar.add_task("正在从上级重建", total=None)

        def advance(records: int) -> None:
            bar.update(task, description=f"正在从上级重建：已取回 {records} 条记录")

        done = asyncio.run(run_rebuild(ctx, actor=actor_of(actor), force=force, progress=advance))
    report(
        json,
        done,
        f"已从上级重建节点 {done.node}：{done.records} 条记录、{done.units} 个单位登记，"
        f"分 {done.pages} 页取回；时钟现为 {done.last_hlc}，上级已确认至 {done.acked}",
    )
