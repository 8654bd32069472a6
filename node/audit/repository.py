"""SQL for the audit log, its hash chain and the children's chain heads."""

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, insert, select, text, update

from federation.crypto import suite
from node.audit.chain import CHAIN_SUITE, GENESIS, Head, entry_hash
from node.db import CHAIN_OPTION
from node.models import AuditEntry, AuditHead, table

audit = table(AuditEntry)
heads = table(AuditHead)
_CHAIN_LOCK = 0x74736175  # PostgreSQL advisory lock: one writer extends the chain at a time


def add_audit(
    conn: Connection, *, at: datetime, actor: str, action: str, outcome: str, detail: str
) -> None:
    if conn.dialect.name == "postgresql":  # other processes may write the log too (the CLI)
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _CHAIN_LOCK})
    last = head(conn)
    prev = last.hash if last else GENESIS
    hasher = suite(conn.get_execution_options().get(CHAIN_OPTION, CHAIN_SUITE))
    digest = entry_hash(
        prev, at=at, actor=actor, action=action, outcome=outcome, detail=detail, hasher=hasher
    )
    conn.execute(
        insert(audit).values(
            at=at,
            actor=actor,
            action=action,
            outcome=outcome,
            detail=detail,
            prev_hash=prev,
            hash=digest,
        )
    )


def list_audit(conn: Connection, limit: int = 1000, action: str | None = None) -> list[Row[Any]]:
    stmt = select(audit).order_by(audit.c.id.desc()).limit(limit)
    if action is not None:
        stmt = stmt.where(audit.c.action == action)
    return list(conn.execute(stmt))


def head(conn: Connection) -> Head | None:
    """The chain's last entry (id, hash), None for an empty log."""
    row = conn.execute(
        select(audit.c.id, audit.c.hash).order_by(audit.c.id.desc()).limit(1)
    ).first()
    return Head(int(row.id), str(row.hash or "")) if row else None


def chain_rows(conn: Connection, chunk: int = 5000) -> Iterator[Row[Any]]:
    """Every entry in id order, read in chunks (a log may be long)."""
    after = 0
    while True:
        rows = list(
            conn.execute(select(audit).where(audit.c.id > after).order_by(audit.c.id).limit(chunk))
        )
        yield from rows
        if len(rows) < chunk:
            return
        after = rows[-1].id


def save_child_head(conn: Connection, *, code: str, last_id: int, hash: str, at: datetime) -> None:
    """Keep a child's newest head (by id: a resent older batch never moves it back)."""
    held = child_head(conn, code)
    if held is None:
        conn.execute(insert(heads).values(code=code, last_id=last_id, hash=hash, at=at))
    elif last_id > held.id:
        values = {"last_id": last_id, "hash": hash, "at": at}
        conn.execute(update(heads).where(heads.c.code == code).values(**values))


def child_head(conn: Connection, code: str) -> Head | None:
    row = conn.execute(select(heads).where(heads.c.code == code)).first()
    return Head(int(row.last_id), str(row.hash)) if row else None
