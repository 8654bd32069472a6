"""Reveal on request (issue 14, docs/decisions/1001): one record in full, asked of its owner.

Requester: `request` issues a directive of kind `reveal` to the record's owner with a fresh
X25519 public key, and keeps the private half (sealed with the data key) in `reveal_requests`.
Owner: `approve` seals the record as it holds it to that key and writes it into its "done"
receipt; `refuse` is the directives' refusal. The receipt travels up like any other; the tiers
between store only ciphertext. Requester: `show` opens the answer while the hold lasts and
audits each read; `purge_due` deletes the private key when it ends (every copy of the
answer, wherever it lies, is then unreadable). Every step is audited where it happens, in the
transaction that makes it.
"""

import uuid
from datetime import datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import Connection, Row

from federation.privacy import reveal_box
from node.audit import service as audit
from node.context import NodeContext
from node.db import Database, WriteTxn
from node.directives import repository as directives_repo
from node.directives import service as directives
from node.directives.issue import issue_in_txn
from node.directives.versions import ms_to_datetime, receipt_of, receipt_version
from node.errors import Conflict, FieldError, Forbidden, Invalid, NotFound
from node.principal import Principal, local
from node.records import repository as records_repo
from node.records.service import to_read
from node.records.store import store_versions
from node.reveals import repository
from schemas.directives import REJECTED_PREFIX, DirectiveCreate, InboxItem, InboxPage, receipt_id
from schemas.kinds import FEDERATION_KINDS
from schemas.kinds.directive import DirectiveKind, DirectiveStatus
from schemas.kinds.receipt import ReceiptState
from schemas.reveals import RevealPage, RevealRead, RevealStatus

TITLE = "查阅个人信息请求"
APPROVED = "已批准"


def now_of(db: Database) -> datetime:
    """The node's time (its clock: virtual under the simulator), as the requests store it."""
    return ms_to_datetime(db.clock())


def _seal_key(db: Database, request_id: uuid.UUID, private: bytes) -> bytes:
    sealer = db.sealer
    if sealer is None:  # a read-only opening: nothing is written anyway
        return private
    return bytes(sealer.suite.seal(sealer.key, private, request_id.bytes))


def _open_key(db: Database, request_id: uuid.UUID, stored: bytes) -> bytes:
    sealer = db.sealer
    if sealer is None:
        return stored
    return bytes(sealer.suite.open(sealer.key, stored, request_id.bytes))


# --- requester ------------------------------------------------------------------------------


def request(ctx: NodeContext, *, record_id: uuid.UUID, reason: str, by: Principal) -> RevealRead:
    """Ask the owner of a record this node holds (projected) for it in full, saying why."""
    db, node = ctx.db, ctx.identity
    with db.write() as txn:
        row = records_repo.get_row(txn.conn, record_id)
        if row is None or row.deleted or not by.covers(row.unit):
            raise NotFound(f"record {record_id} not found")
        if row.kind in FEDERATION_KINDS:
            raise Invalid(
                f"record {record_id} is a {row.kind}: only data records are revealed",
                [FieldError("record_id", f"a {row.kind}")],
            )
        if row.origin == node.code:
            raise Conflict(
                f"record {record_id} is owned by this node: read it in full with "
                f"POST /api/v1/records/{record_id}/reveal"
            )
        private, public = reveal_box.new_keypair()
        body = DirectiveCreate(
            title=TITLE, body=reason, kind=DirectiveKind.reveal, record_id=record_id
        )
        request_id = issue_in_txn(txn, node=node, body=body, actor=by.actor, reveal_key=public)
        repository.add(
            txn.conn,
            {
                "id": request_id,
                "record_id": record_id,
                "owner": row.origin,
                "reason": reason,
                "requested_by": by.actor[:64],
                "requested_at": now_of(db),
                "status": RevealStatus.pending.value,
                "private_key": _seal_key(db, request_id, private),
            },
        )
        detail = f"{request_id}: record {record_id} ({row.kind} at {row.unit}) of {row.origin}"
        audit.in_txn(txn, actor=by.actor, action="reveal.request", detail=f"{detail}: {reason}")
    wake = directives.wake_of(ctx)
    if wake is not None:
        wake()
    return show(ctx, request_id=request_id, by=by, read=False)


def _answer(conn: Connection, entry: Row[Any]) -> Row[Any] | None:
    """The owner's final receipt for the request, once it arrived here, else None."""
    rid = receipt_id(entry.id, entry.owner)
    receipt = receipt_of(records_repo.get_row(conn, rid), entry.id, entry.owner)
    if receipt is None or receipt.data.get("state") != ReceiptState.done:
        return None
    return receipt


def _settle(txn: WriteTxn, entry: Row[Any], hold_s: float, now: datetime) -> Row[Any]:
    """Move a pending request on once its answer arrived (audited); the row as it now is."""
    if entry.status != RevealStatus.pending:
        return entry
    receipt = _answer(txn.conn, entry)
    if receipt is None:
        return entry
    note = str(receipt.data.get("note") or "")
    if note.startswith(REJECTED_PREFIX):
        values: dict[str, Any] = {
            "status": RevealStatus.refused.value,
            "note": note.removeprefix(REJECTED_PREFIX),
            "answered_at": now,
            "private_key": None,  # nothing will ever be sealed to it
        }
    elif receipt.data.get("sealed"):
        values = {
            "status": RevealStatus.approved.value,
            "note": note or None,
            "answered_at": now,
            "expires_at": now + timedelta(seconds=hold_s),
        }
    else:
        return entry
    repository.set_values(txn.conn, entry.id, **values)
    audit.in_txn(
        txn,
        actor=f"node:{entry.owner}",
        action="reveal.answer",
        outcome=values["status"],
        detail=f"{entry.id}: record {entry.record_id}",
    )
    settled = repository.get(txn.conn, entry.id)
    assert settled is not None
    return settled


def _read(entry: Row[Any], record: dict[str, Any] | None = None) -> RevealRead:
    return RevealRead(
        id=entry.id,
        record_id=entry.record_id,
        owner=entry.owner,
        reason=entry.reason,
        requested_by=entry.requested_by,
        requested_at=entry.requested_at,
        status=RevealStatus(entry.status),
        answered_at=entry.answered_at,
        expires_at=entry.expires_at,
        note=entry.note,
        record=record,
    )


def _opened(db: Database, conn: Connection, entry: Row[Any]) -> dict[str, Any] | None:
    receipt = _answer(conn, entry)
    if receipt is None or entry.private_key is None:
        return None
    private = _open_key(db, entry.id, entry.private_key)
    plain = reveal_box.open_with(private, str(receipt.data["sealed"]), entry.id.bytes)
    record: dict[str, Any] = orjson.loads(plain)
    return record


def show(
    ctx: NodeContext, *, request_id: uuid.UUID, by: Principal | None = None, read: bool = True
) -> RevealRead:
    """A request as it stands; approved and held, with the record in full for the operator
    who asked (the read audited; anyone else: 403)."""
    db = ctx.db
    actor = (by or local()).actor
    now = now_of(db)
    with db.write() as txn:
        entry = repository.get(txn.conn, request_id)
        if entry is None:
            raise NotFound(f"reveal request {request_id} not found")
        entry = _settle(txn, entry, ctx.settings.reveal_hold_s, now)
        ends = entry.expires_at
        if entry.status == RevealStatus.approved and ends is not None and _aware(ends) <= now:
            entry = _purge(txn, entry)
        record = None
        if read and entry.status == RevealStatus.approved:
            if actor != entry.requested_by:
                raise Forbidden(
                    f"reveal request {request_id} was made by {entry.requested_by}: only they "
                    "read its answer"
                )
            record = _opened(db, txn.conn, entry)
            audit.in_txn(
                txn,
                actor=actor,
                action="personal.reveal",
                detail=f"{entry.record_id} from {entry.owner} (request {entry.id}): {entry.reason}",
            )
    return _read(entry, record)


def list_requests(ctx: NodeContext, *, limit: int = 100) -> RevealPage:
    """The requests made here, newest first, each as it stands (no record in them)."""
    with ctx.db.write(notify=False) as txn:
        now = now_of(ctx.db)
        rows = repository.newest(txn.conn, limit)
        items = [_settle(txn, row, ctx.settings.reveal_hold_s, now) for row in rows]
    return RevealPage(items=[_read(row) for row in items])


def _aware(at: datetime) -> datetime:
    return at if at.tzinfo is not None else at.replace(tzinfo=_UTC)


def _purge(txn: WriteTxn, entry: Row[Any]) -> Row[Any]:
    repository.set_values(txn.conn, entry.id, status=RevealStatus.expired.value, private_key=None)
    audit.in_txn(
        txn,
        actor="system",
        action="reveal.purge",
        detail=f"{entry.id}: record {entry.record_id}, the hold ended",
    )
    purged = repository.get(txn.conn, entry.id)
    assert purged is not None
    return purged


def purge_due(ctx: NodeContext, *, now: datetime | None = None) -> tuple[int, datetime | None]:
    """Settle the answers that arrived and purge those whose hold ended: how many purged, and
    when it next has something to do unless a commit comes first: now (a request waits for its
    answer), the end of the earliest hold, or None (nothing asked, nothing held)."""
    db = ctx.db
    at = now or now_of(db)
    with db.read() as conn:  # idle (nothing asked, nothing due): one statement, no transaction
        waiting = repository.outstanding(conn)
    if RevealStatus.pending.value not in waiting and not _ended(waiting, at):
        return 0, _next_due(waiting, at)
    with db.write(notify=False) as txn:
        for entry in repository.with_status(txn.conn, RevealStatus.pending.value):
            _settle(txn, entry, ctx.settings.reveal_hold_s, at)
        due = repository.expired(txn.conn, at)
        for entry in due:
            _purge(txn, entry)
        waiting = repository.outstanding(txn.conn)
    return len(due), _next_due(waiting, at)


def _ended(waiting: dict[str, datetime | None], at: datetime) -> bool:
    ends = waiting.get(RevealStatus.approved.value)
    return ends is not None and _aware(ends) <= _aware(at)


def _next_due(waiting: dict[str, datetime | None], at: datetime) -> datetime | None:
    if RevealStatus.pending.value in waiting:
        return at
    ends = waiting.get(RevealStatus.approved.value)
    return None if ends is None else _aware(ends)


# --- owner ----------------------------------------------------------------------------------


def inbox(ctx: NodeContext, *, limit: int = 100) -> InboxPage:
    """The reveal requests addressed to this node (the directive inbox, only those)."""
    page = directives.inbox(ctx.db, node=ctx.identity, limit=limit)
    return InboxPage(items=[i for i in page.items if i.kind == DirectiveKind.reveal])


def _request_here(conn: Connection, node_code: str, request_id: uuid.UUID) -> Row[Any]:
    entry = directives_repo.get_entry(conn, request_id)
    row = records_repo.get_row(conn, request_id)
    if entry is None or row is None or row.data.get("directive_kind") != DirectiveKind.reveal:
        raise NotFound(f"reveal request {request_id} is not addressed to this node")
    if node_code not in (row.data.get("target") or {}).get("units", []):
        raise NotFound(f"reveal request {request_id} is not addressed to this node")
    if entry.status != DirectiveStatus.active:
        raise Conflict(f"reveal request {request_id} is {entry.status}")
    return row


def approve(
    ctx: NodeContext, *, request_id: uuid.UUID, note: str | None, by: Principal
) -> InboxItem:
    """Send the record in full, sealed to the requester's key, up in this node's receipt."""
    db, node = ctx.db, ctx.identity
    with db.write() as txn:
        directive = _request_here(txn.conn, node.code, request_id)
        current = receipt_of(
            records_repo.get_row(txn.conn, receipt_id(request_id, node.code)),
            request_id,
            node.code,
        )
        if current is not None and current.data.get("state") == ReceiptState.done:
            raise Conflict(f"reveal request {request_id} was already answered")
        record_id = uuid.UUID(str(directive.data["record_id"]))
        row = records_repo.get_row(txn.conn, record_id)
        if row is None or row.deleted or row.origin != node.code:
            raise NotFound(f"record {record_id} is no longer held by this node")
        plain = to_read(row).model_dump_json().encode()
        sealed = reveal_box.seal_to(str(directive.data["reveal_key"]), plain, request_id.bytes)
        answer = f"{APPROVED}：{note}" if note else APPROVED
        version = receipt_version(
            txn,
            node_code=node.code,
            directive_id=request_id,
            state=ReceiptState.done,
            note=answer[:2000],
            sealed=sealed,
        )
        store_versions(txn, [version])
        audit.in_txn(
            txn,
            actor=by.actor,
            action="reveal.approve",
            detail=f"{request_id}: record {record_id} ({row.kind}) to {directive.origin}, sealed "
            f"to its key: {directive.data.get('body', '')}",
        )
    return _inbox_item(ctx, request_id)


def refuse(ctx: NodeContext, *, request_id: uuid.UUID, reason: str, by: Principal) -> InboxItem:
    """Say no, with a reason that travels up (a refusal receipt, like a correction's)."""
    with ctx.db.read() as conn:
        _request_here(conn, ctx.identity.code, request_id)
    return directives.reject(
        ctx.db, node=ctx.identity, directive_id=request_id, note=reason, actor=by.actor
    )


def _inbox_item(ctx: NodeContext, request_id: uuid.UUID) -> InboxItem:
    for item in inbox(ctx, limit=1000).items:
        if item.id == request_id:
            return item
    raise NotFound(f"reveal request {request_id} is not addressed to this node")


_UTC = ms_to_datetime(0).tzinfo
