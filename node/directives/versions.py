"""Directive and receipt records as versions: written through the one store, read back from rows.

Both are ordinary records, so they replicate, conflict and count like any other: a directive is
owned by its issuer (unit = origin = issuer), a receipt by its target (unit = origin = target).
"""

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Row

from federation.hlc import format_version
from node.db import WriteTxn
from node.directives import repository
from node.records import repository as records_repo
from node.records.store import Version, store_versions
from schemas.directives import receipt_id
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
        directive_id, Kind.directive, node_code, data, txn.tick(), node_code, False, SCHEMA_VERSION
    )
    store_versions(txn, [version])
    index_directive(txn, directive_id=directive_id, node_code=node_code, requested=requested)


def index_directive(
    txn: WriteTxn,
    *,
    directive_id: uuid.UUID,
    node_code: str,
    requested: dict[str, Any] | None = None,
) -> None:
    """Point the index at the directive version this node now holds (same transaction)."""
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
        "for_me": node_code in target_units(row.data),
        "received_at": txn.now,
    }
    if requested is not None:
        entry["requested"] = requested
    repository.upsert_entry(txn.conn, entry)


def receipt_of(row: Row[Any] | None, directive_id: uuid.UUID, unit: str) -> Row[Any] | None:
    """The row if it is `unit`'s genuine receipt for the directive, else None.

    Receipt ids are predictable, so a row under that id made by another node (a mistake or a
    forgery, which the push's jurisdiction check confines to the forger's own subtree) is
    not taken as the target's word.
    """
    if row is None or row.deleted or row.kind != Kind.receipt:
        return None
    if row.origin != unit or row.unit != unit:
        return None
    if row.data.get("directive_id") != str(directive_id):
        return None
    return row


def receipt_version(
    txn: WriteTxn,
    *,
    node_code: str,
    directive_id: uuid.UUID,
    state: ReceiptState,
    note: str | None = None,
) -> Version:
    """A new version of this node's receipt for a directive, to store."""
    data = Receipt(
        directive_id=directive_id, unit=node_code, state=state, note=note, at=now_of(txn)
    ).model_dump(mode="json", exclude_none=True)
    rid = receipt_id(directive_id, node_code)
    return Version(rid, Kind.receipt, node_code, data, txn.tick(), node_code, False, SCHEMA_VERSION)


def write_receipt(
    txn: WriteTxn,
    *,
    node_code: str,
    directive_id: uuid.UUID,
    state: ReceiptState,
    note: str | None = None,
) -> None:
    """Store a new version of this node's receipt; it travels up with the push."""
    version = receipt_version(
        txn, node_code=node_code, directive_id=directive_id, state=state, note=note
    )
    store_versions(txn, [version])
