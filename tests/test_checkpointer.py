"""A running SQLite node copies its write-ahead log back into the database in the background,
so commits (and the acks of pushes that wait on them) never pay for that copy."""

import os
import time
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


def test_commits_in_quick_succession_are_copied_back_once_they_pause(databases: Databases) -> None:
    """A catch-up every few hundred milliseconds must not pay a checkpoint after each push:
    with synchronous=FULL, the commit after a complete checkpoint restarts the log, one more
    fsync (docs/decisions/0602). The log is copied back once the commits pause."""
    db = databases.open()
    checkpointer = WalCheckpointer(db.engine)
    db.on_commit(checkpointer.notify, bookkeeping=True)
    checkpointer.start()
    try:
        for _ in range(8):
            write_records(db, 20)
            time.sleep(0.02)
        assert checkpointer.runs == 0  # on main: after nearly every commit
        wait_for(lambda: checkpointer.runs == 1, 10, "the log copied back after the pause")
        busy, logged, copied = checkpointer.checkpoint()
        assert (busy, logged) == (0, copied)
    finally:
        checkpointer.stop()


def test_a_checkpointer_never_started_stops_without_an_error(databases: Databases) -> None:
    """A node whose start failed part way (its disk full) stops what it set up: the
    checkpointer's stop must not raise for a thread that never ran (found by the simulator)."""
    checkpointer = WalCheckpointer(databases.open().engine)
    checkpointer.stop()  # raised RuntimeError: cannot join thread before it is started
