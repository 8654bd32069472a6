"""Operator actions as the CLI runs them: each one does its work and leaves an audit entry
with who, what and the outcome — also when it fails."""

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from node.audit import service as audit
from node.bundles import service as bundles
from node.bundles.file import read_header
from node.context import NodeContext
from node.digests import conflicts, reports, verify
from node.ops import rebuild, resync
from node.servelock import owning
from node.uplink import parent_connection
from node.views import recount
from schemas.ops import BundleReport, RebuildReport, VerifyReport


class Outcome:
    """What the action reports to the audit log; set `status` and `detail` as it goes."""

    def __init__(self) -> None:
        self.status = "ok"
        self.detail = ""


@contextmanager
def audited(ctx: NodeContext, *, actor: str, action: str, what: str) -> Iterator[Outcome]:
    outcome = Outcome()
    try:
        yield outcome
    except BaseException as exc:
        detail = f"{what}: {exc.__class__.__name__}: {exc}"
        audit.record(ctx.db, actor=actor, action=action, outcome="failed", detail=detail)
        raise
    detail = f"{what}: {outcome.detail}" if outcome.detail else what
    audit.record(ctx.db, actor=actor, action=action, outcome=outcome.status, detail=detail)


def _owning(ctx: NodeContext, what: str) -> Any:
    """Commands that save this node's upstream cursors refuse while it serves (node/servelock)."""
    return owning(ctx.settings.data_dir, what=what, node=ctx.settings.code)


async def run_verify(
    ctx: NodeContext, *, repair: bool, actor: str, transport: Any = None, deep: bool = False
) -> VerifyReport:
    started = time.perf_counter()
    settings = ctx.settings
    what = "verify --repair" if repair else "verify"
    with audited(ctx, actor=actor, action="ops.verify", what=what) as outcome:
        link = None
        if settings.parent_url and settings.parent_token:
            async with parent_connection(settings, transport=transport) as parent:
                link = await verify.verify_upstream(
                    ctx, parent, repair=repair, deep=deep, stats=parent.exchanges
                )
        elif deep:
            verify.scrub(ctx)
        children = reports.check_children(ctx.db, node_code=settings.code)
        mismatched = [c.code for c in children if c.state == "mismatch"]
        # After the repair: what it fetched is counted, and the figures must equal a recount.
        figures = recount.check(ctx.db, floor=len(settings.code), repair=repair)
        with ctx.db.read() as conn:
            standing = conflicts.standing(conn)
            lost = conflicts.lost_alive(conn, link.differences) if link is not None else []
        ok = (link is None or link.remaining == 0) and not mismatched and not figures.drifting
        ok = ok and not standing and not lost
        report = VerifyReport(
            node=settings.code,
            parent=link,
            children=children,
            figures=figures,
            conflicts=standing,
            ok=ok,
            repaired=repair and (bool(link and (link.sent or link.fetched)) or figures.repaired),
            seconds=round(time.perf_counter() - started, 3),
        )
        outcome.status = "ok" if ok else "differences"
        parts = []
        if link is not None:
            parts.append(f"parent: {verify.summary(link)}")
        if mismatched:
            parts.append(f"children differing (verify requested): {', '.join(mismatched)}")
        if standing:
            parts.append(f"{len(standing)} id(s) alive in two subtrees here")
        if lost:
            parts.append(f"{len(lost)} id conflict(s) lost to another subtree, still alive here")
        if figures.cells or figures.grids or figures.visits:
            fixed = "rewritten from the recount" if figures.repaired else "not repaired"
            parts.append(
                f"figures drifted from the records: {figures.cells} roll-up cell(s), "
                f"{figures.grids} grid(s), {figures.visits} visit(s): {fixed}"
            )
        outcome.detail = "; ".join(parts) or "nothing to compare"
    return report


async def run_resync(
    ctx: NodeContext,
    *,
    since: int,
    actor: str,
    transport: Any = None,
    progress: resync.Progress | None = None,
) -> dict[str, Any]:
    with (
        audited(ctx, actor=actor, action="ops.resync", what=f"resync from {since}") as outcome,
        _owning(ctx, "tiersync resync"),
    ):
        result = await resync.resync_up(ctx, since=since, transport=transport, progress=progress)
        outcome.detail = f"{result['records']} records in {result['batches']} batches"
    return result


def run_resync_child(ctx: NodeContext, *, child: str, since: int, actor: str) -> dict[str, Any]:
    what = f"resync --child {child} from {since}"
    with audited(ctx, actor=actor, action="ops.resync_child", what=what) as outcome:
        result = resync.request_child_resync(ctx, child=child, since=since)
        outcome.detail = f"cursor lowered to {result['cursor']}"
    return result


async def run_rebuild(
    ctx: NodeContext,
    *,
    actor: str,
    force: bool = False,
    transport: Any = None,
    progress: rebuild.Progress | None = None,
) -> RebuildReport:
    what = "rebuild --from-parent"
    with (
        audited(ctx, actor=actor, action="ops.rebuild", what=what) as outcome,
        _owning(ctx, "tiersync rebuild"),
    ):
        report = await rebuild.rebuild_from_parent(
            ctx, transport=transport, force=force, progress=progress
        )
        outcome.detail = f"{report.records} records, {report.units} units, acked {report.acked}"
    return report


def run_bundle_export(ctx: NodeContext, *, out: Path, actor: str) -> BundleReport:
    with audited(ctx, actor=actor, action="ops.bundle_export", what=str(out)) as outcome:
        report = bundles.export_up(ctx, out=out)
        outcome.detail = f"{report.records} records ({report.since}, {report.until}]"
    return report


def run_bundle_export_down(ctx: NodeContext, *, child: str, out: Path, actor: str) -> BundleReport:
    what = f"export-down --child {child} {out}"
    with audited(ctx, actor=actor, action="ops.bundle_export_down", what=what) as outcome:
        report = bundles.export_down(ctx, child=child, out=out)
        outcome.detail = f"{report.records} records, cursor {report.cursor}"
    return report


def run_bundle_import(
    ctx: NodeContext, *, path: Path, receipt: Path | None, actor: str
) -> BundleReport:
    """Import an up-bundle (at the parent) or a down-bundle / receipt (at the child)."""
    with audited(ctx, actor=actor, action="ops.bundle_import", what=str(path)) as outcome:
        header, _ = read_header(path)
        if header.get("direction") == "down":
            with _owning(ctx, "tiersync bundle ack"):  # it moves the acked cursor
                report = bundles.import_down(ctx, path=path)
            outcome.detail = f"receipt: cursor {report.cursor}; {report.applied} records stored"
        else:
            report = bundles.import_up(ctx, path=path, receipt=receipt)
            outcome.status = "no-op" if report.applied == 0 and report.already_imported else "ok"
            outcome.detail = (
                f"from {report.source}: {report.applied} applied, {report.stale} "
                f"stale, {report.quarantined} quarantined; cursor {report.cursor}"
            )
    return report
