"""A running SQLite node copies its write-ahead log back into the database in the background,
so commits (and the acks of pushes that wait on them) never pay for that copy."""

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from node.checkpointer import WalCheckpointer
from node.db import Database
from node.records.store import store_versions
from tests.processes import wait_for
from tests.storage_fixtures import Databases, local_version, open_databases


@pytest.fixture
def databases(tmp_path: Path) -> Iterator[Databases]:
    yield from open_databases(lambda name: f"sqlite:///{tmp_path / name / 'tiersync.db'}")


def write_records(db: Database, n: int) -> None:
    with db.write() as txn:
        store_versions(txn, [local_version(txn, data={"address": "x" * 200}) for _ in range(n)])


def file_size(db: Database) -> int:
    return os.path.getsize(str(db.engine.url.database))


def test_commits_leave_the_log_alone_and_the_thread_copies_it_back(databases: Databases) -> None:
    db = databases.open()
    settled = file_size(db)
    write_records(db, 3000)  # ~1,000 pages: past SQLite's default checkpoint, under ours
    assert file_size(db) == settled, "the commit itself checkpointed the log"

    checkpointer = WalCheckpointer(db.engine)
    db.on_commit(checkpointer.notify, bookkeeping=True)
    checkpointer.start()
    try:
        with db.write(notify=False) as txn:  # bookkeeping writes wake it too
            txn.tick()
        # The copy grows the file before the thread counts its run: wait for both.
        wait_for(
            lambda: file_size(db) > settled + 1_000_000 and checkpointer.runs >= 1,
            10,
            "the log copied back",
        )
        busy, logged, copied = checkpointer.checkpoint()
        assert (busy, logged) == (0, copied)  # nothing left behind
    finally:
        checkpointer.stop()


def test_a_checkpointer_never_started_stops_without_an_error(databases: Databases) -> None:
    """A node whose start failed part way (its disk full) stops what it set up: the
    checkpointer's stop must not raise for a thread that never ran (found by the simulator)."""
    checkpointer = WalCheckpointer(databases.open().engine)
    checkpointer.stop()  # raised RuntimeError: cannot join thread before it is started
