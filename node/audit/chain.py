"""The audit log as a hash chain (docs/protocol.md, Audit chain; docs/decisions/0951).

Each entry's `hash` is the suite hash of the previous entry's hash and the entry's own fields, so
an entry edited, deleted or moved in the database (sqlite3, psql) no longer links to its
neighbours: `verify` walks the chain and names the first entry that does not. Rewriting the whole
chain from some entry on goes unseen locally, which is why the head (last id, hash) travels up
with every push and the parent keeps it: a chain that no longer holds the head its parent has
was truncated or rewritten.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

from federation.crypto import Suite, suite

GENESIS = "0" * 64
"""The `prev_hash` of the first entry."""
CHAIN_SUITE = "default"
"""The suite whose hash links a chain when none is named (SHA-256). A node links its chain
with its deployment's suite (TIERSYNC_CRYPTO; SM3 under `sm`, same length): node.db's
CHAIN_OPTION names it to the writer."""


@dataclass(frozen=True)
class Head:
    id: int
    hash: str


@dataclass(frozen=True)
class Break:
    """Where the chain breaks: the entry named, and why (an edit, a gap, the parent's head)."""

    id: int
    reason: str  # "edited" | "unlinked" | "missing_head" | "head_differs"
    detail: str


def _at(value: datetime) -> str:
    """One spelling of a time on every engine (SQLite hands it back without its zone)."""
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value.isoformat(timespec="microseconds")


def entry_hash(
    prev_hash: str,
    *,
    at: datetime,
    actor: str,
    action: str,
    outcome: str,
    detail: str,
    hasher: Suite | None = None,
) -> str:
    fields = orjson.dumps([prev_hash, _at(at), actor, action, outcome, detail])
    return (hasher or suite(CHAIN_SUITE)).hash(fields).hex()


def verify(
    rows: Iterable[Any], *, parent_head: Head | None = None, suite_name: str = CHAIN_SUITE
) -> list[Break]:
    """Every break in the chain of `rows` (in id order), then against the parent's head.

    Under a suite other than the default, the entries written before the node used it (linked
    with SHA-256, e.g. at the migration that chained an existing log) are accepted up to the
    first entry linked with the suite's own hash, and never after it: a deployment switches
    once, forwards."""
    breaks: list[Break] = []
    prev, hasher = GENESIS, suite(suite_name)
    legacy = suite(CHAIN_SUITE) if suite_name != CHAIN_SUITE else None
    held: dict[int, str] = {}
    last_id = 0
    for row in rows:
        last_id = row.id
        if row.prev_hash != prev:
            what = "the first entry" if prev == GENESIS else "the entry before it"
            breaks.append(
                Break(row.id, "unlinked", f"does not follow {what}: one was deleted or moved")
            )
        fields = {k: getattr(row, k) for k in ("at", "actor", "action", "outcome", "detail")}
        if row.hash != entry_hash(row.prev_hash or "", hasher=hasher, **fields):
            if legacy is None or row.hash != entry_hash(
                row.prev_hash or "", hasher=legacy, **fields
            ):
                breaks.append(Break(row.id, "edited", "its content no longer matches its hash"))
        else:
            legacy = None  # linked with the suite's hash: no older entry may follow
        held[row.id] = row.hash
        prev = row.hash
    if parent_head is not None and parent_head.id > 0:
        mine = held.get(parent_head.id)
        if mine is None:
            reason = f"the parent holds entry {parent_head.id}; this log ends at {last_id}"
            if parent_head.id <= last_id:
                reason = f"the parent holds entry {parent_head.id}, which this log lacks"
            breaks.append(Break(parent_head.id, "missing_head", reason))
        elif mine != parent_head.hash:
            breaks.append(
                Break(parent_head.id, "head_differs", "differs from the one the parent holds")
            )
    return breaks
