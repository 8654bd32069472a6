"""Operator commands that move this node's own acked cursor, run by the serving process.

While `tiersync serve` runs, its replicator owns the cursor (node/servelock.py): `resync` and
`bundle ack` from a second process would race its acks. So the CLI sends them to the serving
node (`/api/v1/node/...`, node/ops/node_routes.py), which runs them between two push rounds of
its own replicator (`Replicator.resend`, `Replicator.exclusive`).
"""

import asyncio
import contextlib
from pathlib import Path
from typing import Any

from federation.errors import FederationError
from node.bundles import service as bundles
from node.bundles.file import BundleRefused
from node.context import NodeContext
from node.errors import BadRequest, FieldError, Invalid, NotFound, Unavailable
from node.ops.resync import complete_requests
from schemas.ops import BundleReport, ResyncReport

INCOMING = "incoming"  # under the data dir: where the CLI puts a bundle for the serving node


def incoming_dir(data_dir: Path) -> Path:
    return data_dir / INCOMING


def _replicator(ctx: NodeContext) -> Any:
    if ctx.replicator is None:
        raise BadRequest("this node has no parent (TIERSYNC_PARENT_URL, TIERSYNC_PARENT_TOKEN)")
    return ctx.replicator


def _stats(ctx: NodeContext) -> tuple[int, int]:
    stats = getattr(ctx.parent, "stats", None)
    return (getattr(stats, "batches", 0), getattr(stats, "wire_bytes", 0))


async def resync(ctx: NodeContext, *, since: int) -> ResyncReport:
    """Rewind to `since` and push until the parent holds the whole log, in this process."""
    replicator = _replicator(ctx)
    batches, wire = _stats(ctx)
    try:
        pushed = await replicator.resend(since)
    except FederationError as exc:
        raise Unavailable(
            f"parent: {exc}; the acked cursor is at {since} now: this node resends from there "
            "on its own once the parent answers"
        ) from None
    note = f"resent {pushed} records from {since}"
    done = await asyncio.to_thread(complete_requests, ctx, note=note) if since == 0 else []
    after_batches, after_wire = _stats(ctx)
    return ResyncReport(
        since=since,
        records=pushed,
        batches=after_batches - batches,
        bytes=after_wire - wire,
        acked=await asyncio.to_thread(replicator.store.acked),
        requests_done=done,
        via="serving node",
    )


async def take_receipt(ctx: NodeContext, *, file: str) -> BundleReport:
    """Import a down bundle (the parent's receipt) the CLI put in `incoming/`; the file is
    removed afterwards, taken or refused."""
    path = incoming_dir(ctx.settings.data_dir) / file
    if not path.is_file():
        raise NotFound(f"no bundle {file!r} in {incoming_dir(ctx.settings.data_dir)}")
    replicator = ctx.replicator
    try:
        if replicator is None:  # no parent configured: import_down refuses it, naming why
            return await asyncio.to_thread(bundles.import_down, ctx, path=path)
        report: BundleReport = await replicator.exclusive(
            lambda: bundles.import_down(ctx, path=path)
        )
        return report
    except BundleRefused as exc:
        raise Invalid(f"bundle refused: {exc}", [FieldError("file", str(exc))]) from None
    finally:
        with contextlib.suppress(OSError):
            path.unlink()
