"""The parent's side of a push: check, apply, advance the child's cursor — one transaction.

The batch, the child's new cursor, the quarantine entries, what the push sections make of the
batch (node/seams.py) and this node's own change log entries commit together, and the ack is
sent only after that commit. A repeated batch is a no-op.
"""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from federation.hlc import parse_version
from node.audit import service as audit
from node.context import NodeContext
from node.db import Database, WriteTxn
from node.errors import Conflict, FieldError, Forbidden, TiersyncError
from node.records import repository as records_repo
from node.records.store import Version, store_versions
from node.records.wire import version_of
from node.seams import PushSection
from node.sync import repository
from node.units import repository as units_repo
from schemas.codes import check_code, is_within, level_of, parent_of
from schemas.kinds import SCHEMA_VERSION, Kind
from schemas.sync import PROTOCOL_VERSION, ChangeRecord, PushAck, PushBatch, UnitChange

_KINDS = {k.value for k in Kind}


class CursorGap(Conflict):
    """The batch starts beyond what this node holds of the child: it must rewind."""

    def __init__(self, cursor: int, since: int) -> None:
        super().__init__(
            f"batch starts after {since} but this node holds the child's log only up to {cursor}"
        )
        self.code = "cursor_mismatch"
        self.cursor = cursor
        self.extra = {"cursor": cursor}


class ProtocolMismatch(TiersyncError):
    status_code = 400
    code = "protocol_mismatch"


def check_protocol(version: int) -> None:
    if version != PROTOCOL_VERSION:
        raise ProtocolMismatch(
            f"peer speaks tiersync protocol {version}; this node speaks {PROTOCOL_VERSION}"
        )


@dataclass(frozen=True)
class Receiver:
    db: Database
    node_code: str
    has_parent: bool
    sections: Sequence[PushSection] = field(default_factory=tuple)  # node/wiring.py

    def apply_push(self, *, child: str, batch: PushBatch) -> PushAck:
        check_protocol(batch.protocol)
        if batch.source != child:
            raise Forbidden(f"credential of {child} used to push as {batch.source}")
        try:
            _check_jurisdiction(child, batch)
            return self._apply(child, batch)
        except Forbidden as refused:  # outside the subtree, or not the child's to write
            self._audit_refusal(child, refused)
            raise

    def _apply(self, child: str, batch: PushBatch) -> PushAck:
        # An empty batch (a heartbeat) adds nothing to this node's log: no need to wake its
        # replicator.
        with self.db.write(notify=bool(batch.records or batch.units)) as txn:
            cursor = repository.child_cursor(txn.conn, child)
            if batch.since > cursor:
                raise CursorGap(cursor, batch.since)
            versions, quarantined = _sort_records(txn, child, batch.records)
            heads = records_repo.fetch_heads(txn.conn, [v.id for v in versions])
            _check_ownership(child, batch.records, heads)
            result = store_versions(txn, versions, heads=heads)
            apply_units(txn, batch.units)
            repository.add_quarantined(txn.conn, quarantined)
            cursor = max(cursor, batch.until)
            repository.save_child_push(
                txn.conn,
                code=child,
                cursor=cursor,
                at=txn.now,
                received=len(result.stored),
                protocol=batch.protocol,
            )
            repository.add_batch_mark(
                txn.conn, code=child, child_seq=batch.until, local_seq=txn.last_hlc
            )
            durable = self._durable(txn, child, cursor)
            contributed: dict[str, Any] = {}  # what the push sections add to the ack
            stored = len(result.stored)
            for section in self.sections:
                contributed |= section.incoming(txn, child=child, batch=batch, stored=stored)
        return PushAck(
            cursor=cursor,
            applied=len(result.stored),
            stale=len(result.stale),
            quarantined=len(quarantined),
            durable=durable,
            **contributed,
        )

    def cursor_of(self, child: str) -> int:
        with self.db.read() as conn:
            return repository.child_cursor(conn, child)

    def _durable(self, txn: WriteTxn, child: str, cursor: int) -> int:
        """How far up the child's log every ancestor holds: all of it at the top."""
        if not self.has_parent:
            return cursor
        own = repository.get_upstream(txn.conn)
        local_durable = int(own.durable_seq) if own else 0
        return repository.durable_child_seq(txn.conn, code=child, local_durable=local_durable)

    def _audit_refusal(self, child: str, refused: Forbidden) -> None:
        audit.record(
            self.db,
            actor=f"node:{child}",
            action="sync.push",
            outcome="refused",
            detail=refused.message,
        )


def receiver(ctx: NodeContext) -> Receiver:
    """This node's receiver of pushes, with the push sections it was wired with."""
    has_parent = bool(ctx.settings.parent_url)
    return Receiver(ctx.db, ctx.identity.code, has_parent, sections=ctx.push_sections)


def _check_jurisdiction(child: str, batch: PushBatch) -> None:
    """Every record, its origin and every unit must lie in the pushing child's subtree."""
    problems: list[FieldError] = []
    inside: dict[str, bool] = {}  # a batch repeats a handful of codes: judge each once
    for i, rec in enumerate(batch.records):
        origin = rec.version.partition(".")[2]
        for name, code in (("unit", rec.unit), ("origin", origin)):
            ok = inside.get(code)
            if ok is None:
                ok = inside[code] = _inside(code, child)
            if not ok:
                problems.append(FieldError(f"records.{i}.{name}", f"{code!r} not under {child}"))
    for i, unit in enumerate(batch.units):
        if not _inside(unit.code, child):
            problems.append(FieldError(f"units.{i}.code", f"{unit.code!r} not under {child}"))
    if problems:
        raise Forbidden(
            f"batch from {child} holds {len(problems)} record(s) outside its jurisdiction; "
            "nothing was stored",
            problems[:20],
        )


def _check_ownership(child: str, records: list[ChangeRecord], heads: dict[uuid.UUID, Any]) -> None:
    """No pushed version may replace one this node holds from outside the child's subtree.

    The pushed version's own origin was judged by _check_jurisdiction; this looks at the stored
    record it would replace (a sibling's, this node's, an ancestor's directive): a child owns
    only what was made in its subtree (docs/protocol.md, Ownership).
    """
    problems: list[FieldError] = []
    for i, rec in enumerate(records):
        head = heads.get(rec.id)
        if head is not None and not is_within(head.origin, child):
            owner = f"{head.kind} {rec.id} is owned by {head.origin}"
            problems.append(FieldError(f"records.{i}.id", f"{owner}, not under {child}"))
    if problems:
        first = problems[0].reason.split(",")[0]
        raise Forbidden(
            f"batch from {child} would change {len(problems)} record(s) it does not own "
            f"({first}); nothing was stored",
            problems[:20],
        )


def _inside(code: str, root: str) -> bool:
    try:
        check_code(code)
    except ValueError:
        return False
    return is_within(code, root)


def _sort_records(
    txn: WriteTxn, child: str, records: list[ChangeRecord]
) -> tuple[list[Version], list[dict[str, Any]]]:
    """Storable versions (latest per id), and quarantine rows for what cannot be accepted."""
    latest: dict[uuid.UUID, Version] = {}
    quarantined: list[dict[str, Any]] = []
    for rec in records:
        reason = _unacceptable(rec)
        if isinstance(reason, str):
            quarantined.append(_quarantine_row(txn, child, rec, reason))
            continue
        version = version_of(rec, *reason)
        held = latest.get(rec.id)
        if held is None or version.order_key() > held.order_key():
            latest[rec.id] = version
    return list(latest.values()), quarantined


def _unacceptable(rec: ChangeRecord) -> str | tuple[int, str]:
    """Why the record cannot be accepted, else its parsed version (hlc, origin)."""
    # Data is validated where it enters the network (the owner node); a parent checks what it
    # must to store and count it, so a clock-skewed village is never refused for its dates.
    if rec.kind not in _KINDS:
        return f"unknown kind {rec.kind!r}"
    if rec.schema_version > SCHEMA_VERSION:
        return f"schema version {rec.schema_version} is newer than this node's {SCHEMA_VERSION}"
    try:
        return parse_version(rec.version)
    except ValueError as exc:
        return str(exc)


def _quarantine_row(txn: WriteTxn, child: str, rec: ChangeRecord, reason: str) -> dict[str, Any]:
    return {
        "child": child,
        "record_id": rec.id,
        "kind": rec.kind,
        "unit": rec.unit,
        "version": rec.version[:64],
        "reason": reason,
        "payload": rec.model_dump(mode="json"),
        "at": txn.now,
    }


def apply_units(txn: WriteTxn, units: list[UnitChange]) -> int:
    """Store registry entries newer (by hlc) than those held; returns how many were stored."""
    stored = 0
    for unit in units:
        held = units_repo.get_unit(txn.conn, unit.code)
        if held is not None and held.hlc >= unit.hlc:
            continue
        stored += 1
        txn.observe(unit.hlc)
        units_repo.upsert_unit(
            txn.conn,
            {
                "code": unit.code,
                "name": unit.name,
                "level": level_of(unit.code).value,
                "parent": parent_of(unit.code),
                "hlc": unit.hlc,
                "seq": txn.tick(),
            },
        )
    return stored
