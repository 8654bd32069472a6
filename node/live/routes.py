"""/api/v1/live/incidents: the live incident feed of a subtree as server-sent events.

    event: snapshot   the latest incidents (first, unless the client resumes)
    event: incident   one new, changed or deleted incident version; `id:` is its log position
    : keepalive       a comment every `heartbeat_s`, so proxies and clients see the link alive

A client that reconnects with `Last-Event-ID` is replayed what it missed (or sent a fresh
snapshot when that is too much). Like the views, it needs the right `views.read`
(node/access/rights.py), and a user confined to units sees only theirs.
"""

import asyncio
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Header, Query
from fastapi.responses import StreamingResponse
from pydantic import BaseModel

from node.context import NodeContext
from node.deps import ContextDep, PrincipalDep
from node.errors import Unavailable
from node.live.broadcaster import Broadcaster
from node.records.routes import ERRORS
from node.views.frame import ensure_known, open_scope
from schemas.codes import UnitCode

router = APIRouter(prefix="/api/v1/live", tags=["live"], responses=ERRORS)
RETRY_MS = 2000


def sse(event: str, data: BaseModel, event_id: int | None = None) -> str:
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}event: {event}\ndata: {data.model_dump_json()}\n\n"


def broadcaster_of(ctx: NodeContext) -> Broadcaster:
    live = ctx.live_feed
    if not isinstance(live, Broadcaster):
        raise Unavailable("the live feed is not running on this node")
    return live


def _resume_from(last_event_id: str | None) -> int | None:
    text = (last_event_id or "").strip()
    return int(text) if text.isdigit() and len(text) <= 20 else None


async def _stream(live: Broadcaster, unit: str, resume: int | None) -> AsyncIterator[str]:
    # Subscribed before the snapshot is read, so nothing falls in between; and only once the
    # response runs, so a client gone before it starts leaves no subscription behind.
    sub = live.subscribe(unit)
    try:
        yield f"retry: {RETRY_MS}\n\n"
        sent = -1
        missed = await live.replay(sub.unit, resume) if resume is not None else None
        if missed is None:
            snapshot = await live.snapshot(sub.unit)
            sent = snapshot.head
            yield sse("snapshot", snapshot, snapshot.head)
        else:
            sent = resume or 0
            for item in missed:
                sent = max(sent, item.seq)
                yield sse("incident", item, item.seq)
        while True:
            try:
                async with asyncio.timeout(live.heartbeat_s):
                    queued = await sub.queue.get()
            except TimeoutError:
                yield ": keepalive\n\n"
                continue
            if queued is None:  # the node is stopping, or this client fell behind
                return
            if queued.seq > sent:  # already sent in the snapshot or the replay
                sent = queued.seq
                yield sse("incident", queued, queued.seq)
    finally:
        live.unsubscribe(sub)


@router.get(
    "/incidents",
    summary="Live incidents of a subtree (server-sent events)",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": "an event stream"}},
)
async def incidents(
    ctx: ContextDep,
    by: PrincipalDep,
    unit: UnitCode | None = Query(None, description="root of the subtree; default: this node's"),
    last_event_id: Annotated[str | None, Header(description="resume after this position")] = None,
) -> StreamingResponse:
    live = broadcaster_of(ctx)
    scope = open_scope(ctx, by.confine(unit))  # 403 outside this node's subtree
    await asyncio.to_thread(_check_known, ctx, scope.unit)  # 404 for an unknown unit
    return StreamingResponse(
        _stream(live, scope.unit, _resume_from(last_event_id)),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


def _check_known(ctx: NodeContext, unit: str) -> None:
    with ctx.db.read() as conn:
        ensure_known(conn, unit)
