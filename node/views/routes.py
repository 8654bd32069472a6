"""/api/v1/views: aggregates of a subtree."""

from fastapi import APIRouter, Query

from node.deps import ContextDep
from node.records.routes import ERRORS
from node.views import service
from schemas.codes import UnitCode
from schemas.views import Summary

router = APIRouter(prefix="/api/v1/views", tags=["views"], responses=ERRORS)
UnitQuery = Query(None, description="root of the subtree; default: this node's unit")


@router.get("/summary", summary="Live records per kind in a subtree, with each direct child")
def summary(ctx: ContextDep, unit: UnitCode | None = UnitQuery) -> Summary:
    return service.summary(ctx.db, node_code=ctx.identity.code, unit=unit or ctx.identity.code)
