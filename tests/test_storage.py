"""Storage on SQLite and PostgreSQL: the change feed, idempotent apply, roll-up, clock, locking.

Everything goes through Database.write() and store_versions(), the one write path that local
edits and replicated batches share.
"""

import threading
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, func, select

from federation.hlc import LOGICAL_BITS, physical_ms
from node.db import Database
from node.errors import Conflict
from node.models import ConflictEntry, NodeState, Record
from node.records import repository
from node.records.store import Version, store_versions
from node.records.wire import record_to_wire
from node.views.models import Rollup
from tests.storage_fixtures import (
    OTHER_VILLAGE,
    VILLAGE,
    Databases,
    direct_counts,
    last_hlc,
    local_version,
    open_databases,
    remote_version,
    rollup,
    rollup_cells,
    subtree_counts,
)

T0 = 1_800_000_000_000  # a fixed wall-clock millisecond for clocks under test's control


@pytest.fixture
def databases(database_url_factory: Callable[[str], str]) -> Iterator[Databases]:
    yield from open_databases(database_url_factory)


def head(db: Database, record_id: uuid.UUID) -> Any:
    with db.read() as conn:
        return repository.get_row(conn, record_id)


def feed(db: Database, since: int = 0) -> list[Any]:
    with db.read() as conn:
        return repository.changes_since(conn, seq=since, limit=100_000)


def max_seq(db: Database) -> int:
    with db.read() as conn:
        return repository.max_seq(conn)


def write_one(db: Database, **kwargs: Any) -> Version:
    with db.write() as txn:
        version = local_version(txn, **kwargs)
        assert store_versions(txn, [version]).stored == [version.id]
    return version


# --- the change feed -------------------------------------------------------------------------


def test_each_write_gets_a_log_position_above_every_earlier_one(databases: Databases) -> None:
    db = databases.open()
    written: list[uuid.UUID] = []
    seqs: list[int] = []
    for i in range(5):
        with db.write() as txn:
            version = local_version(txn, data={"address": f"{i} Main Street", "head_name": "T"})
            store_versions(txn, [version])
            written.append(version.id)
        seqs.append(head(db, version.id).seq)
    assert seqs == sorted(set(seqs))
    assert [row.id for row in feed(db)] == written
    assert max_seq(db) == seqs[-1]
    # A version is logged after it was issued: the feed position is above the version's HLC.
    assert all(row.seq > row.hlc for row in feed(db))


def test_one_transaction_with_several_versions_logs_each_once(databases: Databases) -> None:
    db = databases.open()
    with db.write() as txn:
        versions = [local_version(txn) for _ in range(3)]
        store_versions(txn, versions)
    rows = feed(db)
    assert [row.id for row in rows] == [v.id for v in versions]
    assert len({row.seq for row in rows}) == 3


def test_changes_since_gives_the_latest_version_of_each_changed_record_once(
    databases: Databases,
) -> None:
    db = databases.open()
    untouched = write_one(db)
    updated = write_one(db)
    cursor = max_seq(db)

    for n in range(1, 4):  # update the same record three times
        write_one(db, record_id=updated.id, data={"address": f"{n} New Road", "head_name": "T"})
    created_after = write_one(db)

    rows = feed(db, since=cursor)
    assert [row.id for row in rows] == [updated.id, created_after.id]
    assert rows[0].data == {"address": "3 New Road", "head_name": "T"}
    assert untouched.id not in {row.id for row in rows}
    assert all(row.seq > cursor for row in rows)
    # Resuming from the last position seen returns nothing new.
    assert feed(db, since=rows[-1].seq) == []
    # `limit` cuts the page in log order, and the next page starts after it.
    with db.read() as conn:
        first = repository.changes_since(conn, seq=cursor, limit=1)
        rest = repository.changes_since(conn, seq=first[-1].seq, limit=10)
    assert [r.id for r in first + rest] == [updated.id, created_after.id]


def test_a_deletion_is_a_change_in_the_feed(databases: Databases) -> None:
    db = databases.open()
    version = write_one(db)
    cursor = max_seq(db)
    write_one(db, record_id=version.id, deleted=True)
    rows = feed(db, since=cursor)
    assert [(row.id, row.deleted) for row in rows] == [(version.id, True)]


def test_a_batch_written_in_one_call_reads_back_exactly_and_ships_the_same(
    databases: Databases,
) -> None:
    """Rows go to the driver in one executemany with values converted by hand (node.db): what
    reads back, and what the outbox ships as raw JSON text, must equal what was written."""
    db = databases.open()
    data = {"head_name": "扎西 Tashi", "address": '1 "Main" St', "n": [1, 2.5, None, True]}
    with db.write() as txn:
        first = [local_version(txn, data=data | {"i": i}) for i in range(3)]
        store_versions(txn, first)
    with db.write() as txn:  # one insert and two replacements (one a tombstone) in one batch
        mixed = [
            local_version(txn),
            local_version(txn, record_id=first[0].id, data={"address": "2 New Road"}),
            local_version(txn, record_id=first[1].id, deleted=True),
        ]
        store_versions(txn, mixed)
    for version in [first[2], *mixed]:
        row = head(db, version.id)
        assert (row.data, row.hlc, row.deleted, row.unit) == (
            version.data,
            version.hlc,
            version.deleted,
            version.unit,
        )
        assert row.updated_at is not None
    with db.read() as conn:
        shipped = {
            w["id"]: w for w in map(record_to_wire, repository.feed_since(conn, seq=0, limit=10))
        }
        decoded = {str(r.id): r for r in repository.changes_since(conn, seq=0, limit=10)}
    assert shipped.keys() == decoded.keys() and len(shipped) == 4
    for rid, wire in shipped.items():
        assert orjson.loads(orjson.dumps(wire)) == orjson.loads(
            orjson.dumps(record_to_wire(decoded[rid]))
        )


def test_a_whole_record_row_starts_with_the_wire_columns() -> None:
    """record_to_wire reads rows by position: `select(records)` rows must start with them."""
    assert list(repository.records.c)[: len(repository.WIRE_COLUMNS)] == list(
        repository.WIRE_COLUMNS
    )


@pytest.mark.parametrize("existing", [False, True], ids=["insert", "update"])
def test_a_failed_transaction_leaves_no_record_no_feed_entry_and_no_rollup_change(
    databases: Databases, existing: bool
) -> None:
    db = databases.open()
    kept = write_one(db, unit=VILLAGE, data={"address": "kept", "head_name": "T"})
    with db.read() as conn:
        before = (rollup(conn), repository.max_seq(conn), last_hlc(conn), feed(db))

    target = kept.id if existing else uuid.uuid4()
    with pytest.raises(RuntimeError, match="crash"), db.write() as txn:
        result = store_versions(
            txn,
            [
                local_version(
                    txn,
                    record_id=target,
                    kind="person" if existing else "household",
                    unit=VILLAGE + "003",
                    data={"address": "lost", "head_name": "T"},
                ),
                local_version(txn),  # a second, new record in the same transaction
            ],
        )
        assert len(result.stored) == 2
        raise RuntimeError("crash after storing, before commit")

    with db.read() as conn:
        after = (rollup(conn), repository.max_seq(conn), last_hlc(conn), feed(db))
        assert conn.execute(select(func.count()).select_from(Record)).scalar_one() == 1
    assert after == before
    assert head(db, kept.id).data == {"address": "kept", "head_name": "T"}
    if not existing:
        assert head(db, target) is None
    # The writer lock was released: the next write goes through and logs after the old head.
    later = write_one(db)
    assert head(db, later.id).seq > before[1]


# --- idempotent, last-writer-wins apply -------------------------------------------------------


def test_applying_the_same_version_twice_is_a_no_op(databases: Databases) -> None:
    db = databases.open()
    version = remote_version(uuid.uuid4(), (T0 << LOGICAL_BITS) + 7, OTHER_VILLAGE)
    with db.write() as txn:
        first = store_versions(txn, [version])
    seq = max_seq(db)
    with db.read() as conn:
        counts = rollup(conn)

    with db.write() as txn:
        second = store_versions(txn, [version])

    assert first.stored == [version.id] and first.stale == []
    assert second.stored == [] and second.stale == [version.id]
    assert max_seq(db) == seq
    assert head(db, version.id).seq == seq
    with db.read() as conn:
        assert rollup(conn) == counts == {(VILLAGE, "household"): 1}
        assert conn.execute(select(func.count()).select_from(ConflictEntry)).scalar_one() == 0


def test_an_older_version_after_a_newer_one_is_ignored(databases: Databases) -> None:
    db = databases.open()
    rid = uuid.uuid4()
    base = T0 << LOGICAL_BITS
    newer = remote_version(rid, base + 10, OTHER_VILLAGE, data={"v": "newer"})
    older = remote_version(rid, base + 5, OTHER_VILLAGE, data={"v": "older"}, unit=VILLAGE + "001")
    with db.write() as txn:
        store_versions(txn, [newer])
    seq = max_seq(db)
    with db.write() as txn:
        result = store_versions(txn, [older])
    assert result.stale == [rid]
    row = head(db, rid)
    assert (row.data, row.hlc, row.unit, row.seq) == ({"v": "newer"}, base + 10, VILLAGE, seq)
    with db.read() as conn:
        assert rollup(conn) == {(VILLAGE, "household"): 1}


def test_an_older_deletion_does_not_delete_a_newer_version(databases: Databases) -> None:
    db = databases.open()
    rid = uuid.uuid4()
    base = T0 << LOGICAL_BITS
    with db.write() as txn:
        store_versions(txn, [remote_version(rid, base + 10, OTHER_VILLAGE)])
    with db.write() as txn:
        assert store_versions(
            txn, [remote_version(rid, base + 9, OTHER_VILLAGE, deleted=True)]
        ).stale == [rid]
    assert head(db, rid).deleted is False


@pytest.mark.parametrize("first_low", [True, False], ids=["low-then-high", "high-then-low"])
def test_a_tie_on_hlc_is_won_by_the_greater_origin_string_in_either_order(
    databases: Databases, first_low: bool
) -> None:
    # "6324" > "632322101201" as strings, though not as numbers or by length.
    db = databases.open()
    rid = uuid.uuid4()
    hlc = (T0 << LOGICAL_BITS) + 3
    low = remote_version(rid, hlc, "632322101201", data={"from": "low"})
    high = remote_version(rid, hlc, "6324", data={"from": "high"})
    for version in [low, high] if first_low else [high, low]:
        with db.write() as txn:
            store_versions(txn, [version])
    row = head(db, rid)
    assert (row.origin, row.data) == ("6324", {"from": "high"})
    # Either way, the losing version is kept for an operator to read.
    with db.read() as conn:
        lost = conn.execute(select(ConflictEntry.lost_version, ConflictEntry.kept_version)).all()
    assert [tuple(r) for r in lost] == [
        (f"{hlc:016x}.632322101201", f"{hlc:016x}.6324"),
    ]


def test_redelivering_a_losing_version_logs_its_conflict_once(databases: Databases) -> None:
    """A batch is retried until acknowledged; a retry must not add the same conflict again."""
    db = databases.open()
    rid = uuid.uuid4()
    base = T0 << LOGICAL_BITS
    winner = remote_version(rid, base + 2, "6324")
    loser = remote_version(rid, base + 1, "632322101201")
    for batch in ([winner], [loser], [loser]):
        with db.write() as txn:
            store_versions(txn, batch)
    with db.read() as conn:
        assert conn.execute(select(func.count()).select_from(ConflictEntry)).scalar_one() == 1


# --- the roll-up ------------------------------------------------------------------------------

UNITS = [VILLAGE, VILLAGE + "001", VILLAGE + "002", OTHER_VILLAGE]
KINDS = ["person", "household", "incident"]
SLOTS = 6  # record ids the operations pick from, so updates and deletes hit existing records

# (operation, slot, unit, kind, pick): puts outweigh deletes so that subtrees fill up.
operations = st.lists(
    st.tuples(
        st.sampled_from(["put"] * 5 + ["delete"] * 2 + ["replay", "commit"]),
        st.integers(0, SLOTS - 1),
        st.sampled_from(UNITS),
        st.sampled_from(KINDS),
        st.integers(0, 1000),  # which earlier version a replay re-applies
    ),
    min_size=1,
    max_size=40,
)


def test_rollup_equals_a_direct_count_after_any_sequence_of_writes(
    databases: Databases, engine_name: str
) -> None:
    db = databases.open()
    ids = [uuid.UUID(int=n + 1) for n in range(SLOTS)]

    @settings(
        max_examples=25 if engine_name == "sqlite" else 10,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
    @given(ops=operations)
    def check(ops: list[tuple[Any, ...]]) -> None:
        with db.write() as txn:
            txn.conn.execute(delete(Record))
            txn.conn.execute(delete(Rollup))
        history: list[Version] = []
        batches: list[list[tuple[Any, ...]]] = [[]]
        for op in ops:
            # One version per id per call, as store_versions requires: a repeat id starts a batch.
            repeat = op[1] in {o[1] for o in batches[-1] if o[0] != "replay"}
            if op[0] == "commit" or (op[0] != "replay" and repeat):
                batches.append([])
            if op[0] != "commit":
                batches[-1].append(op)
        for batch in batches:
            with db.write() as txn:
                versions: list[Version] = []
                replays: list[Version] = []
                for op in batch:
                    if op[0] == "put":
                        versions.append(
                            local_version(txn, record_id=ids[op[1]], unit=op[2], kind=op[3])
                        )
                    elif op[0] == "delete":
                        versions.append(local_version(txn, record_id=ids[op[1]], deleted=True))
                    elif history:
                        replays.append(history[op[4] % len(history)])
                result = store_versions(txn, versions)
                assert result.stored == [v.id for v in versions]
                history.extend(versions)
                if replays:
                    assert store_versions(txn, replays[:1]).stored == []
        with db.read() as conn:
            counts = direct_counts(conn)
            assert rollup(conn) == counts
            assert min(rollup_cells(conn), default=0) >= 0
            # The summary view's sums over a subtree and per child agree with the records too.
            by_village: dict[str, dict[str, int]] = {}
            for (unit, kind), n in counts.items():
                village = by_village.setdefault(unit[:12], {})
                village[kind] = village.get(kind, 0) + n
            for village in (VILLAGE, OTHER_VILLAGE):
                assert subtree_counts(conn, village) == by_village.get(village, {})

    check()


# --- the hybrid logical clock across restarts -------------------------------------------------


def test_versions_after_a_restart_are_above_all_before_even_with_the_clock_set_back(
    databases: Databases,
) -> None:
    url = databases.new_url()
    db = databases.open(url, clock=lambda: T0)
    before = [write_one(db) for _ in range(3)]
    issued_before = [v.hlc for v in before] + [row.seq for row in feed(db)]
    db.dispose()

    # The node restarts on a machine whose clock is an hour behind.
    restarted = databases.open(url, clock=lambda: T0 - 3_600_000)
    after = write_one(restarted)

    assert after.hlc > max(issued_before)
    assert head(restarted, after.id).seq > max(issued_before)
    assert physical_ms(after.hlc) == T0  # it kept the high-water time, not the set-back clock
    assert [row.id for row in feed(restarted)] == [v.id for v in before] + [after.id]


def test_a_clock_going_backwards_between_writes_never_lowers_versions(
    databases: Databases,
) -> None:
    readings = iter(range(T0, T0 - 10_000, -7))  # every reading lower than the one before
    db = databases.open(clock=lambda: next(readings))
    versions = [write_one(db) for _ in range(10)]
    hlcs = [v.hlc for v in versions]
    assert hlcs == sorted(set(hlcs))
    seqs = [row.seq for row in feed(db)]
    assert seqs == sorted(set(seqs))


def test_a_version_from_the_future_moves_the_clock_past_it_durably(
    databases: Databases,
) -> None:
    url = databases.new_url()
    db = databases.open(url, clock=lambda: T0)
    future = ((T0 + 60_000) << LOGICAL_BITS) + 5  # a minute ahead: within the skew bound
    with db.write() as txn:
        store_versions(txn, [remote_version(uuid.uuid4(), future, OTHER_VILLAGE)])
    with db.write() as txn:
        assert txn.tick() > future
    db.dispose()

    restarted = databases.open(url, clock=lambda: T0)
    local = write_one(restarted)
    assert local.hlc > future
    # A later local edit of any record now beats the remote one in (hlc, origin) order.
    assert (local.hlc, local.origin) > (future, OTHER_VILLAGE)


def test_a_version_beyond_the_skew_bound_does_not_drag_the_clock(databases: Databases) -> None:
    """Issue 10: a day ahead (a wrong clock below) moves this node's clock only to its own time
    plus TIERSYNC_MAX_CLOCK_SKEW_S (a push quarantines such a version before it is stored)."""
    db = databases.open(clock=lambda: T0)
    with db.write() as txn:
        far = ((T0 + 86_400_000) << LOGICAL_BITS) + 5
        store_versions(txn, [remote_version(uuid.uuid4(), far, OTHER_VILLAGE)])
    with db.write() as txn:
        assert (txn.tick() >> LOGICAL_BITS) <= T0 + db.max_skew_ms + 1


def test_observe_moves_the_clock_past_a_remote_hlc_and_persists_it(
    databases: Databases,
) -> None:
    db = databases.open(clock=lambda: T0)
    future = ((T0 + 1000) << LOGICAL_BITS) + 9
    with db.write() as txn:
        txn.observe(future)
        assert txn.tick() > future
        txn.observe(future - 100)  # observing the past changes nothing
        assert txn.tick() > future + 1
    with db.read() as conn:
        assert last_hlc(conn) > future + 1


# --- identity -------------------------------------------------------------------------------


def test_a_database_of_another_node_is_refused(databases: Databases) -> None:
    url = databases.new_url()
    databases.open(url, code=VILLAGE)
    databases.open(url, code=VILLAGE)  # the same node reopening its database is fine

    with pytest.raises(Conflict, match=VILLAGE):
        databases.open(url, code=OTHER_VILLAGE)

    db = databases.open(url, code=VILLAGE)
    with db.read() as conn:
        assert conn.execute(select(NodeState.code)).scalars().all() == [VILLAGE]


# --- concurrent writers -----------------------------------------------------------------------


def test_concurrent_writers_get_unique_log_positions_in_commit_order(
    databases: Databases,
) -> None:
    """Two Database objects on one URL (as two workers would be), two threads on each.

    The commit order is recorded while the transaction holds the node_state row lock, and a
    reader follows the feed meanwhile: resuming after the highest seq it saw must never skip a
    record committed later with a lower seq.
    """
    url = databases.new_url()
    dbs = [databases.open(url), databases.open(url)]
    threads_per_db, writes_per_thread = 2, 50
    total = len(dbs) * threads_per_db * writes_per_thread
    commit_order: list[tuple[int, uuid.UUID]] = []
    errors: list[BaseException] = []
    done = threading.Event()
    seen: list[uuid.UUID] = []

    def writer(db: Database, n: int) -> None:
        try:
            for i in range(writes_per_thread):
                with db.write() as txn:
                    version = local_version(txn, data={"writer": n, "i": i})
                    store_versions(txn, [version])
                    seq = txn.conn.execute(
                        select(Record.seq).where(Record.id == version.id)
                    ).scalar_one()
                    commit_order.append((seq, version.id))
        except BaseException as exc:
            errors.append(exc)

    def reader() -> None:
        cursor = 0
        try:
            while True:
                finished = done.is_set()
                for row in feed(dbs[0], since=cursor):
                    seen.append(row.id)
                    cursor = row.seq
                if finished:
                    return
        except BaseException as exc:
            errors.append(exc)

    writers = [
        threading.Thread(target=writer, args=(db, k * threads_per_db + j))
        for k, db in enumerate(dbs)
        for j in range(threads_per_db)
    ]
    follower = threading.Thread(target=reader)
    follower.start()
    for t in writers:
        t.start()
    for t in writers:
        t.join(timeout=60)
    done.set()
    follower.join(timeout=60)

    assert errors == []
    assert len(commit_order) == total
    seqs = [seq for seq, _ in commit_order]
    assert seqs == sorted(seqs) and len(set(seqs)) == total
    logged = feed(dbs[1])
    assert [(row.seq, row.id) for row in logged] == commit_order
    assert seen == [rid for _, rid in commit_order]
    with dbs[1].read() as conn:
        assert rollup(conn) == {(VILLAGE, "household"): total}
        assert last_hlc(conn) >= seqs[-1]
