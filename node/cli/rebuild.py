"""`tiersync rebuild --from-parent`: recreate this node's data from its parent's copy."""

import asyncio
from typing import Annotated

import typer
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from node.cli.audit import ActorOption, actor_of, ops_errors
from node.cli.common import JsonOption, UsageError, err_console, node_context, print_json, say
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
        raise UsageError("say where from: tiersync rebuild --from-parent")
    bar = Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
        disable=not err_console.is_terminal,
    )
    with node_context(config.settings(), create=True) as ctx, ops_errors(), bar:
        task = bar.add_task("rebuilding from the parent", total=None)

        def advance(records: int) -> None:
            bar.update(task, description=f"rebuilding from the parent: {records} records")

        report = asyncio.run(run_rebuild(ctx, actor=actor_of(actor), force=force, progress=advance))
    if json:
        print_json(report)
    else:
        say(
            f"rebuilt {report.node} from its parent: {report.records} records, {report.units} "
            f"registry entries in {report.pages} pages; clock now {report.last_hlc}, "
            f"parent's cursor {report.acked}"
        )
