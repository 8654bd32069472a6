"""Liveness and readiness."""

from fastapi import APIRouter
from sqlalchemy import text

from node.deps import ContextDep
from node.errors import ClockBehind, StorageFull, Unavailable
from node.migrate import current_revisions, head_revisions
from node.supervisor import describe

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="200 once the node serves and its database answers")
def healthz(ctx: ContextDep) -> dict[str, str]:
    try:
        with ctx.db.read() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:
        raise Unavailable(f"database unreachable: {exc.__class__.__name__}") from exc
    return {"status": "ok", "code": ctx.identity.code}


@router.get(
    "/readyz",
    summary="200 when the schema is current, the database writable and every background task "
    "healthy; else 503 naming what is wrong",
)
def readyz(ctx: ContextDep) -> dict[str, object]:
    # Every problem, not the first: a database that is locked or gone and the tasks it
    # stalls all show (an operator sees which task fails, and for how long).
    problems: list[str] = []
    current: set[str] = set()
    try:
        current, heads = current_revisions(ctx.db.engine), head_revisions(ctx.db.engine)
    except Exception as exc:
        problems.append(f"database unreachable: {describe(exc)}")
    else:
        if current != heads:
            problems.append(
                f"database at migration {sorted(current)}, code expects {sorted(heads)}"
            )
        try:
            ctx.db.probe_write()
        except Exception as exc:
            problems.append(f"database not writable: {describe(exc)}")
        else:
            ahead_ms = ctx.db.issue_ahead_ms()  # the clock set back: writes answer 503
            if ahead_ms:
                problems.append(
                    ClockBehind(ahead_ms=ahead_ms, max_skew_ms=ctx.db.max_skew_ms).message
                )
    if ctx.db.full_since is not None:  # a write failed on a full disk, none committed since
        problems.append(StorageFull.note(ctx.db.full_since))
    problems += ctx.supervisor.problems()
    if problems:
        raise Unavailable("; ".join(problems))
    tasks = [{"name": s.name, "state": s.state} for s in ctx.supervisor.states()]
    ready: dict[str, object] = {"status": "ready", "migrations": sorted(current), "tasks": tasks}
    notes = ctx.supervisor.notes()  # e.g. this node's clock is off from its parent's
    return ready | ({"notes": notes} if notes else {})
