"""`tiersync verify [--repair]`: compare this node's data with its parent's and its children's
reports by digests; exit 0 when all matches, 1 when differences remain."""

import asyncio
from typing import Annotated

import typer
from rich.tree import Tree

from node.cli.audit import ActorOption, actor_of, ops_errors
from node.cli.common import EXIT_FAILED, JsonOption, console, node_context, print_json
from node.cli.options import NodeConfig, node_command
from node.ops.actions import run_verify
from schemas.ops import VerifyReport

SHOWN = 20


def render(report: VerifyReport) -> Tree:
    verdict = "[green]all matches[/]" if report.ok else "[red]differences found[/]"
    tree = Tree(f"verify {report.node}: {verdict} ({report.seconds:.2f} s)")
    link = report.parent
    if link is not None:
        up = tree.add(
            f"↑ parent {link.peer}: {len(link.differences)} difference(s) in "
            f"{link.checked_kinds} kind(s); {link.requests} requests, {link.bytes} bytes"
        )
        if link.scrubbed_rows:
            up.add(
                f"[yellow]{link.scrubbed_rows} digest row(s) did not match the records here "
                "(changed outside tiersync): re-derived[/]"
            )
        for d in link.differences[:SHOWN]:
            up.add(f"{d.kind} {d.id}: here {d.here or '-'}, parent {d.there or '-'} → {d.action}")
        if len(link.differences) > SHOWN:
            up.add(f"… and {len(link.differences) - SHOWN} more (--json lists all)")
        if link.sent or link.fetched:
            up.add(
                f"repaired: {link.sent} sent up, {link.fetched} fetched; {link.remaining} remaining"
            )
        if link.conflicts:
            up.add(
                f"{link.conflicts} id conflict(s) lost to another unit (see the parent's "
                "/api/v1/sync/conflicts): not moved; while this node's copy is alive, delete "
                "it or move it (tiersync records move)"
            )
    for child in report.children:
        tree.add(f"↓ {child.code}: {child.state} — {child.detail}")
    for c in report.conflicts[:SHOWN]:
        tree.add(
            f"[red]{c.kind} {c.id}: alive in {', '.join(c.units)} (written by "
            f"{', '.join(c.origins)}) — delete or move the copy that should go, then write the "
            "other again[/]"
        )
    figures = report.figures
    if figures is not None and (figures.cells or figures.grids or figures.visits):
        fixed = figures.repaired
        colour, what = ("green", "rewritten") if fixed else ("red", "run verify --repair")
        here = tree.add(
            f"[{colour}]figures differ from a recount of the records: {figures.cells} roll-up "
            f"cell(s), {figures.grids} grid(s), {figures.visits} visit(s) — {what}[/]"
        )
        for cell in figures.examples[:SHOWN]:
            here.add(f"{cell.unit} {cell.kind}: shown {cell.kept}, counted {cell.counted}")
    return tree


@node_command()
def verify(
    config: NodeConfig,
    repair: Annotated[bool, typer.Option("--repair", help="Move what differs, both ways.")] = False,
    deep: Annotated[
        bool,
        typer.Option(
            "--deep",
            help="First re-derive the digests from the records (finds edits "
            "made behind tiersync's back; reads every record here).",
        ),
    ] = False,
    actor: ActorOption = None,
    json: JsonOption = False,
) -> None:
    """Compare this node's data with its parent's and its children's, by digests.

    Up: this node's subtree against the parent's copy of it (the parent is asked). Down: each
    child's subtree against that child's last digest report (sent with its pushes); a child
    that differs is asked, in its next push ack, to run verify itself. Here: the figures every
    view shows (the roll-ups) against a recount of the records (reads every record).

    Exit 0 when all matches (with --repair: once every difference is repaired), 1 when
    differences remain.
    """
    with node_context(config.settings()) as ctx, ops_errors():
        report = asyncio.run(run_verify(ctx, repair=repair, actor=actor_of(actor), deep=deep))
    if json:
        print_json(report)
    else:
        console.print(render(report))
    if not report.ok:
        raise typer.Exit(EXIT_FAILED)
