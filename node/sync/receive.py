"""The parent's side of a push: check, apply, advance the child's cursor — one transaction.

The batch, the child's new cursor, the quarantine entries, what the push sections make of the
batch (node/seams.py) and this node's own change log entries commit together, and the ack is
sent only after that commit. A repeated batch is a no-op.
"""

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from federation.hlc import parse_version, physical_ms
from node.audit import service as audit
from node.context import NodeContext
from node.db import Database, WriteTxn
from node.errors import Conflict, FieldError, Forbidden, TiersyncError
from node.records import horizons as horizons_repo
from node.records import repository as records_repo
from node.records.store import Version, log_given_up, refresh_projections
from node.records.wire import to_change_record, version_of
from node.seams import PushSection, RecordScreen
from node.sync import repository
from node.sync.intake import Refused, StoreFailed, refused_row, store_isolated, store_whole
from node.units import repository as units_repo
from schemas.codes import check_code, is_within, level_of, parent_of
from schemas.kinds import FEDERATION_KINDS, SCHEMA_VERSION, Kind
from schemas.sync import (
    PROTOCOL_VERSION,
    ChangeRecord,
    CursorInfo,
    PushAck,
    PushBatch,
    UnitChange,
)

_KINDS = {k.value for k in Kind}
log = logging.getLogger("tiersync.sync")


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
class QuarantineRetry:
    tried: int
    applied: int  # versions stored
    stale: int  # older than what is held: nothing to do
    left: int  # entries still quarantined


@dataclass(frozen=True)
class Receiver:
    db: Database
    node_code: str
    has_parent: bool
    sections: Sequence[PushSection] = field(default_factory=tuple)  # node/wiring.py
    screens: Sequence[RecordScreen] = field(default_factory=tuple)  # checked before storing

    def apply_push(
        self, *, child: str, batch: PushBatch, refused: Sequence[Refused] = ()
    ) -> PushAck:
        """Apply a push in one transaction; `refused` are its records that did not parse
        (node/sync/intake.py): quarantined with their reason, like any it cannot store."""
        check_protocol(batch.protocol)
        if batch.source != child:
            raise Forbidden(f"credential of {child} used to push as {batch.source}")
        try:
            parsed = _check_jurisdiction(child, batch)
            try:
                return self._apply(child, batch, refused, parsed, isolate=False)
            except StoreFailed as failed:  # rolled back: again, record by record
                log.warning(
                    "a pushed batch failed to apply (%s); storing it record by record", failed
                )
                return self._apply(child, batch, refused, parsed, isolate=True)
        except Forbidden as refusal:  # outside the subtree, or not the child's to write
            self._audit_refusal(child, refusal)
            raise

    def _apply(
        self,
        child: str,
        batch: PushBatch,
        refused: Sequence[Refused],
        parsed: dict[str, tuple[int, str]],
        *,
        isolate: bool,
    ) -> PushAck:
        # An empty batch (a heartbeat) adds nothing to this node's log: no need to wake its
        # replicator.
        with self.db.write(notify=bool(batch.records or batch.units)) as txn:
            cursor = repository.child_cursor(txn.conn, child)
            if batch.since > cursor:
                raise CursorGap(cursor, batch.since)
            records, quarantined, screened = self._screen(txn, child, batch, refused)
            sorted_versions, more = _sort_records(txn, child, records, parsed)
            quarantined += more
            # What is held of every pushed id, also of those quarantined just now (a version
            # far ahead, an unknown kind): ownership is judged on all of them.
            heads = records_repo.fetch_heads(txn.conn, list({r.id: r for r in batch.records}))
            versions, given_up = _given_up(child, sorted_versions, heads)
            gone = {v.id for v in given_up}
            _check_ownership(child, [r for r in batch.records if r.id not in gone], heads)
            log_given_up(txn, given_up, heads)
            quarantined, collected = _past_horizons(txn, quarantined, heads)
            quarantined += [refused_row(txn, child, r) for r in refused]
            if isolate:
                result, failed = store_isolated(txn, versions, heads, whole_first=False)
            else:  # the common case: no savepoint (StoreFailed rolls it all back)
                result, failed = store_whole(txn, versions, heads), []
            # A re-projection under a changed privacy policy: same versions, other data.
            refresh_projections(txn, versions, result.stale, heads)
            quarantined += [_failed_row(txn, child, v, reason) for v, reason in failed]
            apply_units(txn, batch.units)
            repository.add_quarantined(txn.conn, quarantined)
            for outcome in screened:
                if outcome.keep is not None:
                    outcome.keep(txn)
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
            now_ms=self.db.clock(),
            cursor=cursor,
            applied=len(result.stored),
            stale=len(result.stale) + collected,
            quarantined=len(quarantined),
            durable=durable,
            **contributed,
        )

    def _screen(
        self, txn: WriteTxn, child: str, batch: PushBatch, refused: Sequence[Refused]
    ) -> tuple[list[ChangeRecord], list[dict[str, Any]], list[Any]]:
        """The records the screens let through, the quarantine rows of those they refuse,
        and the screens' outcomes (node.seams.RecordScreen)."""
        if not self.screens:
            return batch.records, [], []
        refused_at = [r.index for r in refused]
        outcomes = [
            s.screen(txn, child=child, batch=batch, refused_at=refused_at) for s in self.screens
        ]
        bad: dict[int, str] = {}
        for outcome in outcomes:
            for i, reason in outcome.refused.items():
                bad.setdefault(i, reason)
        if not bad:
            return batch.records, [], outcomes
        kept = [r for i, r in enumerate(batch.records) if i not in bad]
        rows = [_quarantine_row(txn, child, batch.records[i], why) for i, why in bad.items()]
        return kept, rows, outcomes

    def retry_quarantined(self, ids: list[int] | None = None) -> QuarantineRetry:
        """Apply again what the quarantine holds (all, or the entries `ids`), as a push would:
        after an upgrade that understands them, or once an operator fixed their cause. An
        entry that is now stored, or older than what is held, leaves the quarantine; the rest
        stay. One transaction."""
        with self.db.write() as txn:
            rows = repository.quarantined_rows(txn.conn, ids)
            by_child: dict[str, list[tuple[int, ChangeRecord]]] = {}
            for row in rows:
                if ids is None and row.reason.startswith(ORIGIN_SEAL):
                    continue  # what a relay altered is not applied without an operator
                try:
                    rec = ChangeRecord.model_validate(row.payload)
                except ValueError:
                    continue  # not a record at all: it stays until released
                if _inside(rec.unit, row.child):
                    by_child.setdefault(row.child, []).append((row.id, rec))
            done: list[int] = []
            applied = stale = 0
            for child, entries in by_child.items():
                records = [rec for _, rec in entries]
                versions, _still = _sort_records(txn, child, records)
                mine = [v for v in versions if _inside(v.origin, child)]
                heads = records_repo.fetch_heads(txn.conn, [v.id for v in mine])
                try:
                    _check_ownership(child, records, heads)
                except Forbidden:
                    continue
                # Each was held to the horizons when it arrived, and an entry older than a
                # tombstone of its id that was collected since went with it (node/tombstones).
                result, _failed = store_isolated(txn, mine, heads, horizons_judged=True)
                applied, stale = applied + len(result.stored), stale + len(result.stale)
                settled = {*result.stored, *result.stale}  # each id's newest, or older
                done += [qid for qid, rec in entries if rec.id in settled and _parses(rec)]
            repository.delete_quarantined(txn.conn, done)
        return QuarantineRetry(
            tried=len(rows), applied=applied, stale=stale, left=len(rows) - len(done)
        )

    def cursor_of(self, child: str) -> int:
        with self.db.read() as conn:
            return repository.child_cursor(conn, child)

    def standing_of(self, child: str) -> CursorInfo:
        """The child's cursor here and the highest version it issued that this node holds, or
        collected (its horizon: a restored child's new versions must sort above that too)."""
        with self.db.read() as conn:
            cursor = repository.child_cursor(conn, child)
            held = records_repo.max_hlc_of_origin(conn, origin=child)
            horizon = horizons_repo.horizons_of(conn, [child]).get(child, 0)
        issued = max(held, horizon)
        return CursorInfo(cursor=cursor, issued=issued)

    def _durable(self, txn: WriteTxn, child: str, cursor: int) -> int:
        """How far up the child's log every ancestor holds: all of it at the top, but never a
        version held here in quarantine. The marks below it are collected (they would
        otherwise grow with every push; a quarantined version holds back only the answer)."""
        if not self.has_parent:
            durable = cursor
        else:
            own = repository.get_upstream(txn.conn)
            local_durable = int(own.durable_seq) if own else 0
            durable = repository.durable_child_seq(
                txn.conn, code=child, local_durable=local_durable
            )
        repository.prune_batch_marks(txn.conn, code=child, below=durable)
        return repository.held_durable(txn.conn, code=child, durable=durable)

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
    return Receiver(
        ctx.db,
        ctx.identity.code,
        has_parent,
        sections=ctx.push_sections,
        screens=ctx.record_screens,
    )


def _check_jurisdiction(child: str, batch: PushBatch) -> dict[str, tuple[int, str]]:
    """Every record, its origin and every unit must lie in the pushing child's subtree.
    Returns the versions parsed on the way (version → (hlc, origin)), not to parse them twice."""
    problems: list[FieldError] = []
    inside: dict[str, bool] = {}  # a batch repeats a handful of codes: judge each once
    parsed: dict[str, tuple[int, str]] = {}
    for i, rec in enumerate(batch.records):
        try:
            parsed[rec.version] = version = parse_version(rec.version)
            origins = [("origin", version[1])]
        except ValueError:  # a malformed version is quarantined (_unacceptable), not refused
            origins = []
        for name, code in (("unit", rec.unit), *origins):
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
    return parsed


def _past_horizons(
    txn: WriteTxn, rows: list[dict[str, Any]], heads: dict[uuid.UUID, Any]
) -> tuple[list[dict[str, Any]], int]:
    """(to quarantine, how many are stale): a version that cannot be accepted now but is at
    or below its origin's collection horizon, for an id not held, is stale as it would be if it
    could (store_versions): it is judged now, for a retry later does not judge it again."""
    parsed: list[tuple[dict[str, Any], int, str]] = []
    for row in rows:
        try:
            hlc, origin = parse_version(row["version"])
        except ValueError:
            continue
        if row["record_id"] not in heads:
            parsed.append((row, hlc, origin))
    if not parsed:
        return rows, 0
    horizons = horizons_repo.horizons_of(txn.conn, {origin for _, _, origin in parsed})
    stale = {id(row) for row, hlc, origin in parsed if hlc <= horizons.get(origin, -1)}
    return [r for r in rows if id(r) not in stale], len(stale)


def _given_up(
    child: str, versions: list[Version], heads: dict[uuid.UUID, Any]
) -> tuple[list[Version], list[Version]]:
    """(to store, given up): a tombstone for an id held here from outside the child's subtree
    is the child giving up its copy of a conflicting id (a move to a new id, or a deletion):
    it changes nothing here, is logged as lost, and does not refuse the batch."""
    keep: list[Version] = []
    gone: list[Version] = []
    for version in versions:
        head = heads.get(version.id)
        foreign = head is not None and not is_within(head.origin, child)
        data_record = version.kind not in FEDERATION_KINDS  # a directive's tombstone is refused
        (gone if foreign and version.deleted and data_record else keep).append(version)
    return keep, gone


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


def _parses(rec: ChangeRecord) -> bool:
    return not isinstance(_unacceptable(rec), str)


def _inside(code: str, root: str) -> bool:
    try:
        check_code(code)
    except ValueError:
        return False
    return is_within(code, root)


def _sort_records(
    txn: WriteTxn,
    child: str,
    records: list[ChangeRecord],
    parsed: dict[str, tuple[int, str]] | None = None,
) -> tuple[list[Version], list[dict[str, Any]]]:
    """Storable versions (latest per id), and quarantine rows for what cannot be accepted
    (`parsed`: versions already parsed, by their wire form)."""
    latest: dict[uuid.UUID, Version] = {}
    quarantined: list[dict[str, Any]] = []
    ceiling = txn.ceiling()  # the clock read once per batch
    for rec in records:
        reason = _unacceptable(rec, parsed)
        if isinstance(reason, str):
            quarantined.append(_quarantine_row(txn, child, rec, reason))
            continue
        if reason[0] > ceiling:
            quarantined.append(_quarantine_row(txn, child, rec, _ahead(txn, reason[0])))
            continue
        version = version_of(rec, *reason)
        held = latest.get(rec.id)
        if held is None or version.order_key() > held.order_key():
            latest[rec.id] = version
    return list(latest.values()), quarantined


CLOCK_AHEAD = "clock ahead"
ORIGIN_SEAL = "来源签名"
"""The start of the reason of a record refused for its origin's seal (node/origins): applied
again only when an operator names its entry (`tiersync quarantine retry ID`), never by a retry
of the whole quarantine (at start, or `retry` without ids)."""


def _ahead(txn: WriteTxn, hlc: int) -> str:
    ahead_s = (physical_ms(hlc) - txn.clock()) / 1000
    return (
        f"{CLOCK_AHEAD}: version is {ahead_s:,.0f} s ahead of this node's clock (more than "
        f"TIERSYNC_MAX_CLOCK_SKEW_S = {txn.max_skew_ms / 1000:g} s): the clock of the node that "
        "wrote it is wrong; it is applied once this node's time reaches it "
        "(`tiersync quarantine retry`)"
    )


def _unacceptable(
    rec: ChangeRecord, parsed: dict[str, tuple[int, str]] | None = None
) -> str | tuple[int, str]:
    """Why the record cannot be accepted, else its parsed version (hlc, origin)."""
    # Data is validated where it enters the network (the owner node); a parent checks what it
    # must to store and count it, so a clock-skewed village is never refused for its dates.
    if rec.kind not in _KINDS:
        return f"unknown kind {rec.kind!r}"
    if rec.schema_version > SCHEMA_VERSION and not rec.deleted:
        # A tombstone carries no data to understand: it always applies, so a record deleted
        # below never stays alive here (issue 10, defect 9). A tombstone of an unknown kind
        # is quarantined: every version of that id was, so nothing of it is alive here.
        return f"schema version {rec.schema_version} is newer than this node's {SCHEMA_VERSION}"
    known = parsed.get(rec.version) if parsed else None
    if known is not None:
        return known
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


def _failed_row(txn: WriteTxn, child: str, v: Version, reason: str) -> dict[str, Any]:
    return _quarantine_row(txn, child, to_change_record(v), reason)


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
