"""`tiersync bundle ...`: offline transfer on a USB stick, for villages with no link."""

from pathlib import Path
from typing import Annotated

import typer

from node.bundles.service import new_name
from node.cli.audit import ActorOption, TokenOption, actor_of, ops_errors
from node.cli.common import JsonOption, node_context, report
from node.cli.options import NodeConfig, node_command
from node.ops import actions
from schemas.codes import check_code
from schemas.ops import BundleReport

app = typer.Typer(
    help="Offline bundles: changes up, receipts and directives down.", no_args_is_help=True
)
FileArg = Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="The bundle file.")]


def _code(value: str) -> str:
    try:
        return check_code(value)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None


_DIRECTIONS = {"up": "上行", "down": "下行"}


def _show(done: BundleReport, verb: str, json: bool) -> None:
    direction = _DIRECTIONS.get(done.direction, done.direction)
    cursor = f"；游标现为 {done.cursor}" if done.cursor else ""
    report(
        json,
        done,
        f"{verb} {done.file}：{direction}离线包 {done.source} → {done.target}，"
        f"{done.records} 条记录，日志区间 ({done.since}, {done.until}]，sha256 "
        f"{done.sha256[:16]}…",
        f"写入 {done.applied} 条，本节点已有 {done.stale} 条，隔离 {done.quarantined} 条{cursor}"
        if done.applied or done.stale or done.quarantined
        else None,
        "此离线包此前已导入：未作任何更改" if done.already_imported and not done.applied else None,
        f"给 {done.source} 的回执已写入 {done.receipt}：带回该节点并在那里运行 "
        "`tiersync bundle ack`"
        if done.receipt
        else None,
    )


@app.command("export")
@node_command()
def export(
    config: NodeConfig,
    out: Annotated[Path | None, typer.Option("--out", help="Where to write.")] = None,
    actor: ActorOption = None,
    json: JsonOption = False,
) -> None:
    """Write the changes the parent has not acknowledged to one signed, compressed file.

    The acked cursor does not move: the parent's receipt (or the next online push) does that.
    """
    settings = config.settings()
    with node_context(settings) as ctx, ops_errors():
        path = out or new_name(settings.code, "up")
        done = actions.run_bundle_export(ctx, out=path, actor=actor_of(actor))
    _show(done, "已写出", json)


@app.command("import")
@node_command()
def import_(
    config: NodeConfig,
    file: FileArg,
    receipt_out: Annotated[
        Path | None,
        typer.Option(
            "--receipt-out",
            "--directives-out",
            help="Where to write the receipt (with directives) to carry back.",
        ),
    ] = None,
    actor: ActorOption = None,
    token: TokenOption = None,
    json: JsonOption = False,
) -> None:
    """Apply a bundle: a child's changes at its parent, or a receipt at the child.

    At a parent the child's bundle is applied exactly like its pushes (idempotent,
    jurisdiction checked, cursor advanced) and a receipt is written to carry back. At a child
    it takes the parent's receipt or down-bundle (same as `bundle ack`).
    """
    with node_context(config.settings()) as ctx, ops_errors():
        receipt = receipt_out or file.with_name(file.name + ".receipt")
        done = actions.run_bundle_import(
            ctx, path=file, receipt=receipt, actor=actor_of(actor), token=token
        )
    _show(done, "已导入", json)


@app.command("ack")
@node_command()
def ack(
    config: NodeConfig,
    file: FileArg,
    actor: ActorOption = None,
    token: TokenOption = None,
    json: JsonOption = False,
) -> None:
    """At a child: take the receipt the parent wrote (advances the acked cursor).

    While the node serves, the serving node takes it (give --token); without one, refused."""
    with node_context(config.settings()) as ctx, ops_errors():
        done = actions.run_bundle_import(
            ctx, path=file, receipt=None, actor=actor_of(actor), token=token
        )
    _show(done, "已接收回执", json)


@app.command("export-down")
@node_command()
def export_down(
    config: NodeConfig,
    child: Annotated[str, typer.Option("--child", callback=_code, help="The child unit.")],
    out: Annotated[Path | None, typer.Option("--out", help="Where to write.")] = None,
    actor: ActorOption = None,
    json: JsonOption = False,
) -> None:
    """At a parent: write what it holds for a child from above, with its receipt."""
    with node_context(config.settings()) as ctx, ops_errors():
        path = out or new_name(child, "down")
        done = actions.run_bundle_export_down(ctx, child=child, out=path, actor=actor_of(actor))
    _show(done, "已写出", json)
