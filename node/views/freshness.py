"""Freshness of the data below: written with each push a child makes, sent up in the next push
of this node, assessed for every child row of a view (docs/protocol.md, Freshness).

A node knows when each direct child last pushed (its own clock, `db.clock`). Deeper units' times
come up in the `freshness` field of pushes and are merged by max, so order and repeats do not
matter. A unit's data is as fresh here as the oldest hop on its way up: a village that pushes
every minute to a township whose own link has been down a day is a day old at the prefecture.
"""

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection

from node.db import WriteTxn
from node.seams import OutgoingInfo
from node.views import repository
from schemas.codes import LEVEL_BY_LENGTH, NODE_LEVELS, is_within
from schemas.sync import PushBatch
from schemas.views import Freshness

_NODE_LENGTHS = tuple(n for n, level in sorted(LEVEL_BY_LENGTH.items()) if level in NODE_LEVELS)
LOCAL = Freshness(source="local", last_received_at=None, age_s=None, stale=False)


def _is_node_code(code: str) -> bool:
    return code.isascii() and code.isdigit() and len(code) in _NODE_LENGTHS


def on_push(txn: WriteTxn, *, child: str, reported: Iterable[Any], logged: bool) -> None:
    """Record that `child` pushed now, and merge the times it reports for units below it.

    `logged`: the push stored versions (the transaction's last tick is a log position).
    Reported times are capped at this node's clock (a child's clock may run ahead) and units
    outside the child's subtree are ignored: freshness is advisory and never refuses a batch.
    """
    now = txn.clock()
    times = {child: now}
    for entry in reported:
        unit, at = entry.unit, int(entry.last_received_at)
        if unit != child and _is_node_code(unit) and is_within(unit, child):
            times[unit] = max(times.get(unit, 0), min(at, now))
    # Stamped with the log position of the records this push stored, the entries go up with
    # them, once. A push that stored nothing (a heartbeat) stamps just above the log: the next
    # batch takes it, and an idle node's own heartbeat carries it up.
    seq = txn.last_hlc if logged else txn.last_hlc + 1
    repository.merge_freshness(
        txn.conn,
        [{"unit": u, "last_received_ms": ms, "updated_seq": seq} for u, ms in times.items()],
    )


def outgoing(conn: Connection, since: int) -> list[dict[str, Any]]:
    """Freshness entries changed after log position `since`, for the next push up."""
    return [
        {"unit": row.unit, "last_received_at": int(row.last_received_ms)}
        for row in repository.freshness_changed_since(conn, since)
    ]


class FreshnessSection:
    """The push section of the views: times of the nodes below out, merged by max in."""

    name = "freshness"
    relays_below = True  # only what the nodes below reported: nothing at a village

    def outgoing(self, conn: Connection, info: OutgoingInfo) -> list[dict[str, Any]] | None:
        return outgoing(conn, info.since) or None  # only when there is some (never at a village)

    def incoming(
        self, txn: WriteTxn, *, child: str, batch: PushBatch, stored: int
    ) -> dict[str, Any]:
        on_push(txn, child=child, reported=batch.freshness, logged=bool(stored))
        return {}


def to_datetime(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def path_below(node_code: str, unit: str) -> list[str]:
    """The node units from just below `node_code` down to `unit` (grids are not nodes)."""
    return [unit[:n] for n in _NODE_LENGTHS if len(node_code) < n <= len(unit)]


class Assessor:
    """Freshness of units of this node's subtree, from one read of the few rows involved."""

    def __init__(
        self,
        conn: Connection,
        *,
        node_code: str,
        now_ms: int,
        stale_after_s: float,
        units: Sequence[str],
    ) -> None:
        self.node_code = node_code
        self.now_ms = now_ms
        self.stale_after_ms = stale_after_s * 1000
        hops = sorted({p for u in units for p in path_below(node_code, u)})
        self.links, self.enrolled = repository.links(conn, hops)

    def of(self, unit: str) -> Freshness:
        times: list[int | None] = []
        for hop in path_below(self.node_code, unit):
            if hop in self.links:
                times.append(self.links[hop])
            elif hop in self.enrolled:
                times.append(None)  # a child node that never pushed
            else:
                break  # not a node: its data is held by the node above it
        if not times:
            return LOCAL
        if None in times:
            return Freshness(source="replica", last_received_at=None, age_s=None, stale=True)
        oldest = min(t for t in times if t is not None)
        age_ms = max(0, self.now_ms - oldest)
        return Freshness(
            source="replica",
            last_received_at=to_datetime(oldest),
            age_s=round(age_ms / 1000, 3),
            stale=age_ms > self.stale_after_ms,
        )
