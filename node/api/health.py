"""Liveness and readiness."""

from fastapi import APIRouter
from sqlalchemy import text

from node.deps import ContextDep
from node.errors import Unavailable
from node.migrate import current_revisions, head_revisions

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="200 once the node serves and its database answers")
def healthz(ctx: ContextDep) -> dict[str, str]:
    try:
        with ctx.db.read() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:
        raise Unavailable(f"database unreachable: {exc.__class__.__name__}") from exc
    return {"status": "ok", "code": ctx.identity.code}


@router.get("/readyz", summary="200 when the database schema is at the latest migration")
def readyz(ctx: ContextDep) -> dict[str, object]:
    current, heads = current_revisions(ctx.db.engine), head_revisions(ctx.db.engine)
    if current != heads:
        raise Unavailable(f"database at migration {sorted(current)}, code expects {sorted(heads)}")
    return {"status": "ready", "migrations": sorted(current)}
