"""/api/v1/ops/digest*: a child walks its parent's digest tree of the child's own subtree
(docs/protocol.md, "Operator exchanges"). The child's credential scopes every answer."""

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from node.api.exchange import AcceptEncoding, body_doc, parse_body, reply
from node.deps import ContextDep
from node.digests import answers
from node.records.routes import ERRORS
from node.sync.routes import ChildDep
from schemas.ops import DigestLeaves, DigestNodes, DigestQuery, DigestRoot

router = APIRouter(prefix="/api/v1/ops", tags=["operator tools"], responses=ERRORS | {401: {}})


@router.get(
    "/digest", summary="Root digest (per kind) of the child's subtree", response_model=DigestRoot
)
async def digest(
    ctx: ContextDep, child: ChildDep, accept_encoding: AcceptEncoding = None
) -> Response:
    root = await run_in_threadpool(answers.digest_root, ctx.db, child=child)
    return reply(root, accept_encoding)


@router.post(
    "/digest/nodes",
    summary="Children digests of tree nodes",
    response_model=DigestNodes,
    openapi_extra=body_doc(DigestQuery),
)
async def digest_nodes(
    request: Request, ctx: ContextDep, child: ChildDep, accept_encoding: AcceptEncoding = None
) -> Response:
    query = await parse_body(request, DigestQuery)
    nodes = await run_in_threadpool(answers.digest_nodes, ctx.db, child=child, query=query)
    return reply(nodes, accept_encoding)


@router.post(
    "/digest/leaves",
    summary="id → version of every record under tree nodes",
    response_model=DigestLeaves,
    openapi_extra=body_doc(DigestQuery),
)
async def digest_leaves(
    request: Request, ctx: ContextDep, child: ChildDep, accept_encoding: AcceptEncoding = None
) -> Response:
    query = await parse_body(request, DigestQuery)
    found = await run_in_threadpool(answers.digest_leaves, ctx.db, child=child, query=query)
    return reply(found, accept_encoding)
