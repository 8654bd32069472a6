"""/api/v1/sync: what children call (push, cursor) and what operators read."""

from functools import partial
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Header, Query, Request
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from federation.codec import BodyTooLarge, decode_body
from federation.crypto import suite
from federation.identity import PARENT_REVOKED, Identity
from federation.signing import is_signed
from node.audit import repository as audit_repository
from node.context import NodeContext
from node.db import as_utc
from node.deps import ContextDep
from node.errors import FieldError, Forbidden, Invalid, TooLarge
from node.records import repository as records_repository
from node.records.routes import ERRORS
from node.sync import repository
from node.sync.intake import Refused, parse_push
from node.sync.receive import CursorGap, check_protocol, receiver
from node.units.keys import trusted_ca
from node.units.trust import ChildTrust
from schemas.errors import details_from_validation_error
from schemas.inspect import PAGE_DEFAULT, PAGE_MAX, ConflictPage, QuarantinePage
from schemas.personal import masked
from schemas.sync import CursorInfo, PushAck, PushBatch


class ParentRevoked(Forbidden):
    code = PARENT_REVOKED


router = APIRouter(prefix="/api/v1/sync", tags=["sync"], responses=ERRORS | {401: {}, 400: {}})


def bearer(authorization: str | None) -> str | None:
    if authorization and authorization.lower().startswith("bearer "):
        return authorization[7:].strip()
    return None


def child_trust(ctx: NodeContext) -> ChildTrust:
    settings = ctx.settings
    return ChildTrust(
        db=ctx.db,
        suite=suite(settings.crypto),
        window_s=settings.replay_window_s,
        accept_tokens=settings.accept_child_tokens,
        nonces=ctx.nonces,
        ca=partial(trusted_ca, settings.data_dir, settings.parent_ca),
    )


async def authenticated_child(request: Request, ctx: ContextDep) -> str:
    """The child a request comes from: signed with its registered key (link 2), or its
    enrolment code as a bearer token while it has not upgraded (link 1)."""
    trust = child_trust(ctx)
    if is_signed(request.headers):
        body = await request.body()
        child = await run_in_threadpool(
            partial(
                trust.signed,
                headers=request.headers,
                method=request.method,
                path=request.url.path,
                query=request.url.query,
                body=body,
            )
        )
    else:
        token = bearer(request.headers.get("authorization"))
        child = await run_in_threadpool(trust.bearer, token)
    revoked = Identity.of(ctx.settings.data_dir, ctx.settings.crypto).revoked()
    if revoked is not None:  # revocation travels down: this node's children are told
        raise ParentRevoked(
            f"node {ctx.settings.code} was revoked above it and can no longer vouch for its "
            f"subtree: {revoked.get('reason', '')}"
        )
    return child


ChildDep = Annotated[str, Depends(authenticated_child)]


@router.post("/enrol", summary="A child exchanges its enrolment code for its key's registration")
async def enrol(request: Request, ctx: ContextDep) -> dict[str, Any]:
    body = _json_object(await request.body())
    token = bearer(request.headers.get("authorization"))
    settings = ctx.settings
    key = Identity.of(settings.data_dir, settings.crypto).key().public
    return await run_in_threadpool(
        partial(
            child_trust(ctx).enrol,
            token,
            body,
            parent=settings.code,
            key=key,
            hash_key_id=ctx.hash_key_id,
        )
    )


@router.post("/key", summary="A child replaces its key; the new key endorsed by the old one")
async def rotate_key(request: Request, ctx: ContextDep, child: ChildDep) -> dict[str, Any]:
    body = _json_object(await request.body())
    return await run_in_threadpool(child_trust(ctx).rotate, child, body)


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError:
        value = None
    if not isinstance(value, dict):
        raise Invalid("the body must be a JSON object", [FieldError(None, "not a JSON object")])
    return value


@router.post("/push", summary="A child pushes a slice of its change log (docs/protocol.md)")
async def push(
    request: Request,
    ctx: ContextDep,
    child: ChildDep,
    x_tiersync_protocol: Annotated[int | None, Header()] = None,
) -> PushAck:
    if x_tiersync_protocol is not None:
        check_protocol(x_tiersync_protocol)
    sequencer = ctx.push_sequencer
    async with sequencer.arrival(child):
        batch, refused = _parse_batch(
            await request.body(),
            request.headers.get("content-encoding"),
            max_size=ctx.settings.max_body_bytes,
        )
        rx = receiver(ctx)
        cursor_of = partial(run_in_threadpool, rx.cursor_of, child)
        async with sequencer.turn(child, batch.since, cursor_of) as applied:
            try:
                ack = await run_in_threadpool(
                    rx.apply_push, child=child, batch=batch, refused=refused
                )
            except CursorGap as gap:
                applied(gap.cursor)
                raise
            applied(ack.cursor)
            return ack


def _parse_batch(
    body: bytes, content_encoding: str | None, *, max_size: int
) -> tuple[PushBatch, list[Refused]]:
    """The batch (its envelope must be valid: else 422) and its records that do not parse."""
    try:
        decoded = decode_body(body, content_encoding, max_size=max_size)
        return parse_push(decoded)
    except BodyTooLarge as exc:
        raise TooLarge(f"push body: {exc}") from exc
    except ValueError as exc:
        if isinstance(exc, ValidationError):
            details = [FieldError(d.field, d.reason) for d in details_from_validation_error(exc)]
        else:
            details = [FieldError(None, str(exc))]
        raise Invalid("push body is not a valid batch", details[:20]) from exc


@router.get("/cursor", summary="Where this node stands with the calling child's log")
async def cursor(ctx: ContextDep, child: ChildDep) -> CursorInfo:
    return await run_in_threadpool(receiver(ctx).standing_of, child)


@router.get("/audit-head", summary="The head of the calling child's audit chain held here")
def audit_head(ctx: ContextDep, child: ChildDep) -> dict[str, Any]:
    with ctx.db.read() as conn:
        head = audit_repository.child_head(conn, child)
    return {"id": head.id, "hash": head.hash} if head else {"id": 0, "hash": ""}


Offset = Annotated[int, Query(ge=0, le=2**31 - 1, description="entries to skip")]
Limit = Annotated[int, Query(ge=1, le=PAGE_MAX, description=f"at most {PAGE_MAX}")]


@router.get("/quarantine", summary="Records set aside with their reason, newest first")
def quarantined(ctx: ContextDep, offset: Offset = 0, limit: Limit = PAGE_DEFAULT) -> QuarantinePage:
    with ctx.db.read() as conn:
        rows = repository.list_quarantined(conn, offset=offset, limit=limit)
        total = repository.quarantined_count(conn)
    items = [_item(r._mapping, "payload") for r in rows]
    return QuarantinePage(items=items, total=total, offset=offset, limit=limit)


@router.get("/conflicts", summary="Versions that lost to a concurrent version, newest first")
def conflicts(ctx: ContextDep, offset: Offset = 0, limit: Limit = PAGE_DEFAULT) -> ConflictPage:
    with ctx.db.read() as conn:
        rows = records_repository.list_conflicts(conn, offset=offset, limit=limit)
        total = records_repository.conflicts_count(conn)
    items = [_item(r._mapping, "lost_data") for r in rows]
    return ConflictPage(items=items, total=total, offset=offset, limit=limit)


def _item(mapping: Any, field: str) -> dict[str, Any]:
    item = dict(mapping)
    item["at"] = as_utc(item["at"])
    return _unrevealed(item, field)


def _unrevealed(item: dict[str, Any], field: str) -> dict[str, Any]:
    """Record data an operator lists here is masked like every record the API returns:
    `payload` is a pushed record (its `data` inside), `lost_data` the data itself."""
    value = item.get(field)
    if not isinstance(value, dict):
        return item
    inner = value.get("data") if field == "payload" else value
    if isinstance(inner, dict):
        shown, paths = masked(str(item.get("kind") or ""), inner)
        item[field] = {**value, "data": shown} if field == "payload" else shown
        item["masked"] = paths
    return item
