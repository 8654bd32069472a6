"""Poison isolation at a parent (issue 10, defect 2): no record a child sends can block the
records behind it, nor make the parent answer 500 for ever.

- Parsing: the batch is validated whole; if that fails, its envelope is checked on its own
  (a bad `since` is the batch's fault: 422), then each record on its own. A record that is
  not a valid ChangeRecord (U+0000, NaN, an integer beyond 64 bits, a missing field) is
  *refused*: quarantined with its reason, the rest applied.
- Storing: the batch is stored as it is, in the push's transaction (`store_whole`, no
  savepoint: on SQLite a savepoint around a batch copies every page it touches into a
  sub-journal, a temporary file past 64 KiB). If that fails for a reason other than the
  database itself (an engine refusing a value, a roll-up overflowing), the whole transaction is
  rolled back (`StoreFailed`) and the push applied again with its versions stored one by one,
  each under its own savepoint, all in one transaction (`store_isolated`); each one that fails
  is quarantined with the error. A database that is down, full or locked fails the whole push
  (the child retries; nothing is quarantined for it).
"""

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import Field, ValidationError
from sqlalchemy.exc import OperationalError

from node.db import WriteTxn
from node.records.store import StoreResult, Version, store_versions
from node.supervisor import describe
from schemas.errors import details_from_validation_error
from schemas.storable import first_problem
from schemas.sync import MAX_PUSH_ITEMS, ChangeRecord, PushBatch

log = logging.getLogger("tiersync.sync")
REASON_MAX = 500


class IncomingBatch(PushBatch):
    """A push as parsed at the parent: the envelope checked, the records still raw JSON."""

    records: list[Any] = Field(
        default_factory=list, max_length=MAX_PUSH_ITEMS, description="at most 10,000"
    )


@dataclass(frozen=True)
class Refused:
    """A record of a push that could not be read as a ChangeRecord, and why."""

    raw: Any
    reason: str
    index: int = -1  # its place in the push's records as sent


def parse_push(body: bytes) -> tuple[PushBatch, list[Refused]]:
    """A push body as (the batch with the records that parse, those that do not). The whole
    batch is validated at once, the common case; only when that fails are the envelope and
    then each record read on its own, to isolate the records that do not parse."""
    try:
        return PushBatch.model_validate_json(body), []
    except ValidationError:
        return split_records(IncomingBatch.model_validate_json(body))


def split_records(batch: IncomingBatch) -> tuple[PushBatch, list[Refused]]:
    """The batch with the records that parse, and those that do not."""
    good: list[ChangeRecord] = []
    refused: list[Refused] = []
    for i, raw in enumerate(batch.records):
        try:
            good.append(ChangeRecord.model_validate(raw))
        except ValidationError as exc:
            details = details_from_validation_error(exc)
            reason = "; ".join(f"{d.field}: {d.reason}" if d.field else d.reason for d in details)
            refused.append(Refused(raw=raw, reason=f"records.{i}: {reason}"[:REASON_MAX], index=i))
    batch.records = good
    return batch, refused


def refused_row(txn: WriteTxn, child: str, refused: Refused) -> dict[str, Any]:
    """The quarantine row of a record that did not parse (its payload made storable)."""
    raw = refused.raw if isinstance(refused.raw, dict) else {"value": refused.raw}
    return {
        "child": child,
        "record_id": _id_of(raw),
        "kind": _text(raw.get("kind"), 32),
        "unit": _text(raw.get("unit"), 32),
        "version": _text(raw.get("version"), 64),
        "reason": refused.reason,
        "payload": storable_copy(raw),
        "at": txn.now,
    }


def _id_of(raw: dict[str, Any]) -> uuid.UUID:
    try:
        return uuid.UUID(str(raw.get("id")))
    except ValueError:  # no usable id: one derived from the record, the same on every resend
        return uuid.uuid5(uuid.NAMESPACE_OID, repr(storable_copy(raw))[:100_000])


def _text(value: Any, limit: int) -> str:
    text = value if isinstance(value, str) else ("" if value is None else repr(value))
    return repr(text)[1:-1][:limit] if first_problem(text) else text[:limit]


def storable_copy(value: Any) -> Any:
    """`value` with every unstorable part (schemas/storable.py) replaced by its repr."""
    if first_problem(value) is None:
        return value
    if isinstance(value, dict):
        return {_text(str(k), 200): storable_copy(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [storable_copy(v) for v in value]
    return repr(value)[:200]


class StoreFailed(Exception):
    """Storing a batch whole failed for a reason of its records (not the database's): the
    caller rolls its transaction back and stores the batch again with `store_isolated`."""


def store_whole(
    txn: WriteTxn,
    versions: list[Version],
    heads: dict[uuid.UUID, Any],
    *,
    horizons_judged: bool = False,
) -> StoreResult:
    """Store the versions (`heads`: what is held of them, read in this transaction) in the
    caller's transaction, without a savepoint: StoreFailed (its cause the error) when that
    fails for a reason other than the database itself, after which nothing of the
    transaction may be committed. `horizons_judged`: store_versions."""
    try:
        return store_versions(txn, list(versions), heads=heads, horizons_judged=horizons_judged)
    except OperationalError:
        raise  # the database itself: not a record's fault
    except Exception as exc:
        raise StoreFailed(describe(exc)) from exc


def store_isolated(
    txn: WriteTxn,
    versions: list[Version],
    heads: dict[uuid.UUID, Any],
    *,
    whole_first: bool = True,
    horizons_judged: bool = False,
) -> tuple[StoreResult, list[tuple[Version, str]]]:
    """Store the versions (`heads`: what is held of them, read in this transaction); those
    that cannot be stored are returned with the reason. The batch is tried whole under a
    savepoint first, unless `whole_first` is False (it failed whole already), then record by
    record, each under its own. `horizons_judged`: store_versions."""
    try:
        if whole_first:
            return _attempt(txn, versions, heads, horizons_judged), []
    except OperationalError:
        raise  # the database itself: not a record's fault
    except Exception as exc:
        log.warning("a batch failed to apply (%s); storing it record by record", exc)
    result = StoreResult(stored=[], stale=[])
    failed: list[tuple[Version, str]] = []
    for version in versions:
        try:
            held = {k: v for k, v in heads.items() if k == version.id}
            one = _attempt(txn, [version], held, horizons_judged)
        except OperationalError:
            raise
        except Exception as exc:
            failed.append((version, f"could not be stored here: {describe(exc)}"))
            continue
        result.stored.extend(one.stored)
        result.stale.extend(one.stale)
    return result, failed


def _attempt(
    txn: WriteTxn, versions: Sequence[Version], heads: dict[uuid.UUID, Any], judged: bool
) -> StoreResult:
    clock = txn.last_hlc
    try:
        with txn.conn.begin_nested():
            return store_versions(txn, list(versions), heads=heads, horizons_judged=judged)
    except BaseException:
        txn.last_hlc = clock  # nothing of the attempt stays, not even its clock
        raise
