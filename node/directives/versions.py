"""Directive and receipt records as versions: written through the one store, read back from rows.

Both are ordinary records, so they replicate, conflict and count like any other: a directive is
owned by its issuer (unit = origin = issuer), a receipt by the node that holds its target
(unit = the target, origin = the target's own node or, for a unit without one, the nearest
ancestor that runs one: docs/decisions/0651).
"""

import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import Connection, Row

from federation.hlc import format_version
from node.db import WriteTxn
from node.directives import repository
from node.records import repository as records_repo
from node.records.store import Version, store_versions
from node.units.holders import enrolled_children, held_here
from schemas.codes import is_within
from schemas.directives import DirectiveSeal, receipt_id
from schemas.kinds import SCHEMA_VERSION, Kind
from schemas.kinds.receipt import Receipt, ReceiptState


def ms_to_datetime(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


def now_of(txn: WriteTxn) -> datetime:
    """The node's (injectable) clock as a datetime; receipts and deadlines use it."""
    return ms_to_datetime(txn.clock())


def version_of(row: Row[Any]) -> str:
    return format_version(row.hlc, row.origin)


def target_units(data: dict[str, Any]) -> list[str]:
    """The fixed target list a stored directive carries (resolved at issue time)."""
    units = (data.get("target") or {}).get("units") or []
    return [u for u in units if isinstance(u, str)]


def held_targets(conn: Connection, data: dict[str, Any], node_code: str) -> list[str]:
    """The directive's targets this node answers for: itself, and the units it holds (those
    of its subtree that no enrolled child node holds)."""
    children = enrolled_children(conn)
    return [u for u in target_units(data) if held_here(u, node_code, children)]


def parse_deadline(data: dict[str, Any]) -> datetime | None:
    raw = data.get("deadline")
    return datetime.fromisoformat(raw) if isinstance(raw, str) else None


def store_directive(
    txn: WriteTxn,
    *,
    node_code: str,
    directive_id: uuid.UUID,
    data: dict[str, Any],
    requested: dict[str, Any] | None = None,
) -> None:
    """Write a new version of a directive this node owns, and index it to be served down."""
    version = Version(
        directive_id, Kind.directive, node_code, data, txn.issue(), node_code, False, SCHEMA_VERSION
    )
    store_versions(txn, [version])
    index_directive(txn, directive_id=directive_id, node_code=node_code, requested=requested)


def index_directive(
    txn: WriteTxn,
    *,
    directive_id: uuid.UUID,
    node_code: str,
    requested: dict[str, Any] | None = None,
    seal: DirectiveSeal | None = None,
) -> None:
    """Point the index at the directive version this node now holds (same transaction), with
    its issuer's seal as the feed brought it (None for this node's own: signed as served)."""
    row = records_repo.get_row(txn.conn, directive_id)
    assert row is not None
    entry: dict[str, Any] = {
        "id": directive_id,
        "seq": row.seq,
        "issuer": row.origin,
        "directive_kind": row.data.get("directive_kind", "notice"),
        "status": row.data.get("status", "active"),
        "title": str(row.data.get("title", ""))[:200],
        "deadline": parse_deadline(row.data),
        "for_me": bool(held_targets(txn.conn, row.data, node_code)),
        "received_at": txn.now,
        "signature": seal.signature if seal is not None else None,
        "certificate": (
            orjson.dumps(seal.certificate).decode() if seal and seal.certificate else None
        ),
    }
    if requested is not None:
        entry["requested"] = requested
    repository.upsert_entry(txn.conn, entry)


def receipt_of(row: Row[Any] | None, directive_id: uuid.UUID, unit: str) -> Row[Any] | None:
    """The row if it is `unit`'s genuine receipt for the directive, else None.

    Written by the unit's own node or, for a unit without one, by the ancestor node that holds
    it: its origin is the unit or one of its ancestors. Receipt ids are predictable, so a row
    under that id made by any other node (a mistake or a forgery, which the push's
    jurisdiction check confines to the forger's own subtree) is not taken as the target's word.
    """
    if row is None or row.deleted or row.kind != Kind.receipt:
        return None
    if row.unit != unit or not is_within(unit, row.origin):
        return None
    if row.data.get("directive_id") != str(directive_id):
        return None
    return row


def receipts_due(
    txn: WriteTxn, directives: Iterable[tuple[uuid.UUID, dict[str, Any]]], node_code: str
) -> list[Version]:
    """A "delivered" receipt for each target this node answers for that has none yet, for
    each (directive id, data): written once, so a later version (a cancellation) adds none."""
    due = [(d, u) for d, data in directives for u in held_targets(txn.conn, data, node_code)]
    held = records_repo.rows_by_ids(txn.conn, [receipt_id(d, u) for d, u in due])
    return [
        receipt_version(
            txn, node_code=node_code, directive_id=d, state=ReceiptState.delivered, unit=u
        )
        for d, u in due
        if receipt_of(held.get(receipt_id(d, u)), d, u) is None
    ]


def receipt_version(
    txn: WriteTxn,
    *,
    node_code: str,
    directive_id: uuid.UUID,
    state: ReceiptState,
    note: str | None = None,
    unit: str | None = None,
    sealed: str | None = None,
) -> Version:
    """A new version of the receipt of `unit` (default: this node's own) for a directive,
    written by this node: its own, or one for a unit it holds (`sealed`: a reveal's answer)."""
    unit = unit or node_code
    data = Receipt(
        directive_id=directive_id, unit=unit, state=state, note=note, at=now_of(txn), sealed=sealed
    ).model_dump(mode="json", exclude_none=True)
    rid = receipt_id(directive_id, unit)
    return Version(rid, Kind.receipt, unit, data, txn.issue(), node_code, False, SCHEMA_VERSION)


def write_receipt(
    txn: WriteTxn,
    *,
    node_code: str,
    directive_id: uuid.UUID,
    state: ReceiptState,
    note: str | None = None,
    unit: str | None = None,
) -> None:
    """Store a new version of a receipt this node writes; it travels up with the push."""
    version = receipt_version(
        txn, node_code=node_code, directive_id=directive_id, state=state, note=note, unit=unit
    )
    store_versions(txn, [version])
