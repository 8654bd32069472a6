"""/api/v1/directives (operators) and /api/v1/sync/directives (children's long poll)."""

import uuid
from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request, Response

from federation.codec import encode
from node.context import NodeContext
from node.deps import ContextDep, PrincipalDep
from node.directives import feed, seals, service
from node.principal import Principal
from node.records.routes import ERRORS
from node.sync.receive import check_protocol
from node.sync.routes import ChildDep
from schemas.directives import (
    DirectiveCreate,
    DirectiveFeed,
    DirectivePage,
    DirectiveRead,
    InboxItem,
    InboxPage,
    NoteIn,
    ReasonIn,
)
from schemas.storable import INT64_MAX

operators = APIRouter(prefix="/api/v1/directives", tags=["directives"], responses=ERRORS)
children = APIRouter(prefix="/api/v1/sync", tags=["sync"], responses=ERRORS | {401: {}})
router = APIRouter()


@operators.post("", status_code=201, summary="Issue a directive to units of this subtree")
def issue(body: DirectiveCreate, ctx: ContextDep, by: PrincipalDep) -> DirectiveRead:
    directive_id = service.issue_directive(
        ctx.db, node=ctx.identity, body=body, wake=service.wake_of(ctx), actor=by.actor
    )
    return service.show_directive(ctx.db, node=ctx.identity, directive_id=directive_id)


@operators.get("", summary="Directives issued here, or with inbox=true those received here")
def list_(
    ctx: ContextDep,
    inbox: bool = Query(False, description="true: what this node received as a target"),
    limit: int = Query(100, ge=1, le=1000),
) -> DirectivePage | InboxPage:
    if inbox:
        return service.inbox(ctx.db, node=ctx.identity, limit=limit)
    return service.list_issued(ctx.db, node=ctx.identity, limit=limit)


@operators.get("/{directive_id}", summary="Progress: counts, drill-down by child, laggards")
def show(directive_id: uuid.UUID, ctx: ContextDep) -> DirectiveRead:
    return service.show_directive(ctx.db, node=ctx.identity, directive_id=directive_id)


@operators.post("/{directive_id}/ack", summary="This target (or a unit it holds) accepted it")
def ack(
    directive_id: uuid.UUID, ctx: ContextDep, by: PrincipalDep, body: NoteIn | None = None
) -> InboxItem:
    return _answer(service.acknowledge, directive_id, ctx, by, body)


@operators.post("/{directive_id}/done", summary="This target (or a unit it holds) completed it")
def done(
    directive_id: uuid.UUID, ctx: ContextDep, by: PrincipalDep, body: NoteIn | None = None
) -> InboxItem:
    return _answer(service.complete, directive_id, ctx, by, body)


def _answer(
    report: Callable[..., InboxItem],
    directive_id: uuid.UUID,
    ctx: NodeContext,
    by: Principal,
    body: NoteIn | None,
) -> InboxItem:
    """An acknowledgement or a completion, by the token's user, for the units it names."""
    note, units = (body.note, body.units) if body else (None, None)
    return report(
        ctx.db, node=ctx.identity, directive_id=directive_id, note=note, actor=by.actor, units=units
    )


@operators.post("/{directive_id}/reject", summary="Refuse a correction/resync request, saying why")
def reject(directive_id: uuid.UUID, body: ReasonIn, ctx: ContextDep, by: PrincipalDep) -> InboxItem:
    return service.reject(
        ctx.db, node=ctx.identity, directive_id=directive_id, note=body.note, actor=by.actor
    )


@operators.post("/{directive_id}/cancel", summary="Cancel (at the issuer); travels down")
def cancel(directive_id: uuid.UUID, ctx: ContextDep, by: PrincipalDep) -> DirectiveRead:
    service.cancel_directive(
        ctx.db,
        node=ctx.identity,
        directive_id=directive_id,
        wake=service.wake_of(ctx),
        actor=by.actor,
    )
    return service.show_directive(ctx.db, node=ctx.identity, directive_id=directive_id)


@operators.post(
    "/{directive_id}/supersede", status_code=201, summary="Replace by a new directive (issuer)"
)
def supersede(
    directive_id: uuid.UUID, body: DirectiveCreate, ctx: ContextDep, by: PrincipalDep
) -> DirectiveRead:
    new_id = service.supersede_directive(
        ctx.db,
        node=ctx.identity,
        directive_id=directive_id,
        body=body,
        wake=service.wake_of(ctx),
        actor=by.actor,
    )
    return service.show_directive(ctx.db, node=ctx.identity, directive_id=new_id)


@children.get(
    "/directives",
    summary="A child long-polls for directives addressed to its subtree (docs/protocol.md)",
    response_model=DirectiveFeed,
)
async def pull(
    request: Request,
    ctx: ContextDep,
    child: ChildDep,
    since: int = Query(
        0, ge=0, le=INT64_MAX, description="parent log position the child holds up to"
    ),
    wait: float = Query(0, ge=0, le=feed.MAX_WAIT_S, description="seconds to hold the request"),
    accept_encoding: Annotated[str, Header()] = "",
    x_tiersync_protocol: Annotated[int | None, Header()] = None,
) -> Response:
    if x_tiersync_protocol is not None:
        check_protocol(x_tiersync_protocol)
    found = await feed.wait_for_feed(
        ctx.db,
        ctx.directive_signal,
        child=child,
        since=since,
        wait_s=wait,
        gone=request.is_disconnected,
        signer=seals.signer_of(ctx),
    )
    encoded = encode(found.model_dump(mode="json"))
    if "Content-Encoding" in encoded.headers and "zstd" not in accept_encoding:
        return Response(found.model_dump_json(), media_type="application/json")
    return Response(encoded.body, media_type="application/json", headers=encoded.headers)


router.include_router(operators)
router.include_router(children)
