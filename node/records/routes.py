"""/api/v1/records: parse, authorise, call the service, return a schema."""

import uuid
from typing import Any

from fastapi import APIRouter, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from node.deps import ContextDep, PrincipalDep
from node.records import moves, service
from node.records.bulk_body import parse_bulk_body
from schemas.codes import UnitCode
from schemas.errors import ErrorBody
from schemas.kinds import Kind
from schemas.personal import shown  # the reveal is node/access/routes.py
from schemas.records import (
    BulkResult,
    MoveResult,
    RecordCreate,
    RecordIn,
    RecordMove,
    RecordPage,
    RecordRead,
)

ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorBody} for code in (403, 404, 409, 422)
}
router = APIRouter(prefix="/api/v1/records", tags=["records"], responses=ERRORS)


@router.post("", status_code=201, summary="Create a record")
def create(body: RecordCreate, ctx: ContextDep, by: PrincipalDep) -> RecordRead:
    return shown(service.create_record(ctx.db, node=ctx.identity, body=body, by=by))


@router.put("/{record_id}", summary="Create or replace a record (201 when created)")
def put(
    record_id: uuid.UUID, body: RecordIn, ctx: ContextDep, by: PrincipalDep, response: Response
) -> RecordRead:
    record, created = service.put_record(
        ctx.db, node=ctx.identity, record_id=record_id, body=body, by=by
    )
    response.status_code = 201 if created else 200
    return shown(record)


@router.get("/{record_id}", summary="Read a live record (404 when absent or deleted)")
def get(record_id: uuid.UUID, ctx: ContextDep, by: PrincipalDep) -> RecordRead:
    return shown(service.get_record(ctx.db, record_id=record_id, by=by))


@router.delete("/{record_id}", status_code=204, summary="Delete; the tombstone replicates")
def delete(record_id: uuid.UUID, ctx: ContextDep, by: PrincipalDep) -> Response:
    service.delete_record(ctx.db, node=ctx.identity, record_id=record_id, by=by)
    return Response(status_code=204)


@router.post(
    "/{record_id}/move",
    summary="Move a record to a unit of another subtree: ends here, begins at the new holder",
)
def move(record_id: uuid.UUID, body: RecordMove, ctx: ContextDep, by: PrincipalDep) -> MoveResult:
    result = moves.move_record(ctx.db, node=ctx.identity, record_id=record_id, body=body, by=by)
    if result.begun is not None:
        result.begun = shown(result.begun)
    return result


@router.get("", summary="List live records of a subtree, keyset-paginated")
def list_(
    ctx: ContextDep,
    by: PrincipalDep,
    kind: Kind | None = None,
    unit: UnitCode | None = Query(
        None, description="whole subtree of this code; default: own (a confined user's first unit)"
    ),
    limit: int = Query(100, ge=1, le=1000),
    cursor: str | None = None,
    id_number: str | None = Query(
        None,
        min_length=18,
        max_length=38,
        description="only the records of this ID number (or its keyed hash h:…), found by the "
        "keyed hash index: the number itself is encrypted or never held",
    ),
) -> RecordPage:
    root = unit or (by.units[0] if by.units else ctx.identity.code)
    page = service.list_records(
        ctx.db, kind=kind, unit=root, limit=limit, cursor=cursor, by=by, id_number=id_number
    )
    return page.model_copy(update={"items": [shown(r) for r in page.items]})


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
async def bulk(request: Request, ctx: ContextDep, by: PrincipalDep) -> BulkResult:
    items = parse_bulk_body(await request.body(), request.headers.get("content-type", ""))
    return await run_in_threadpool(
        service.bulk_write, ctx.db, node=ctx.identity, items=items, by=by
    )
