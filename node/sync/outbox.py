"""The child's side of replication: reads its change feed into batches, keeps the acked cursor.

Implements federation.peer.ChangeStore on the node's database.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from operator import itemgetter
from typing import Any

import orjson
from sqlalchemy import Row, func, select

from federation.hlc import format_version
from federation.peer import OutgoingBatch
from node.db import Database
from node.models import Unit, table
from node.ops.reports import child_digest
from node.records import repository as records_repo
from node.records.repository import WIRE_COLUMNS
from node.sync import repository
from node.units import repository as units_repo
from node.views import freshness as views_freshness
from schemas.codes import is_within

WIRE_WIDTH = len(WIRE_COLUMNS)
_ENVELOPE_BYTES = 160  # id, kind, unit, version and punctuation of one record on the wire


def record_to_wire(row: Sequence[Any]) -> dict[str, Any]:
    """A record row as it travels. The row's first columns are `records_repo.WIRE_COLUMNS` (as
    in `select(records)` and `feed_since`), read by position: a hundred times cheaper than by
    name on a feed of thousands. Data read as JSON text (`feed_since`) is embedded as it is."""
    record_id, kind, unit, data, hlc, origin, deleted, schema_version = row[:WIRE_WIDTH]
    return {
        "id": wire_id(record_id),
        "kind": kind,
        "unit": unit,
        "data": orjson.Fragment(data) if isinstance(data, str) else data,
        "version": format_version(hlc, origin),
        "deleted": deleted,
        "schema_version": schema_version,
    }


def wire_id(value: Any) -> str:
    """The canonical text of an id: a uuid.UUID, or the 32 hex digits SQLite stores."""
    text = str(value)
    if len(text) == 32:
        return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"
    return text


def unit_to_wire(row: Row[Any]) -> dict[str, Any]:
    return {
        "code": row.code,
        "name": row.name,
        "level": row.level,
        "parent": row.parent,
        "hlc": row.hlc,
    }


@dataclass
class SqlChangeStore:
    db: Database
    node_code: str

    def acked(self) -> int:
        with self.db.read() as conn:
            row = repository.get_upstream(conn)
        return int(row.acked_seq) if row else 0

    def read_batch(self, since: int, *, max_records: int, max_bytes: int) -> OutgoingBatch:
        with self.db.read() as conn:
            records = records_repo.feed_since(conn, seq=since, limit=max_records)
            units = units_repo.units_changed_since(conn, since)[:max_records]
            head = max(records_repo.max_seq(conn), _max_unit_seq(conn))
            # ops: the root digest travels with the batch that reaches head (node/ops/reports.py)
            whole = len(records) < max_records and len(units) < max_records
            digest = child_digest(conn, self.node_code) if whole else None
            freshness = views_freshness.outgoing(conn, since)  # views: times of the nodes below
        # Merge the two feeds in log order (units rarely change), stop at the count or byte bound.
        items: list[tuple[int, str, Any]] = [
            (row[WIRE_WIDTH], "r", row) for row in records
        ]  # feed_since: seq after the wire
        if units:
            items = sorted(items + [(u.seq, "u", u) for u in units], key=itemgetter(0))
        out_records: list[dict[str, Any]] = []
        out_units: list[dict[str, Any]] = []
        ours: dict[str, bool] = {}  # origin → within this node's subtree (a handful per batch)
        size, until = 0, since
        for seq, what, row in items[:max_records]:
            if what == "u":
                wire, size = unit_to_wire(row), size + 100
            else:
                origin = row[5]
                mine = ours.get(origin)
                if mine is None:
                    mine = ours[origin] = is_within(origin, self.node_code)
                if not mine:
                    until = seq  # came from above (a directive): never pushed back up
                    continue
                wire, size = record_to_wire(row), size + len(row[3]) + _ENVELOPE_BYTES
            if size > max_bytes and (out_records or out_units):
                break
            (out_units if what == "u" else out_records).append(wire)
            until = seq
        return OutgoingBatch(
            since=since,
            until=until,
            head=head,
            records=out_records,
            units=out_units,
            digest=digest if until == head else None,
            freshness=freshness,
        )

    def save_ack(self, *, until: int, durable: int) -> None:
        with self.db.write(notify=False) as txn:
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

    def save_error(self, message: str | None) -> None:
        with self.db.write(notify=False) as txn:
            values: dict[str, Any] = {"last_error": message}
            if message:
                values["last_error_at"] = datetime.now(UTC)
            repository.save_upstream(txn.conn, **values)


def _max_unit_seq(conn: Any) -> int:
    return int(conn.execute(select(func.coalesce(func.max(table(Unit).c.seq), 0))).scalar_one())
