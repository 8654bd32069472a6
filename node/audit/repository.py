"""SQL for the audit log."""

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, insert, select

from node.models import AuditEntry, table

audit = table(AuditEntry)


def add_audit(
    conn: Connection, *, at: datetime, actor: str, action: str, outcome: str, detail: str
) -> None:
    conn.execute(
        insert(audit).values(at=at, actor=actor, action=action, outcome=outcome, detail=detail)
    )


def list_audit(conn: Connection, limit: int = 1000, action: str | None = None) -> list[Row[Any]]:
    stmt = select(audit).order_by(audit.c.id.desc()).limit(limit)
    if action is not None:
        stmt = stmt.where(audit.c.action == action)
    return list(conn.execute(stmt))
