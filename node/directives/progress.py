"""How far a directive got, from the receipts this node holds (docs/decisions/0101).

Receipt ids are derived from (directive, unit), so the receipts of a directive's targets are
primary-key look-ups: no incremental table to keep in step with the push, and every level
computes the same numbers for its part of the tree from the records it already has.
"""

import uuid
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row

from node.context import NodeIdentity
from node.db import Database
from node.directives import repository
from node.directives.versions import (
    ms_to_datetime,
    parse_deadline,
    receipt_of,
    target_units,
    version_of,
)
from node.records import repository as records_repo
from node.units import repository as units_repository
from schemas.codes import CODE_LENGTHS, is_within
from schemas.directives import (
    REJECTED_PREFIX,
    ChildProgress,
    DirectiveRead,
    DirectiveSummary,
    Laggard,
    receipt_id,
)

VIEW_SCAN = 1000  # directives looked at for a view, newest first
_RANK = {"pending": 0, "delivered": 1, "acknowledged": 2, "done": 3}


def _child_length(code: str) -> int | None:
    longer = sorted(n for n in CODE_LENGTHS.values() if n > len(code))
    return longer[0] if longer else None


def unit_states(
    conn: Connection, directive_id: uuid.UUID, units: list[str]
) -> dict[str, Row[Any] | None]:
    """Each target unit's genuine receipt row (or None: not delivered as far as we know)."""
    rows = records_repo.rows_by_ids(conn, [receipt_id(directive_id, u) for u in units])
    return {u: receipt_of(rows.get(receipt_id(directive_id, u)), directive_id, u) for u in units}


def _tally(
    units: Iterable[str], states: dict[str, Row[Any] | None], overdue: bool
) -> dict[str, int]:
    counts = dict.fromkeys(("targets", "delivered", "acknowledged", "done", "overdue"), 0)
    counts["rejected"] = 0
    for unit in units:
        row = states[unit]
        state = row.data.get("state") if row is not None else "pending"
        counts["targets"] += 1
        counts["delivered"] += state != "pending"
        counts["acknowledged"] += state in ("acknowledged", "done")
        counts["done"] += state == "done"
        counts["overdue"] += overdue and state != "done"
        note = (row.data.get("note") or "") if row is not None else ""
        counts["rejected"] += state == "done" and note.startswith(REJECTED_PREFIX)
    return counts


def _is_overdue(data: dict[str, Any], now: datetime) -> bool:
    deadline = parse_deadline(data)
    return data.get("status", "active") == "active" and deadline is not None and now > deadline


def _fields(row: Row[Any], requested: dict[str, Any] | None) -> dict[str, Any]:
    data = row.data
    return {
        "id": row.id,
        "title": data.get("title", ""),
        "body": data.get("body", ""),
        "kind": data.get("directive_kind", "notice"),
        "issuer": row.origin,
        "status": data.get("status", "active"),
        "deadline": parse_deadline(data),
        "record_id": data.get("record_id"),
        "superseded_by": data.get("superseded_by"),
        "version": version_of(row),
        "requested": requested,
    }


def summary(
    conn: Connection,
    row: Row[Any],
    *,
    viewer: str,
    now: datetime,
    requested: dict[str, Any] | None = None,
) -> DirectiveSummary:
    """Counts over the targets in `viewer`'s part of the tree."""
    units = [u for u in target_units(row.data) if is_within(u, viewer)]
    states = unit_states(conn, row.id, units)
    counts = _tally(units, states, _is_overdue(row.data, now))
    return DirectiveSummary(**_fields(row, requested), **counts)


def detail(
    conn: Connection,
    row: Row[Any],
    *,
    viewer: str,
    now: datetime,
    requested: dict[str, Any] | None = None,
) -> DirectiveRead:
    """Counts, the same per direct child unit of `viewer`, and every target not yet done."""
    units = [u for u in target_units(row.data) if is_within(u, viewer)]
    states = unit_states(conn, row.id, units)
    overdue = _is_overdue(row.data, now)
    names = {u.code: u.name for u in units_repository.units_in_subtree(conn, viewer)}
    child_len = _child_length(viewer)
    groups: dict[str, list[str]] = defaultdict(list)
    for unit in units:
        groups[unit[:child_len] if child_len else unit].append(unit)
    by_child = [
        ChildProgress(unit=code, name=names.get(code, code), **_tally(members, states, overdue))
        for code, members in sorted(groups.items())
    ]
    laggards = []
    for unit in units:
        receipt = states[unit]
        state = receipt.data.get("state") if receipt is not None else "pending"
        if state != "done":
            laggards.append(
                Laggard(unit=unit, name=names.get(unit, unit), state=state, overdue=overdue)
            )
    laggards.sort(key=lambda lag: (_RANK.get(lag.state, 0), lag.unit))
    return DirectiveRead(
        **_fields(row, requested),
        **_tally(units, states, overdue),
        target_units=units,
        by_child=by_child,
        laggards=laggards,
    )


def view_progress(
    db: Database, *, node: NodeIdentity, unit: str, limit: int = 20
) -> list[DirectiveSummary]:
    """For the views: the latest directives issued here or above that reach into `unit`'s
    subtree, counted over the targets there."""
    now = ms_to_datetime(db.clock())
    with db.read() as conn:
        entries = repository.latest_entries(conn, VIEW_SCAN)
        rows = records_repo.rows_by_ids(conn, [e.id for e in entries])
        out: list[DirectiveSummary] = []
        for entry in entries:
            row = rows.get(entry.id)
            if row is None or not any(is_within(u, unit) for u in target_units(row.data)):
                continue
            out.append(summary(conn, row, viewer=unit, now=now, requested=entry.requested))
            if len(out) >= limit:
                break
    return out
