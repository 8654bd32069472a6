"""/api/v1/node: operator commands run by the serving node itself (node/ops/served.py), for
the CLI while `tiersync serve` holds the node (right `ops.run`). Each leaves an audit entry
naming the token's user and who ran the command."""

from fastapi import APIRouter

from node.deps import ContextDep, PrincipalDep
from node.ops import served
from node.ops.actions import audited
from node.records.routes import ERRORS
from schemas.ops import BundleReport, ReceiptRequest, ResyncReport, ResyncRequest

router = APIRouter(prefix="/api/v1/node", tags=["operator tools"], responses=ERRORS | {401: {}})


def _by(requested_by: str | None) -> str:
    return f" (tiersync CLI, {requested_by})" if requested_by else " (tiersync CLI)"


@router.post("/resync", summary="Resend this node's log to its parent (tiersync resync)")
async def resync(body: ResyncRequest, ctx: ContextDep, principal: PrincipalDep) -> ResyncReport:
    what = f"resync from {body.since} by the serving node" + _by(body.requested_by)
    with audited(ctx, actor=principal.actor, action="ops.resync", what=what) as outcome:
        report = await served.resync(ctx, since=body.since)
        outcome.detail = f"{report.records} records in {report.batches} batches"
    return report


@router.post("/receipt", summary="Take the parent's receipt or down bundle (tiersync bundle ack)")
async def receipt(body: ReceiptRequest, ctx: ContextDep, principal: PrincipalDep) -> BundleReport:
    what = f"{body.file} by the serving node" + _by(body.requested_by)
    with audited(ctx, actor=principal.actor, action="ops.bundle_import", what=what) as outcome:
        report = await served.take_receipt(ctx, file=body.file)
        outcome.detail = f"receipt: cursor {report.cursor}; {report.applied} records stored"
    return report
