"""/api/v1/ops: what a child asks its parent about its own subtree (docs/protocol.md,
"Operator exchanges"). Every endpoint takes the child's credential and answers only about the
credential's subtree. Bodies may be zstd-compressed both ways, as for a push."""

from typing import Annotated, TypeVar

import zstandard
from fastapi import APIRouter, Header, Query, Request, Response
from pydantic import BaseModel, ValidationError
from starlette.concurrency import run_in_threadpool

from federation.codec import COMPRESS_ABOVE, ZSTD_LEVEL, decode_body
from node.deps import ContextDep
from node.errors import FieldError, Invalid
from node.ops import parent
from node.records.routes import ERRORS
from node.sync.routes import ChildDep
from schemas.errors import details_from_validation_error
from schemas.ops import (
    DigestLeaves,
    DigestNodes,
    DigestQuery,
    DigestRoot,
    ExportPage,
    RecordsFound,
    RecordsQuery,
    RepairBatch,
    RepairResult,
)

router = APIRouter(prefix="/api/v1/ops", tags=["operator tools"], responses=ERRORS | {401: {}})
AcceptEncoding = Annotated[str | None, Header()]
M = TypeVar("M", bound=BaseModel)


def _reply(model: BaseModel, accept_encoding: str | None) -> Response:
    """JSON, zstd-compressed when the caller accepts it and it pays."""
    body = model.model_dump_json().encode()
    if "zstd" in (accept_encoding or "") and len(body) > COMPRESS_ABOVE:
        packed = zstandard.ZstdCompressor(level=ZSTD_LEVEL).compress(body)
        return Response(packed, media_type="application/json", headers={"Content-Encoding": "zstd"})
    return Response(body, media_type="application/json")


def _body_doc(model: type[BaseModel]) -> dict[str, object]:
    """The request body in the OpenAPI document (bodies are parsed by hand: may be zstd)."""
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    schema.pop("$defs", None)
    return {"requestBody": {"content": {"application/json": {"schema": schema}}, "required": True}}


async def _body(request: Request, model: type[M]) -> M:
    try:
        raw = decode_body(await request.body(), request.headers.get("content-encoding"))
        return model.model_validate_json(raw)
    except ValidationError as exc:
        details = [FieldError(d.field, d.reason) for d in details_from_validation_error(exc)]
        raise Invalid(f"invalid {model.__name__} body", details[:20]) from exc
    except ValueError as exc:
        raise Invalid("unreadable body", [FieldError(None, str(exc))]) from exc


@router.get(
    "/digest", summary="Root digest (per kind) of the child's subtree", response_model=DigestRoot
)
async def digest(
    ctx: ContextDep, child: ChildDep, accept_encoding: AcceptEncoding = None
) -> Response:
    root = await run_in_threadpool(parent.digest_root, ctx.db, child=child)
    return _reply(root, accept_encoding)


@router.post(
    "/digest/nodes",
    summary="Children digests of tree nodes",
    response_model=DigestNodes,
    openapi_extra=_body_doc(DigestQuery),
)
async def digest_nodes(
    request: Request, ctx: ContextDep, child: ChildDep, accept_encoding: AcceptEncoding = None
) -> Response:
    query = await _body(request, DigestQuery)
    nodes = await run_in_threadpool(parent.digest_nodes, ctx.db, child=child, query=query)
    return _reply(nodes, accept_encoding)


@router.post(
    "/digest/leaves",
    summary="id → version of every record under tree nodes",
    response_model=DigestLeaves,
    openapi_extra=_body_doc(DigestQuery),
)
async def digest_leaves(
    request: Request, ctx: ContextDep, child: ChildDep, accept_encoding: AcceptEncoding = None
) -> Response:
    query = await _body(request, DigestQuery)
    found = await run_in_threadpool(parent.digest_leaves, ctx.db, child=child, query=query)
    return _reply(found, accept_encoding)


@router.post(
    "/records",
    summary="Records of the child's subtree by id",
    response_model=RecordsFound,
    openapi_extra=_body_doc(RecordsQuery),
)
async def records(
    request: Request, ctx: ContextDep, child: ChildDep, accept_encoding: AcceptEncoding = None
) -> Response:
    query = await _body(request, RecordsQuery)
    found = await run_in_threadpool(parent.find_records, ctx.db, child=child, query=query)
    return _reply(found, accept_encoding)


@router.post(
    "/repair",
    summary="Apply records like a push, moving no cursor",
    openapi_extra=_body_doc(RepairBatch),
)
async def repair(request: Request, ctx: ContextDep, child: ChildDep) -> RepairResult:
    batch = await _body(request, RepairBatch)
    target = parent.RepairTarget(ctx.db, ctx.identity.code, bool(ctx.settings.parent_url))
    return await run_in_threadpool(parent.apply_repair, target, child=child, batch=batch)


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
        parent.export_page, ctx.db, child=child, after=after, limit=limit
    )
    return _reply(page, accept_encoding)
