"""/api/v1/records: parse, authorise, call the service, return a schema."""

import uuid
from typing import Any

from fastapi import APIRouter, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from node.deps import ContextDep
from node.records import service
from node.records.bulk_body import parse_bulk_body
from schemas.codes import UnitCode
from schemas.errors import ErrorBody
from schemas.kinds import Kind
from schemas.records import BulkResult, RecordCreate, RecordIn, RecordPage, RecordRead

ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorBody} for code in (403, 404, 409, 422)
}
router = APIRouter(prefix="/api/v1/records", tags=["records"], responses=ERRORS)


@router.post("", status_code=201, summary="Create a record")
def create(body: RecordCreate, ctx: ContextDep) -> RecordRead:
    return service.create_record(ctx.db, node=ctx.identity, body=body)


@router.put("/{record_id}", summary="Create or replace a record (201 when created)")
def put(record_id: uuid.UUID, body: RecordIn, ctx: ContextDep, response: Response) -> RecordRead:
    record, created = service.put_record(ctx.db, node=ctx.identity, record_id=record_id, body=body)
    response.status_code = 201 if created else 200
    return record


@router.get("/{record_id}", summary="Read a live record (404 when absent or deleted)")
def get(record_id: uuid.UUID, ctx: ContextDep) -> RecordRead:
    return service.get_record(ctx.db, record_id=record_id)


@router.delete("/{record_id}", status_code=204, summary="Delete; the tombstone replicates")
def delete(record_id: uuid.UUID, ctx: ContextDep) -> Response:
    service.delete_record(ctx.db, node=ctx.identity, record_id=record_id)
    return Response(status_code=204)


@router.get("", summary="List live records of a subtree, keyset-paginated")
def list_(
    ctx: ContextDep,
    kind: Kind | None = None,
    unit: UnitCode | None = Query(None, description="whole subtree of this code; default: own"),
    limit: int = Query(100, ge=1, le=1000),
    cursor: str | None = None,
) -> RecordPage:
    return service.list_records(
        ctx.db, kind=kind, unit=unit or ctx.identity.code, limit=limit, cursor=cursor
    )


@router.post(
    "/bulk",
    summary="Store every valid record; list every invalid one by position",
    openapi_extra={
        "requestBody": {
            "content": {
                "application/json": {"schema": {"type": "array", "items": {"type": "object"}}},
                "application/x-ndjson": {"schema": {"type": "string"}},
            },
            "required": True,
        }
    },
)
async def bulk(request: Request, ctx: ContextDep) -> BulkResult:
    items = parse_bulk_body(await request.body(), request.headers.get("content-type", ""))
    return await run_in_threadpool(service.bulk_write, ctx.db, node=ctx.identity, items=items)
