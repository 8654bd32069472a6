"""Writing and reading the audit log. `write` adds an entry inside a caller's transaction (the
audited change and its entry commit together); `record` is the same in a transaction of its own."""

from datetime import datetime

from sqlalchemy import Connection

from node.audit import chain, repository
from node.audit.chain import Break, Head
from node.db import Database, WriteTxn
from schemas.ops import AuditRead

DETAIL_MAX = 2000  # an entry names what was done, never a whole payload


def write(
    conn: Connection, *, at: datetime, actor: str, action: str, outcome: str, detail: str
) -> None:
    """The one place an audit entry is written."""
    repository.add_audit(
        conn,
        at=at,
        actor=actor[:64],
        action=action[:64],
        outcome=outcome[:32],
        detail=detail[:DETAIL_MAX],
    )


def in_txn(txn: WriteTxn, *, actor: str, action: str, outcome: str = "ok", detail: str) -> None:
    write(txn.conn, at=txn.now, actor=actor, action=action, outcome=outcome, detail=detail)


def record(db: Database, *, actor: str, action: str, outcome: str, detail: str) -> None:
    with db.write(notify=False) as txn:
        in_txn(txn, actor=actor, action=action, outcome=outcome, detail=detail)


REASON_MIN = 5  # characters: a reveal says why


def reveal(db: Database, *, actor: str, what: str, reason: str) -> None:
    """Personal data shown in clear: who (actor), which (what), why. Written before it is."""
    detail = f"{what}: {reason.strip()}"
    record(db, actor=actor, action="personal.reveal", outcome="ok", detail=detail)


def entries(db: Database, *, limit: int = 100, action: str | None = None) -> list[AuditRead]:
    with db.read() as conn:
        rows = repository.list_audit(conn, limit, action)
    return [
        AuditRead(
            id=r.id, at=r.at, actor=r.actor, action=r.action, outcome=r.outcome, detail=r.detail
        )
        for r in rows
    ]


def verify_log(db: Database, *, parent_head: Head | None = None) -> tuple[int, list[Break]]:
    """How many entries the chain holds, and every break in it (node/audit/chain.py)."""
    with db.read() as conn:
        rows = list(repository.chain_rows(conn))
    return len(rows), chain.verify(rows, parent_head=parent_head, suite_name=db.chain_suite)
