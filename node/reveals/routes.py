"""/api/v1/records/{id}/reveal-request (requester) and /api/v1/reveals (both sides)."""

import uuid

from fastapi import APIRouter, Query

from node.deps import ContextDep, PrincipalDep
from node.records.routes import ERRORS
from node.reveals import service
from schemas.directives import InboxItem, InboxPage
from schemas.reveals import ApproveIn, RefuseIn, RevealPage, RevealRead, RevealRequestIn

asks = APIRouter(prefix="/api/v1/records", tags=["reveals"], responses=ERRORS)
reveals = APIRouter(prefix="/api/v1/reveals", tags=["reveals"], responses=ERRORS)
router = APIRouter()


@asks.post(
    "/{record_id}/reveal-request",
    status_code=201,
    summary="Ask the owner of a record held here (minimised) for it in full, saying why",
)
def ask(
    record_id: uuid.UUID, body: RevealRequestIn, ctx: ContextDep, by: PrincipalDep
) -> RevealRead:
    return service.request(ctx, record_id=record_id, reason=body.reason, by=by)


@reveals.get("", summary="The reveal requests made here, newest first")
def list_(ctx: ContextDep, limit: int = Query(100, ge=1, le=1000)) -> RevealPage:
    return service.list_requests(ctx, limit=limit)


@reveals.get("/inbox", summary="The reveal requests addressed to this node (the owner)")
def inbox(ctx: ContextDep, limit: int = Query(100, ge=1, le=1000)) -> InboxPage:
    return service.inbox(ctx, limit=limit)


@reveals.get("/{request_id}", summary="A request; approved and held: the record in full (audited)")
def show(request_id: uuid.UUID, ctx: ContextDep, by: PrincipalDep) -> RevealRead:
    return service.show(ctx, request_id=request_id, by=by)


@reveals.post("/{request_id}/approve", summary="Owner: send the record, sealed to the requester")
def approve(
    request_id: uuid.UUID, ctx: ContextDep, by: PrincipalDep, body: ApproveIn | None = None
) -> InboxItem:
    note = body.note if body else None
    return service.approve(ctx, request_id=request_id, note=note, by=by)


@reveals.post("/{request_id}/refuse", summary="Owner: refuse, saying why")
def refuse(request_id: uuid.UUID, body: RefuseIn, ctx: ContextDep, by: PrincipalDep) -> InboxItem:
    return service.refuse(ctx, request_id=request_id, reason=body.reason, by=by)


router.include_router(asks)
router.include_router(reveals)
