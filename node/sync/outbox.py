"""The child's side of replication: reads its change feed into batches, keeps the acked cursor.

Implements federation.peer.ChangeStore on the node's database.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from operator import itemgetter
from typing import Any

from federation.peer import OutgoingBatch
from node.db import Database, WriteTxn
from node.records import repository as records_repo
from node.records.store import Version, store_versions
from node.records.wire import WIRE_WIDTH, projected_wire
from node.seams import OutgoingInfo, PushSection, RecordProjection
from node.sync import repository
from node.units import repository as units_repo
from schemas.codes import is_within
from schemas.sync import CursorInfo

_ENVELOPE_BYTES = 160  # id, kind, unit, version and punctuation of one record on the wire


def restamp(txn: WriteTxn, *, origin: str, after: int, above: int, upto: int) -> int:
    """New versions (same data, fresh HLC) of the records `origin` made that are not yet
    pushed (log position after `after`) and whose HLC is above `above` and at most `upto`."""
    rows = records_repo.made_by_after(
        txn.conn, origin=origin, seq=after, hlc_above=above, hlc_upto=upto
    )
    versions = [
        Version(r.id, r.kind, r.unit, r.data, txn.tick(), origin, r.deleted, r.schema_version)
        for r in rows
    ]
    return len(store_versions(txn, versions).stored)


def pending(conn: Any, *, root: str, after: int) -> int:
    """Records and registry entries this node would still push after `after` (made in its
    own subtree)."""
    made = records_repo.count_made_in_after(conn, root=root, seq=after)
    return made + units_repo.count_changed_since(conn, after)


@dataclass
class SqlChangeStore:
    db: Database
    node_code: str
    sections: Sequence[PushSection] = field(default_factory=tuple)  # node/wiring.py
    projection: RecordProjection | None = None  # what the parent may hold (node/privacy)

    def acked(self) -> int:
        with self.db.read() as conn:
            row = repository.get_upstream(conn)
        return int(row.acked_seq) if row else 0

    def read_batch(self, since: int, *, max_records: int, max_bytes: int) -> OutgoingBatch:
        with self.db.snapshot() as conn:  # one snapshot: the batch and its sections
            records = records_repo.feed_since(conn, seq=since, limit=max_records)
            units = units_repo.units_changed_since(conn, since)[:max_records]
            head = max(records_repo.max_seq(conn), units_repo.max_seq(conn))
            whole = len(records) < max_records and len(units) < max_records
            batch, rows = self._slice(since, head, records, units, max_records, max_bytes)
            reaches_head = whole and batch.until == head
            info = OutgoingInfo(
                since,
                batch.until,
                head,
                reaches_head=reaches_head,
                records=batch.records,
                rows=rows,
            )
            sections: dict[str, Any] = {}
            for section in self.sections:
                value = section.outgoing(conn, info)
                if value is not None:
                    sections[section.name] = value
        return replace(batch, sections=sections) if sections else batch

    def _slice(
        self,
        since: int,
        head: int,
        records: list[Any],
        units: list[Any],
        max_records: int,
        max_bytes: int,
    ) -> tuple[OutgoingBatch, list[Any]]:
        """The records and units to send after `since`, within the count and byte bounds, and
        the feed rows of the records."""
        # Merge the two feeds in log order (units rarely change), stop at the count or byte bound.
        items: list[tuple[int, str, Any]] = [
            (row[WIRE_WIDTH], "r", row) for row in records
        ]  # feed_since: seq after the wire
        if units:
            items = sorted(items + [(u.seq, "u", u) for u in units], key=itemgetter(0))
        out_records: list[dict[str, Any]] = []
        out_rows: list[Any] = []
        out_units: list[dict[str, Any]] = []
        ours: dict[str, bool] = {}  # origin → within this node's subtree (a handful per batch)
        size, until = 0, since
        for seq, what, row in items[:max_records]:
            if what == "u":
                wire, size = units_repo.to_wire(row), size + 100
            else:
                origin = row[5]
                mine = ours.get(origin)
                if mine is None:
                    mine = ours[origin] = is_within(origin, self.node_code)
                if not mine:
                    until = seq  # came from above (a directive): never pushed back up
                    continue
                # feed_since: the data's length, then the ID hash after the wire; a parsed
                # data dict is the one it opened for this read (nobody else holds it)
                wire = projected_wire(row, self.projection, id_hash=row[WIRE_WIDTH + 2], owned=True)
                size += row[WIRE_WIDTH + 1] + _ENVELOPE_BYTES
            if size > max_bytes and (out_records or out_units):
                break
            if what == "u":
                out_units.append(wire)
            else:
                out_records.append(wire)
                out_rows.append(row)
            until = seq
        return OutgoingBatch(since, until, head, out_records, out_units), out_rows

    def save_ack(self, *, until: int, durable: int) -> None:
        # Not fsynced (durable=False): an ack cursor lost in a power cut only makes this node
        # resend what the parent holds, which it applies as a no-op (its standing is asked
        # at every reconnect).
        with self.db.write(notify=False, durable=False) as txn:
            current = repository.get_upstream(txn.conn)
            repository.save_upstream(
                txn.conn,
                acked_seq=until,
                durable_seq=max(durable, int(current.durable_seq) if current else 0),
                last_push_at=datetime.now(UTC),
                last_error=None,
            )

    def rewind(self, cursor: int) -> None:
        with self.db.write(notify=False) as txn:
            repository.save_upstream(txn.conn, acked_seq=cursor)

    def mark_opened(self) -> None:
        """Note the HLC the database holds as this process opens it, unless an earlier start
        noted one the parent has not confirmed since (the first start after a restore)."""
        with self.db.write(notify=False) as txn:
            current = repository.get_upstream(txn.conn)
            if current is None or current.opened_hlc is None:
                repository.save_upstream(txn.conn, opened_hlc=txn.last_hlc)

    def reconcile(self, standing: CursorInfo) -> int | None:
        with self.db.write(notify=False) as txn:
            forgotten = standing.issued > txn.last_hlc  # it issued versions it no longer holds
            txn.observe(max(standing.cursor, standing.issued))
            current = repository.get_upstream(txn.conn)
            acked = int(current.acked_seq) if current else 0
            opened = current.opened_hlc if current is not None else None
            if forgotten:
                # Writes made since the restore, before this contact, were stamped below what
                # the parent holds of this node: issue them again above it (same data). Those
                # the restored files already held keep their versions: the lost copy may have
                # pushed them, and updated or deleted them since (a new version would undo
                # that; docs/decisions/0702). Unknown when this start was not noted (0).
                above = opened or 0
                restamp(txn, origin=self.node_code, after=acked, above=above, upto=standing.issued)
            if opened is not None:
                repository.save_upstream(txn.conn, opened_hlc=None)  # confirmed by the parent
            if standing.cursor >= acked:
                return None
            repository.save_upstream(txn.conn, acked_seq=standing.cursor)
            return standing.cursor

    def save_error(self, message: str | None) -> None:
        with self.db.write(notify=False) as txn:
            values: dict[str, Any] = {"last_error": message}
            if message:
                values["last_error_at"] = datetime.now(UTC)
            repository.save_upstream(txn.conn, **values)
