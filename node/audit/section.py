"""The audit chain's push section: the head (last id, hash) up with every push; the parent keeps
each child's newest (docs/protocol.md, Audit chain)."""

from typing import Any

from sqlalchemy import Connection

from node.audit import repository
from node.db import WriteTxn
from node.seams import OutgoingInfo
from schemas.sync import AuditHeadWire, PushBatch


class AuditSection:
    name = "audit"

    def outgoing(self, conn: Connection, info: OutgoingInfo) -> dict[str, Any] | None:
        head = repository.head(conn)
        return {"id": head.id, "hash": head.hash} if head else None

    def incoming(
        self, txn: WriteTxn, *, child: str, batch: PushBatch, stored: int
    ) -> dict[str, Any]:
        wire: AuditHeadWire | None = batch.audit
        if wire is not None:
            repository.save_child_head(
                txn.conn, code=child, last_id=wire.id, hash=wire.hash, at=txn.now
            )
        return {}
