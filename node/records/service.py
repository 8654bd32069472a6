"""Local record writes and reads: jurisdiction, validation, ownership; storage via store.py."""

import base64
import binascii
import uuid
from typing import Any

from pydantic import ValidationError
from sqlalchemy import Row

from federation.hlc import format_version
from node.audit import service as audit
from node.context import NodeIdentity
from node.db import Database, WriteTxn
from node.errors import Conflict, FieldError, Forbidden, Invalid, NotFound
from node.principal import Principal, local
from node.records import repository
from node.records.bulk_body import Unparsable
from node.records.ids import uuid7
from node.records.store import Version, store_versions
from node.units.holders import child_holding, enrolled_children
from schemas.codes import is_within
from schemas.errors import details_from_validation_error, summarize
from schemas.kinds import FEDERATION_KINDS, SCHEMA_VERSION, validate_data
from schemas.personal import PERSONAL, looks_masked, restored
from schemas.records import (
    BulkRejection,
    BulkResult,
    RecordCreate,
    RecordIn,
    RecordPage,
    RecordRead,
)


def to_read(row: Row[Any]) -> RecordRead:
    return RecordRead(
        id=row.id,
        kind=row.kind,
        unit=row.unit,
        data=row.data,
        version=format_version(row.hlc, row.origin),
        deleted=row.deleted,
        origin=row.origin,
        schema_version=row.schema_version,
        seq=row.seq,
        updated_at=row.updated_at,
    )


def _checked_data(node: NodeIdentity, body: RecordIn, by: Principal) -> dict[str, Any]:
    """Jurisdiction first (403: the node's, then the writer's units), then the kind's own
    validation (422 naming the field)."""
    if body.kind in FEDERATION_KINDS:
        raise Invalid(
            f"{body.kind} records are written through /api/v1/directives, not /api/v1/records",
            [FieldError("kind", f"{body.kind} is the federation's own kind")],
        )
    if not is_within(body.unit, node.code):
        raise Forbidden(
            f"unit {body.unit} is outside this node's jurisdiction ({node.code})",
            [FieldError("unit", f"not in the subtree of {node.code}")],
        )
    by.require(body.unit)
    try:
        return validate_data(body.kind, body.data)
    except ValidationError as exc:
        details = [
            FieldError(d.field, d.reason)
            for d in details_from_validation_error(exc, prefix=("data",))
        ]
        raise Invalid(f"invalid {body.kind} data", details) from exc


def _check_held_here(unit: str, children: frozenset[str]) -> None:
    """403 for a write into a unit that a child node holds: it would never reach that node
    (records go up, never down), so the two would disagree for good (docs/decisions/0650)."""
    owner = child_holding(unit, children)
    if owner is None:
        return
    error = Forbidden(
        f"unit {unit} is held by node {owner}, not by this node: write it there, or ask it "
        "with a directive (POST /api/v1/directives: kind correction for a record it holds, "
        "task otherwise)",
        [FieldError("unit", f"held by node {owner}")],
    )
    error.extra = {"owner": owner, "directives": "/api/v1/directives"}
    raise error


def _check_ownership(node: NodeIdentity, head: Row[Any] | None, body: RecordIn, rid: Any) -> None:
    if head is None:
        return
    if head.origin != node.code:
        raise Conflict(
            f"record {rid} belongs to node {head.origin}; change it there "
            "(or send it a correction request)",
            [FieldError("id", f"owned by {head.origin}")],
        )
    if head.kind != body.kind:
        raise Conflict(
            f"record {rid} is a {head.kind}, not a {body.kind}",
            [FieldError("kind", f"id already used by a {head.kind}")],
        )


def _write_one(
    txn: WriteTxn,
    node: NodeIdentity,
    rid: uuid.UUID,
    body: RecordIn,
    data: dict[str, Any],
    deleted: bool = False,
) -> None:
    version = Version(
        id=rid,
        kind=body.kind,
        unit=body.unit,
        data=data,
        hlc=txn.issue(),
        origin=node.code,
        deleted=deleted,
        schema_version=SCHEMA_VERSION,
    )
    store_versions(txn, [version])


def _read_back(txn: WriteTxn, rid: uuid.UUID) -> RecordRead:
    row = repository.get_row(txn.conn, rid)
    assert row is not None
    return to_read(row)


def _audit(txn: WriteTxn, by: Principal, action: str, rid: uuid.UUID, body: RecordIn) -> None:
    detail = f"{rid} ({body.kind} at {body.unit})"
    audit.in_txn(txn, actor=by.actor, action=action, detail=detail)


def create_record(
    db: Database, *, node: NodeIdentity, body: RecordCreate, by: Principal | None = None
) -> RecordRead:
    """Create a record; an id that already exists (even deleted) is a 409.

    `by` is the writer (confines it to its units; named in the audit entry written with the
    record); default: the OS user of a local command. Likewise for every write below."""
    by = by or local()
    data = _checked_data(node, body, by)
    rid = body.id or uuid7()
    with db.write() as txn:
        _check_held_here(body.unit, enrolled_children(txn.conn))
        if repository.fetch_heads(txn.conn, [rid]):
            raise Conflict(f"record {rid} already exists", [FieldError("id", "already exists")])
        _write_one(txn, node, rid, body, data)
        _audit(txn, by, "record.create", rid, body)
        return _read_back(txn, rid)


def put_record(
    db: Database,
    *,
    node: NodeIdentity,
    record_id: uuid.UUID,
    body: RecordIn,
    by: Principal | None = None,
) -> tuple[RecordRead, bool]:
    """Create or replace; returns the record and whether it was created (or revived)."""
    by = by or local()
    with db.write() as txn:
        head = repository.fetch_heads(txn.conn, [record_id]).get(record_id)
        if head is not None and not head.deleted and head.kind == body.kind in PERSONAL:
            stored = repository.get_row(txn.conn, record_id)
            assert stored is not None
            body = body.model_copy(update={"data": restored(body.kind, body.data, stored.data)})
        data = _checked_data(node, body, by)
        _check_held_here(body.unit, enrolled_children(txn.conn))
        _check_ownership(node, head, body, record_id)
        if head is not None and not head.deleted:
            by.require(head.unit)  # moving a record out of another's grid is a write there
        _write_one(txn, node, record_id, body, data)
        created = head is None or head.deleted
        _audit(txn, by, "record.create" if created else "record.replace", record_id, body)
        return _read_back(txn, record_id), created


def delete_record(
    db: Database, *, node: NodeIdentity, record_id: uuid.UUID, by: Principal | None = None
) -> None:
    """Replace the record by a tombstone that replicates like any change."""
    by = by or local()
    with db.write() as txn:
        row = repository.get_row(txn.conn, record_id)
        if row is None or row.deleted:
            raise NotFound(f"record {record_id} not found")
        body = RecordIn(kind=row.kind, unit=row.unit, data={})
        if not is_within(row.unit, node.code):
            raise Forbidden(f"record {record_id} is outside this node's jurisdiction")
        by.require(row.unit)
        _check_ownership(node, row, body, record_id)
        # A tombstone carries no personal data: only the id, kind, unit and version travel.
        _write_one(txn, node, record_id, body, {}, deleted=True)
        _audit(txn, by, "record.delete", record_id, body)


def get_record(db: Database, *, record_id: uuid.UUID, by: Principal | None = None) -> RecordRead:
    """A live record; 404 also when it lies outside the reader's units (nothing to learn)."""
    with db.read() as conn:
        row = repository.get_row(conn, record_id)
    if row is None or row.deleted or not (by or local()).covers(row.unit):
        raise NotFound(f"record {record_id} not found")
    return to_read(row)


def encode_cursor(unit: str, rid: uuid.UUID) -> str:
    return base64.urlsafe_b64encode(f"{unit}|{rid}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[str, uuid.UUID]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        unit, _, rid = raw.partition("|")
        return unit, uuid.UUID(rid)
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise Invalid(
            "malformed cursor", [FieldError("cursor", "not a cursor from this API")]
        ) from exc


def list_records(
    db: Database,
    *,
    kind: str | None,
    unit: str,
    limit: int,
    cursor: str | None,
    by: Principal | None = None,
    id_number: str | None = None,
) -> RecordPage:
    (by or local()).require(unit)
    after = decode_cursor(cursor) if cursor else None
    id_hash = None
    if id_number is not None:
        id_hash = db.sealer.lookup_hash(id_number) if db.sealer is not None else None
        if id_hash is None:
            raise Invalid(
                "this node cannot look up ID numbers (no hash key)",
                [FieldError("id_number", "no hash key at this node")],
            )
    with db.read() as conn:
        rows = repository.list_page(
            conn, kind=kind, unit=unit, after=after, limit=limit + 1, id_hash=id_hash
        )
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = encode_cursor(rows[-1].unit, rows[-1].id) if more and rows else None
    return RecordPage(items=[to_read(r) for r in rows], next_cursor=next_cursor)


def bulk_write(
    db: Database, *, node: NodeIdentity, items: list[Any], by: Principal | None = None
) -> BulkResult:
    """Store every valid record (create or replace) and list every invalid one with its index.

    One audit entry for the whole import, with its counts, in the import's transaction."""
    by = by or local()
    items = _unmasked(db, items)
    rejected: list[BulkRejection] = []
    accepted: dict[uuid.UUID, tuple[int, RecordCreate, dict[str, Any]]] = {}
    for index, raw in enumerate(items):
        if isinstance(raw, Unparsable):
            rejected.append(BulkRejection(index=index, id=None, error=raw.reason))
            continue
        try:
            body = RecordCreate.model_validate(raw)
            data = _checked_data(node, body, by)
        except ValidationError as exc:
            rejected.append(_rejection(index, raw, _describe(exc)))
            continue
        except (Forbidden, Invalid) as exc:
            rejected.append(_rejection(index, raw, _describe_error(exc)))
            continue
        # A later row with the same id replaces an earlier one, as sequential PUTs would.
        accepted[body.id or uuid7()] = (index, body, data)
    with db.write() as txn:
        heads = repository.fetch_heads(txn.conn, list(accepted))
        children = enrolled_children(txn.conn)
        versions: list[Version] = []
        for rid, (index, body, data) in accepted.items():
            head = heads.get(rid)
            try:
                _check_held_here(body.unit, children)
                _check_ownership(node, head, body, rid)
                if head is not None and not head.deleted:
                    by.require(head.unit)
            except (Conflict, Forbidden) as exc:
                rejected.append(_rejection(index, {"id": str(rid)}, _describe_error(exc)))
                continue
            versions.append(
                Version(
                    rid, body.kind, body.unit, data, txn.issue(), node.code, False, SCHEMA_VERSION
                )
            )
        store_versions(txn, versions, heads=heads)
        result = BulkResult(accepted=len(items) - len(rejected), rejected=rejected)
        detail = f"{result.accepted} accepted, {len(rejected)} rejected"
        audit.in_txn(txn, actor=by.actor, action="records.import", detail=detail)
    rejected.sort(key=lambda r: r.index)
    return result


def _unmasked(db: Database, items: list[Any]) -> list[Any]:
    """Rows sent back as they were shown (a masked export edited and imported again) get the
    stored personal data the masking hid, as a PUT does; other rows are left as they are."""
    wanted: dict[int, uuid.UUID] = {}
    for index, raw in enumerate(items):
        if (
            isinstance(raw, dict)
            and raw.get("id")
            and looks_masked(raw.get("kind"), raw.get("data"))
        ):
            try:
                wanted[index] = uuid.UUID(str(raw["id"]))
            except ValueError:
                continue  # rejected with its reason below
    if not wanted:
        return items
    with db.read() as conn:
        stored = repository.rows_by_ids(conn, list(set(wanted.values())))
    out = list(items)
    for index, rid in wanted.items():
        row, raw = stored.get(rid), items[index]
        if row is not None and not row.deleted and row.kind == raw["kind"]:
            out[index] = {**raw, "data": restored(row.kind, raw["data"], row.data)}
    return out


def _rejection(index: int, raw: Any, error: str) -> BulkRejection:
    rid = raw.get("id") if isinstance(raw, dict) else None
    return BulkRejection(index=index, id=str(rid) if rid is not None else None, error=error)


def _describe(exc: ValidationError) -> str:
    return summarize(details_from_validation_error(exc))


def _describe_error(exc: Forbidden | Invalid | Conflict) -> str:
    parts = [f"{d.field}: {d.reason}" if d.field else d.reason for d in exc.details]
    return exc.message + (" (" + "; ".join(parts) + ")" if parts else "")
