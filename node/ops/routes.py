"""/api/v1/ops: what a child asks its parent about its own subtree besides the digest walk
(node/digests/routes.py): records by id, repair, export (docs/protocol.md, "Operator
exchanges"). Every endpoint takes the child's credential and answers only about the
credential's subtree. Bodies may be zstd-compressed both ways, as for a push."""

from fastapi import APIRouter, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from node.api.exchange import AcceptEncoding, body_doc, parse_body, reply
from node.deps import ContextDep
from node.ops import exchanges
from node.records.routes import ERRORS
from node.sync.routes import ChildDep
from schemas.ops import ExportPage, RecordsFound, RecordsQuery, RepairBatch, RepairResult

router = APIRouter(prefix="/api/v1/ops", tags=["operator tools"], responses=ERRORS | {401: {}})


@router.post(
    "/records",
    summary="Records of the child's subtree by id",
    response_model=RecordsFound,
    openapi_extra=body_doc(RecordsQuery),
)
async def records(
    request: Request, ctx: ContextDep, child: ChildDep, accept_encoding: AcceptEncoding = None
) -> Response:
    query = await parse_body(request, RecordsQuery)
    found = await run_in_threadpool(exchanges.find_records, ctx.db, child=child, query=query)
    return reply(found, accept_encoding)


@router.post(
    "/repair",
    summary="Apply records like a push, moving no cursor",
    openapi_extra=body_doc(RepairBatch),
)
async def repair(request: Request, ctx: ContextDep, child: ChildDep) -> RepairResult:
    batch = await parse_body(request, RepairBatch)
    return await run_in_threadpool(exchanges.apply_repair, ctx, child=child, batch=batch)


@router.get(
    "/export",
    summary="The parent's copy of the child's subtree, paged (rebuild)",
    response_model=ExportPage,
)
async def export(
    ctx: ContextDep,
    child: ChildDep,
    after: str | None = None,
    limit: int = Query(1000, ge=1, le=5000),
    accept_encoding: AcceptEncoding = None,
) -> Response:
    page = await run_in_threadpool(
        exchanges.export_page, ctx.db, child=child, after=after, limit=limit
    )
    return reply(page, accept_encoding)
