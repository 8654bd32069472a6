"""Directives as a node's operator sees them: progress, the inbox, and the target's receipts.

Issuing, cancelling and superseding live in `issue.py`; delivery down in `feed.py` (parent) and
`inbound.py` (child).
"""

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Row

from node.audit import service as audit
from node.context import NodeContext, NodeIdentity
from node.db import Database, WriteTxn
from node.directives import progress, repository
from node.directives.feed import Wake
from node.directives.issue import cancel_directive, issue_directive, supersede_directive
from node.directives.versions import (
    held_targets,
    ms_to_datetime,
    parse_deadline,
    receipt_of,
    target_units,
    write_receipt,
)
from node.errors import Conflict, FieldError, Forbidden, NotFound
from node.principal import os_actor
from node.records import repository as records_repo
from node.units.holders import child_holding, enrolled_children
from schemas.directives import (
    REJECTED_PREFIX,
    DirectiveCreate,
    DirectivePage,
    DirectiveRead,
    InboxItem,
    InboxPage,
    receipt_id,
)
from schemas.kinds.directive import DirectiveKind, DirectiveStatus, Target
from schemas.kinds.receipt import ReceiptState, receipt_rank

__all__ = [
    "acknowledge",
    "cancel_directive",
    "complete",
    "inbox",
    "issue_directive",
    "issue_resync",
    "list_issued",
    "pending_resync_requests",
    "pull_status",
    "reject",
    "show_directive",
    "supersede_directive",
    "wake_of",
]
_REFUSABLE = (DirectiveKind.correction, DirectiveKind.resync, DirectiveKind.reveal)


def _directive_row(conn: Connection, directive_id: uuid.UUID) -> Row[Any]:
    row = records_repo.get_row(conn, directive_id)
    if row is None or row.deleted or row.kind != "directive":
        raise NotFound(f"directive {directive_id} not found")
    return row


def show_directive(db: Database, *, node: NodeIdentity, directive_id: uuid.UUID) -> DirectiveRead:
    """Progress over the targets in this node's part of the tree, with drill-down and laggards.

    Works for every directive this node holds: issued here, received from above, or issued
    below and pushed up.
    """
    with db.read() as conn:
        row = _directive_row(conn, directive_id)
        entry = repository.get_entry(conn, directive_id)
        return progress.detail(
            conn,
            row,
            viewer=node.code,
            now=ms_to_datetime(db.clock()),
            requested=entry.requested if entry is not None else None,
        )


def list_issued(db: Database, *, node: NodeIdentity, limit: int = 100) -> DirectivePage:
    """Directives issued by this node, newest change first, with their counts."""
    now = ms_to_datetime(db.clock())
    with db.read() as conn:
        entries = repository.issued_by(conn, node.code, limit)
        rows = records_repo.rows_by_ids(conn, [e.id for e in entries])
        items = [
            progress.summary(conn, rows[e.id], viewer=node.code, now=now, requested=e.requested)
            for e in entries
            if e.id in rows
        ]
    return DirectivePage(items=items)


def _inbox_item(conn: Connection, node_code: str, entry: Row[Any]) -> InboxItem | None:
    """The directive with the receipt of this node (or, when it answers only for units it
    holds, the least advanced of theirs)."""
    row = records_repo.get_row(conn, entry.id)
    if row is None:
        return None
    units = held_targets(conn, row.data, node_code) or [node_code]
    rows = records_repo.rows_by_ids(conn, [receipt_id(entry.id, u) for u in units])
    receipts = [receipt_of(rows.get(receipt_id(entry.id, u)), entry.id, u) for u in units]
    own = node_code in units
    receipt = receipts[units.index(node_code)] if own else _least_advanced(receipts)
    data = row.data
    return InboxItem(
        id=entry.id,
        title=data.get("title", ""),
        body=data.get("body", ""),
        kind=data.get("directive_kind", "notice"),
        issuer=row.origin,
        status=data.get("status", "active"),
        deadline=parse_deadline(data),
        record_id=data.get("record_id"),
        superseded_by=data.get("superseded_by"),
        state=receipt.data.get("state") if receipt else None,
        note=receipt.data.get("note") if receipt else None,
        at=receipt.data.get("at") if receipt else None,
        units=units,
    )


def _least_advanced(receipts: list[Row[Any] | None]) -> Row[Any] | None:
    if any(r is None for r in receipts):
        return None
    ranks = {"delivered": 0, "acknowledged": 1, "done": 2}
    return min(receipts, key=lambda r: ranks.get(r.data.get("state"), 0) if r else 0)


def inbox(db: Database, *, node: NodeIdentity, limit: int = 100) -> InboxPage:
    """What this node received as a target, newest first, with its own receipt state."""
    with db.read() as conn:
        items = [_inbox_item(conn, node.code, e) for e in repository.addressed_here(conn, limit)]
    return InboxPage(items=[i for i in items if i is not None])


def wake_of(ctx: NodeContext) -> Wake:
    """How writers wake this node's held directive polls (None outside a server)."""
    return ctx.directive_signal.notify if ctx.directive_signal is not None else None


def issue_resync(ctx: NodeContext, *, child: str, since: int = 0) -> uuid.UUID:
    """Ask a child unit to re-send its change log (for the operator tools' `resync`)."""
    body = DirectiveCreate(
        title="Resync request",
        body=f"Re-send your change log from position {since}.",
        kind=DirectiveKind.resync,
        target=Target(units=[child]),
    )
    return issue_directive(ctx.db, node=ctx.identity, body=body, wake=wake_of(ctx))


def pending_resync_requests(db: Database) -> list[InboxItem]:
    """Active resync requests addressed to this node and not yet reported done.

    For the operator tools: act on each, then report it with `complete(...)`.
    """
    with db.read() as conn:
        entries = repository.addressed_here(conn, 1000, kind=DirectiveKind.resync.value)
        code = repository.own_code(conn)
        items = [_inbox_item(conn, code, e) for e in entries if e.status == "active"]
    return [i for i in items if i is not None and i.state != ReceiptState.done]


def pull_status(db: Database) -> dict[str, Any] | None:
    """The downward pull at this child (cursor, last pull, counts, last error), for `status`;
    None at a node that never pulled."""
    with db.read() as conn:
        row = repository.get_pull(conn)
    return dict(row._mapping) if row is not None else None


def _answered_units(
    conn: Connection, node_code: str, directive_id: uuid.UUID, units: Sequence[str] | None
) -> list[str]:
    """The targets a receipt is written for: those asked for, or every target this node
    answers for (itself and the units without a node it holds: docs/decisions/0651)."""
    row = records_repo.get_row(conn, directive_id)
    held = held_targets(conn, row.data, node_code) if row is not None else []
    if not held:
        raise NotFound(f"directive {directive_id} is not addressed to this node")
    if not units:
        return held
    targets = set(target_units(row.data)) if row is not None else set()
    children = enrolled_children(conn)
    for index, unit in enumerate(units):
        if unit in held:
            continue
        owner = child_holding(unit, children) if unit in targets else None
        field = [FieldError(f"units.{index}", f"answered by node {owner}" if owner else "")]
        if owner is not None:
            raise Forbidden(
                f"unit {unit} is held by node {owner}: its receipt is written there", field
            )
        raise NotFound(f"directive {directive_id} is not addressed to {unit} at this node")
    return list(dict.fromkeys(units))


def _report(
    db: Database,
    node: NodeIdentity,
    directive_id: uuid.UUID,
    state: ReceiptState,
    note: str | None,
    refusal: bool = False,
    actor: str | None = None,
    units: Sequence[str] | None = None,
) -> InboxItem:
    with db.write() as txn:
        entry = repository.get_entry(txn.conn, directive_id)
        if entry is None:
            raise NotFound(f"directive {directive_id} is not addressed to this node")
        answered = _answered_units(txn.conn, node.code, directive_id, units)
        if entry.status != DirectiveStatus.active:
            raise Conflict(f"directive {directive_id} is {entry.status}")
        if refusal and entry.directive_kind not in _REFUSABLE:
            raise Conflict("only correction, resync and reveal requests can be refused")
        for unit in answered:
            _report_unit(txn, node, unit, directive_id, state, note, refusal, actor)
        item = _inbox_item(txn.conn, node.code, entry)
    assert item is not None
    return item


def _report_unit(
    txn: WriteTxn,
    node: NodeIdentity,
    unit: str,
    directive_id: uuid.UUID,
    state: ReceiptState,
    note: str | None,
    refusal: bool,
    actor: str | None,
) -> None:
    """A new version of `unit`'s receipt, written by this node, unless nothing changes."""
    current = receipt_of(
        records_repo.get_row(txn.conn, receipt_id(directive_id, unit)), directive_id, unit
    )
    held = current.data.get("state") if current else None
    unchanged = held == state and current is not None and current.data.get("note") == note
    # A receipt only moves forward: a late ack after done is a no-op; anything else that
    # would move it back (done after a refusal) is refused.
    held_rank = receipt_rank(current.data) if current else 0
    new_rank = receipt_rank({"state": state.value, "note": note})
    if held_rank > new_rank and state != ReceiptState.acknowledged:
        raise Conflict(f"directive {directive_id} was already answered: {held}")
    if not unchanged and held_rank <= new_rank:
        write_receipt(
            txn,
            node_code=node.code,
            directive_id=directive_id,
            state=state,
            note=note,
            unit=unit,
        )
        action = "directive.reject" if refusal else f"directive.{state.value}"
        detail = str(directive_id) if unit == node.code else f"{directive_id} for {unit}"
        audit.in_txn(txn, actor=actor or os_actor(), action=action, detail=detail)


def acknowledge(
    db: Database,
    *,
    node: NodeIdentity,
    directive_id: uuid.UUID,
    note: str | None = None,
    actor: str | None = None,
    units: Sequence[str] | None = None,
) -> InboxItem:
    """This node read and accepted the directive (for `units`, default every target it answers
    for); the receipts travel up."""
    return _report(
        db, node, directive_id, ReceiptState.acknowledged, note, actor=actor, units=units
    )


def complete(
    db: Database,
    *,
    node: NodeIdentity,
    directive_id: uuid.UUID,
    note: str | None = None,
    actor: str | None = None,
    units: Sequence[str] | None = None,
) -> InboxItem:
    """This node reports the directive done (which implies acknowledged), for `units`
    (default every target it answers for)."""
    return _report(db, node, directive_id, ReceiptState.done, note, actor=actor, units=units)


def reject(
    db: Database,
    *,
    node: NodeIdentity,
    directive_id: uuid.UUID,
    note: str,
    actor: str | None = None,
) -> InboxItem:
    """Refuse a correction or resync request with a reason: a done receipt saying so."""
    return _report(
        db, node, directive_id, ReceiptState.done, REJECTED_PREFIX + note, True, actor=actor
    )
