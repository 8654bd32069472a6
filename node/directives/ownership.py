"""What a child may push up of directives and receipts: only its own (docs/protocol.md, Ownership).

Receipt ids are predictable (`receipt_id(directive, unit)`), so a child could write a sibling's
receipt under its id before the sibling does, and the sibling's genuine receipt would then be
refused by the parent's ownership check. So a pushed receipt must be the pusher's subtree's own:
its id derived from its unit, and that unit its origin or, for a unit without a node of its
own, below the origin that holds it (docs/decisions/0651): never a sibling's. A pushed
directive must be issued by its origin (unit = issuer = origin). Tombstoning or replacing a
directive held from an ancestor is refused by the core's check of the stored record
(node/sync/receive.py).

A push section that adds no field to the batch: it only reads it at the parent, in the push's
transaction, and refuses the whole push (403, nothing stored) naming each record.
"""

import uuid
from typing import Any

from sqlalchemy import Connection

from federation.hlc import parse_version
from node.db import WriteTxn
from node.errors import FieldError, Forbidden
from node.seams import OutgoingInfo
from schemas.codes import is_within
from schemas.directives import receipt_id
from schemas.kinds import Kind
from schemas.sync import ChangeRecord, PushBatch


def not_owned(rec: ChangeRecord) -> str | None:
    """Why the pushing subtree cannot have written this directive or receipt, else None."""
    if rec.kind not in (Kind.receipt, Kind.directive):
        return None
    try:
        _, origin = parse_version(rec.version)
    except ValueError:
        return None  # quarantined by the receiver
    if rec.kind == Kind.directive and rec.unit != origin:
        return f"{rec.kind} {rec.id}: unit {rec.unit} is not its origin {origin}"
    if rec.kind == Kind.receipt and not is_within(rec.unit, origin):
        # The target's own node, or the node that holds a target without one (0651).
        return f"{rec.kind} {rec.id}: unit {rec.unit} is not its origin {origin} or below it"
    if rec.kind == Kind.directive:
        issuer = rec.data.get("issuer")
        if issuer is not None and issuer != origin:
            return f"directive {rec.id}: issued by {issuer}, not by its origin {origin}"
        return None
    try:
        directive = uuid.UUID(str(rec.data.get("directive_id")))
    except ValueError:
        return f"receipt {rec.id}: no directive_id"
    if rec.id != receipt_id(directive, rec.unit) or rec.data.get("unit", rec.unit) != rec.unit:
        return f"receipt {rec.id} is not {rec.unit}'s receipt for directive {directive}"
    return None


class DirectiveOwnership:
    name = "directive_ownership"  # no batch field: outgoing adds nothing

    def outgoing(self, conn: Connection, info: OutgoingInfo) -> Any | None:
        return None

    def incoming(
        self, txn: WriteTxn, *, child: str, batch: PushBatch, stored: int
    ) -> dict[str, Any]:
        problems = [
            FieldError(f"records.{i}.id", reason)
            for i, rec in enumerate(batch.records)
            if (reason := not_owned(rec)) is not None
        ]
        if problems:
            raise Forbidden(
                f"batch from {child} holds {len(problems)} directive or receipt record(s) "
                f"not its own ({problems[0].reason}); nothing was stored",
                problems[:20],
            )
        return {}
