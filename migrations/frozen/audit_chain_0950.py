"""Migration 0950's data step, frozen: chain the audit entries a node held before the chain
(node/audit/chain.py as it was at revision 0950: SHA-256 over the previous hash and the entry's
fields as a JSON array, the time in UTC without its zone)."""

import hashlib
from datetime import UTC, datetime

import orjson
import sqlalchemy as sa
from sqlalchemy import Connection

GENESIS = "0" * 64
_FIELDS = ("at", "actor", "action", "outcome", "detail")
_log = sa.table("audit_log", *(sa.column(c) for c in ("id", *_FIELDS, "prev_hash", "hash")))


def _at(value: datetime) -> str:
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value.isoformat(timespec="microseconds")


def chain(conn: Connection) -> None:
    prev = GENESIS
    rows = conn.execute(sa.select(_log.c.id, *(_log.c[f] for f in _FIELDS)).order_by(_log.c.id))
    for row in rows.all():
        at = row.at if isinstance(row.at, datetime) else datetime.fromisoformat(str(row.at))
        fields = [prev, _at(at), row.actor, row.action, row.outcome, row.detail]
        digest = hashlib.sha256(orjson.dumps(fields)).hexdigest()
        conn.execute(sa.update(_log).where(_log.c.id == row.id).values(prev_hash=prev, hash=digest))
        prev = digest
