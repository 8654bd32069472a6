"""Issue 10, durability: a 201 or an ack is sent after a commit that survives a power cut, so
every SQLite connection of a node fsyncs at commit (synchronous=FULL, docs/decisions/0602)."""

from pathlib import Path

import httpx
from fastapi import FastAPI
from sqlalchemy import text

from node.db import Database


def test_every_sqlite_connection_fsyncs_at_commit(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'node.db'}")
    try:
        for _ in range(3):  # each pooled connection, not only the first
            with db.engine.connect() as conn:
                assert conn.execute(text("PRAGMA synchronous")).scalar() == 2  # FULL
    finally:
        db.dispose()


async def test_the_serving_node_writes_with_full_sync(
    node_app: FastAPI, node_client: httpx.AsyncClient
) -> None:
    ctx = node_app.state.ctx
    if not ctx.db.is_sqlite:
        return
    with ctx.db.read() as conn:
        assert conn.execute(text("PRAGMA synchronous")).scalar() == 2


def test_only_a_relaxed_bookkeeping_write_skips_the_fsync(tmp_path: Path) -> None:
    """`write(durable=False)` (the ack cursor a child saves) commits with synchronous=NORMAL;
    the connection goes back to the pool with FULL, and every other write keeps FULL."""
    from node.migrate import upgrade

    db = Database(f"sqlite:///{tmp_path / 'node.db'}")
    try:
        upgrade(db.engine)
        db.ensure_identity("632322101201")
        with db.write(durable=False) as txn:
            assert txn.conn.execute(text("PRAGMA synchronous")).scalar() == 1  # NORMAL
        with db.write() as txn:
            assert txn.conn.execute(text("PRAGMA synchronous")).scalar() == 2  # FULL
        for _ in range(3):
            with db.engine.connect() as conn:
                assert conn.execute(text("PRAGMA synchronous")).scalar() == 2
    finally:
        db.dispose()
