"""The digest's total rows (bucket -1, migration 1701): a subtree's root digest is read from one
row per origin and kind, and that row always equals the sum of the origin's buckets — through
writes, updates, deletions, a scrub that rewrites the buckets, and a migration of a node that
held records before the totals existed. On both engines."""

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import Engine

from node import migrate
from node.digests import repository
from node.digests.repository import MOD, TOTAL
from node.digests.tree import scrub
from node.records.store import store_versions
from tests.storage_fixtures import (
    VILLAGE,
    Databases,
    alembic_downgrade,
    local_version,
    open_databases,
)

OTHER = VILLAGE[:-3] + "202"  # a sibling origin under the same township


@pytest.fixture
def databases(database_url_factory: Callable[[str], str]) -> Iterator[Databases]:
    yield from open_databases(database_url_factory)


def _rows(engine: Engine) -> list[tuple[Any, ...]]:
    with engine.connect() as conn:
        return list(
            conn.exec_driver_sql("SELECT origin, kind, bucket, count, total FROM ops_digests")
        )


def _summed_buckets(engine: Engine) -> dict[tuple[str, str], tuple[int, int]]:
    sums: dict[tuple[str, str], list[int]] = {}
    for origin, kind, bucket, count, total in _rows(engine):
        if bucket != TOTAL:
            cell = sums.setdefault((origin, kind), [0, 0])
            cell[0] += count
            cell[1] += total
    return {k: (c, t % MOD) for k, (c, t) in sums.items() if c}


def _totals(engine: Engine) -> dict[tuple[str, str], tuple[int, int]]:
    return {(o, k): (c, t) for o, k, b, c, t in _rows(engine) if b == TOTAL and c}


def test_totals_follow_every_write_and_answer_the_root_digest(databases: Databases) -> None:
    db = databases.open()
    ids = [uuid.uuid4() for _ in range(40)]
    with db.write() as txn:
        store_versions(txn, [local_version(txn, record_id=i, kind="person") for i in ids])
        store_versions(txn, [local_version(txn, kind="household", origin=OTHER, unit=OTHER)])
    with db.write() as txn:  # updates move a version's hash, deletions take it out
        store_versions(txn, [local_version(txn, record_id=i, kind="person") for i in ids[:10]])
        store_versions(
            txn, [local_version(txn, record_id=i, kind="person", deleted=True) for i in ids[30:]]
        )
    assert _totals(db.engine) == _summed_buckets(db.engine)
    assert _totals(db.engine)[(VILLAGE, "person")][0] == 30
    with db.read() as conn:
        township = repository.digest_by_kind(conn, VILLAGE[:-3])
        village = repository.digest_by_kind(conn, VILLAGE)
    assert township == {"person": _totals(db.engine)[(VILLAGE, "person")],
                        "household": _totals(db.engine)[(OTHER, "household")]}  # fmt: skip
    assert village == {"person": _totals(db.engine)[(VILLAGE, "person")]}


def test_a_scrub_rewrites_the_totals_with_the_buckets(databases: Databases) -> None:
    db = databases.open()
    with db.write() as txn:
        store_versions(txn, [local_version(txn, kind="person") for _ in range(12)])
    good = _totals(db.engine)
    with db.engine.begin() as conn:  # a damaged digest: a bucket and the total off
        conn.exec_driver_sql("UPDATE ops_digests SET count = count + 5")
    with db.write() as txn:
        assert scrub(txn.conn) > 0
    assert _totals(db.engine) == good == _summed_buckets(db.engine)


def test_a_node_upgraded_with_records_gets_its_totals(databases: Databases) -> None:
    db = databases.open()
    with db.write() as txn:
        store_versions(txn, [local_version(txn, kind="person") for _ in range(25)])
    kept = sorted(_rows(db.engine))
    alembic_downgrade(db.engine, "1602_upstream_opened_hlc")
    assert all(bucket != TOTAL for _o, _k, bucket, _c, _t in _rows(db.engine))
    migrate.upgrade(db.engine)
    assert sorted(_rows(db.engine)) == kept
