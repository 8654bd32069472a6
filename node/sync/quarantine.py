"""What an operator does with the quarantine (`tiersync quarantine`, issue 10, defect 9):
list it, apply it again (`Receiver.retry_quarantined`, also run when a node starts), or
release entries that will never apply (dropped, with an audit entry)."""

from typing import Any

from node.audit import service as audit
from node.db import Database
from node.sync import repository


def list_entries(db: Database, *, offset: int = 0, limit: int = 100) -> list[dict[str, Any]]:
    """The newest entries first, without their payload (it may hold personal data)."""
    with db.read() as conn:
        rows = repository.list_quarantined(conn, limit=limit, offset=offset)
    return [
        {
            "id": r.id,
            "child": r.child,
            "record_id": str(r.record_id),
            "kind": r.kind,
            "unit": r.unit,
            "version": r.version,
            "reason": r.reason,
            "at": r.at,
        }
        for r in rows
    ]


def count(db: Database) -> int:
    with db.read() as conn:
        return repository.quarantined_count(conn)


def release(db: Database, *, ids: list[int], actor: str) -> int:
    """Drop these entries for good (they are never applied); returns how many were held."""
    with db.write(notify=False) as txn:
        dropped = repository.delete_quarantined(txn.conn, ids)
        audit.in_txn(
            txn,
            actor=actor,
            action="quarantine.release",
            outcome="ok",
            detail=f"{dropped} entr{'y' if dropped == 1 else 'ies'} dropped: {ids[:20]}",
        )
    return dropped
