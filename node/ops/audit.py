"""The audit log of operator actions: who, when, what, with what outcome."""

import getpass
import os

from node.db import Database
from node.sync import repository as sync_repo
from schemas.ops import AuditRead


def default_actor() -> str:
    """The operator: the OS user running the command (SUDO_USER when run through sudo)."""
    try:
        user = os.environ.get("SUDO_USER") or getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return f"os:{user}"


def record(db: Database, *, actor: str, action: str, outcome: str, detail: str) -> None:
    with db.write(notify=False) as txn:
        sync_repo.add_audit(
            txn.conn,
            at=txn.now,
            actor=actor[:64],
            action=action[:64],
            outcome=outcome[:32],
            detail=detail,
        )


def entries(db: Database, *, limit: int = 100) -> list[AuditRead]:
    with db.read() as conn:
        rows = sync_repo.list_audit(conn, limit)
    return [
        AuditRead(
            id=r.id, at=r.at, actor=r.actor, action=r.action, outcome=r.outcome, detail=r.detail
        )
        for r in rows
    ]
