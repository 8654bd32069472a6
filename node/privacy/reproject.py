"""Changing the policy (issue 14): what the ancestors hold is re-projected, no full resync.

At every writable start of a node with a parent, the fingerprint of each kind's projection
for the parent's level is compared with the one it last sent with (`privacy_state.
projected_with`). The rows of each kind that changed move to new log positions, a batch per
transaction, versions untouched: the outbox sends them again, projected the new way, and the
parent, holding the same versions with other data, takes the new data (node/records/store.py,
`refresh_projections`) and passes it on up, each relay re-projecting for its own parent. So a
widened field reaches the ancestors, and a narrowed one is dropped or re-masked wherever it
was held. The new fingerprints are saved last: a start interrupted half-way re-sends again
(harmless: same versions, same data). The first start under this version (no fingerprint
yet) re-sends every projected kind once, so ancestors drop what they were sent in clear before.
"""

import hashlib
import logging
from typing import Any

import orjson
from sqlalchemy import Connection, bindparam, func, select, update

from federation.privacy import Policy
from node.db import Database
from node.models import Record, table
from node.privacy.models import PrivacyState
from schemas.codes import level_of, parent_of
from schemas.kinds import BASE_KINDS

log = logging.getLogger("tiersync.privacy")
BATCH = 500
_records = table(Record)
_state = table(PrivacyState)


def fingerprints(policy: Policy, level: str) -> dict[str, str]:
    """kind → fingerprint of what the projection for `level` does to it."""
    held = policy.at(level)
    return {
        kind.value: hashlib.sha256(
            orjson.dumps(sorted((f, t.value) for f, t in held.get(kind.value, {}).items()))
        ).hexdigest()[:16]
        for kind in BASE_KINDS
    }


def _stored(conn: Connection) -> dict[str, str] | None:
    raw = conn.execute(select(_state.c.projected_with).where(_state.c.id == 1)).scalar()
    return orjson.loads(raw) if raw else None


def changed_kinds(db: Database, policy: Policy, code: str) -> tuple[list[str], dict[str, str]]:
    """The kinds whose projection for the parent differs from the last sent, and the new
    fingerprints ([] at the top, which sends nothing up)."""
    parent = parent_of(code)
    if parent is None:
        return [], {}
    now = fingerprints(policy, level_of(parent).value)
    with db.engine.connect() as conn:
        before = _stored(conn)
    if before is None:
        before = fingerprints(Policy({}), level_of(parent).value)  # as sent in clear
    return sorted(k for k, fp in now.items() if before.get(k) != fp), now


def resend_changed(db: Database, policy: Policy, code: str) -> int:
    """Move the rows of the changed kinds to new log positions (they leave again, projected
    the new way); how many rows will be re-sent."""
    kinds, now = changed_kinds(db, policy, code)
    if not now:
        return 0
    moved = 0
    with db.engine.connect() as conn:
        top = int(conn.execute(select(func.max(_records.c.seq))).scalar() or 0)
    while kinds:
        with db.write() as txn:
            ids = list(
                txn.conn.execute(
                    select(_records.c.id)
                    .where(_records.c.kind.in_(kinds), _records.c.seq <= top)
                    .order_by(_records.c.seq)
                    .limit(BATCH)
                ).scalars()
            )
            if not ids:
                break
            params: list[dict[str, Any]] = [{"rid": rid, "new_seq": txn.tick()} for rid in ids]
            txn.conn.execute(
                update(_records)
                .where(_records.c.id == bindparam("rid"))
                .values(seq=bindparam("new_seq")),
                params,
            )
            moved += len(ids)
    with db.engine.begin() as conn:
        conn.execute(update(_state).where(_state.c.id == 1).values(projected_with=_dump(now)))
    if moved:
        log.info("privacy policy changed for %s: %d record(s) re-sent up", ", ".join(kinds), moved)
    return moved


def _dump(value: dict[str, str]) -> str:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()
