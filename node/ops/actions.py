"""Operator actions as the CLI runs them: each one does its work and leaves an audit entry
with who, what and the outcome — also when it fails."""

import asyncio
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
from node.ops import rebuild, resync, via_serving
from node.servelock import NodeBusy, owning
from node.uplink import parent_connection
from node.views import recount
from schemas.ops import BundleReport, RebuildReport, ResyncReport, VerifyReport


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


def _delegable(
    ctx: NodeContext, busy: NodeBusy, *, actor: str, action: str, what: str, token: str | None
) -> str:
    """The token to hand the command to the serving node with; else the refusal, audited."""
    refusal: Exception = busy
    if via_serving.serving_url(busy) is not None:
        if token:
            return token
        refusal = via_serving.need_token(busy, command=what, node=ctx.settings.code)
    detail = f"{what}: {refusal.__class__.__name__}: {refusal}"
    audit.record(ctx.db, actor=actor, action=action, outcome="failed", detail=detail)
    raise refusal from None


async def run_verify(
    ctx: NodeContext, *, repair: bool, actor: str, transport: Any = None, deep: bool = False
) -> VerifyReport:
    started = time.perf_counter()
    settings = ctx.settings
    what = "verify --repair" if repair else "verify"
    with audited(ctx, actor=actor, action="ops.verify", what=what) as outcome:
        link = None
        if settings.parent_url and settings.parent_token:
            async with parent_connection(
                settings, transport=transport, clock=ctx.db.now_ms
            ) as parent:
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
    token: str | None = None,
) -> dict[str, Any]:
    """Resend the log from `since`; while the node serves, the serving node does it (with an
    operator's `token`), else the command refuses."""
    what = f"resync from {since}"
    try:
        with (
            _owning(ctx, "tiersync resync"),
            audited(ctx, actor=actor, action="ops.resync", what=what) as outcome,
        ):
            result = await resync.resync_up(
                ctx, since=since, transport=transport, progress=progress
            )
            outcome.detail = f"{result['records']} records in {result['batches']} batches"
        return result
    except NodeBusy as busy:
        key = _delegable(ctx, busy, actor=actor, action="ops.resync", what=what, token=token)
        body = {"since": since, "requested_by": actor}
        answer = await asyncio.to_thread(
            via_serving.post, ctx.settings, busy, path="/api/v1/node/resync", body=body, token=key
        )
        return ResyncReport.model_validate(answer).model_dump()


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


def _receipt_by_serving(
    ctx: NodeContext, busy: NodeBusy, *, path: Path, actor: str, token: str | None
) -> BundleReport:
    what = f"bundle ack {path}"
    key = _delegable(ctx, busy, actor=actor, action="ops.bundle_import", what=what, token=token)
    name = via_serving.hand_over(ctx.settings, path)
    try:
        body = {"file": name, "requested_by": f"{actor}, {path}"}
        answer = via_serving.post(
            ctx.settings, busy, path="/api/v1/node/receipt", body=body, token=key
        )
    finally:  # the serving node removes what it took; this, what it never got
        (via_serving.incoming_dir(ctx.settings.data_dir) / name).unlink(missing_ok=True)
    return BundleReport.model_validate(answer)


def run_bundle_import(
    ctx: NodeContext, *, path: Path, receipt: Path | None, actor: str, token: str | None = None
) -> BundleReport:
    """Import an up-bundle (at the parent) or a down-bundle / receipt (at the child); a
    receipt while the node serves is taken by the serving node (with an operator's `token`)."""
    if _direction(ctx, path=path, actor=actor) == "down":
        try:
            with (
                _owning(ctx, "tiersync bundle ack"),  # it moves the acked cursor
                audited(ctx, actor=actor, action="ops.bundle_import", what=str(path)) as outcome,
            ):
                report = bundles.import_down(ctx, path=path)
                outcome.detail = f"receipt: cursor {report.cursor}; {report.applied} records stored"
            return report
        except NodeBusy as busy:
            return _receipt_by_serving(ctx, busy, path=path, actor=actor, token=token)
    with audited(ctx, actor=actor, action="ops.bundle_import", what=str(path)) as outcome:
        report = bundles.import_up(ctx, path=path, receipt=receipt)
        outcome.status = "no-op" if report.applied == 0 and report.already_imported else "ok"
        outcome.detail = (
            f"from {report.source}: {report.applied} applied, {report.stale} "
            f"stale, {report.quarantined} quarantined; cursor {report.cursor}"
        )
    return report


def _direction(ctx: NodeContext, *, path: Path, actor: str) -> str:
    """The bundle's direction (`up` or `down`); an unreadable file is audited as failed."""
    try:
        header, _ = read_header(path)
    except Exception as exc:
        detail = f"{path}: {exc.__class__.__name__}: {exc}"
        audit.record(
            ctx.db, actor=actor, action="ops.bundle_import", outcome="failed", detail=detail
        )
        raise
    return str(header.get("direction"))
