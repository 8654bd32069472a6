"""Issue 10, defect 7: on PostgreSQL a read of several statements that must agree runs in one
snapshot (REPEATABLE READ READ ONLY). Under READ COMMITTED, a commit landing between the
outbox's records query and its units query (a record and a unit change in one transaction)
gave a batch whose `until` passed the record it never read: that record was skipped for good."""

import uuid
from collections.abc import Callable
from typing import Any

import pytest

from node import migrate
from node.db import Database
from node.records.store import Version, store_versions
from node.sync import outbox
from node.sync.outbox import SqlChangeStore
from node.units import repository as units_repo
from node.wiring import write_hooks

VILLAGE = "632322101201"


def household(txn: Any) -> Version:
    data = {"address": "1 Main Street", "head_name": "Tashi"}
    return Version(uuid.uuid4(), "household", VILLAGE, data, txn.tick(), VILLAGE, False, 1)


def record_and_unit(db: Database) -> uuid.UUID:
    """One commit: a record, then a unit change (so the unit's seq is above the record's)."""
    with db.write() as txn:
        version = household(txn)
        store_versions(txn, [version])
        row = {"code": VILLAGE + "003", "name": "Grid 3", "level": "grid", "parent": VILLAGE}
        units_repo.upsert_unit(txn.conn, row | {"hlc": txn.tick(), "seq": txn.tick()})
    return version.id


@pytest.fixture
def db(pg_schema_url: Callable[[], str]) -> Any:
    database = Database(pg_schema_url(), write_hooks=write_hooks(VILLAGE))
    migrate.upgrade(database.engine)
    database.ensure_identity(VILLAGE)
    yield database
    database.dispose()


def test_a_commit_between_the_outbox_queries_is_not_skipped(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    with db.write() as txn:
        first = household(txn)
        store_versions(txn, [first])
    real = units_repo.units_changed_since
    landed: list[uuid.UUID] = []

    def between(conn: Any, since: int) -> Any:
        if not landed:  # another writer commits after the records query ran
            landed.append(record_and_unit(db))
        return real(conn, since)

    monkeypatch.setattr(outbox.units_repo, "units_changed_since", between)
    store = SqlChangeStore(db, VILLAGE)
    sent: set[str] = set()
    since = 0
    for _ in range(5):  # drain the log as the replicator does
        batch = store.read_batch(since, max_records=100, max_bytes=10_000_000)
        sent |= {str(r["id"]) for r in batch.records}
        if batch.empty:
            break
        since = batch.until
    assert sent == {str(first.id), str(landed[0])}  # on main the landed record is never sent


def test_a_snapshot_is_read_only_and_repeatable(db: Database) -> None:
    with db.snapshot() as conn:
        level = conn.exec_driver_sql("SHOW transaction_isolation").scalar()
        readonly = conn.exec_driver_sql("SHOW transaction_read_only").scalar()
    assert (level, readonly) == ("repeatable read", "on")
    with db.read() as conn:  # the connection goes back to the pool as it was
        assert conn.exec_driver_sql("SHOW transaction_isolation").scalar() == "read committed"
