"""`tiersync bundle ...`: offline transfer on a USB stick, for villages with no link."""

from pathlib import Path
from typing import Annotated

import typer

from node.bundles.service import new_name
from node.cli.audit import ActorOption, TokenOption, actor_of, ops_errors
from node.cli.common import JsonOption, node_context, print_json, say
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


def _show(report: BundleReport, verb: str, json: bool) -> None:
    if json:
        print_json(report)
        return
    say(
        f"{verb} {report.file}: {report.direction} bundle {report.source} → {report.target}, "
        f"{report.records} records, log ({report.since}, {report.until}], sha256 "
        f"{report.sha256[:16]}…"
    )
    if report.applied or report.stale or report.quarantined:
        say(
            f"applied {report.applied}, already held {report.stale}, quarantined "
            f"{report.quarantined}" + (f"; cursor now {report.cursor}" if report.cursor else "")
        )
    if report.already_imported and not report.applied:
        say("this bundle was imported before: nothing changed")
    if report.receipt:
        say(
            f"receipt for {report.source} written to {report.receipt}: carry it back and run "
            "`tiersync bundle ack` there"
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
        report = actions.run_bundle_export(ctx, out=path, actor=actor_of(actor))
    _show(report, "wrote", json)


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
        report = actions.run_bundle_import(
            ctx, path=file, receipt=receipt, actor=actor_of(actor), token=token
        )
    _show(report, "imported", json)


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
        report = actions.run_bundle_import(
            ctx, path=file, receipt=None, actor=actor_of(actor), token=token
        )
    _show(report, "took receipt", json)


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
        report = actions.run_bundle_export_down(ctx, child=child, out=path, actor=actor_of(actor))
    _show(report, "wrote", json)
