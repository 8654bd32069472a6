"""Shared helpers of the operator-tool tests (no tests here)."""

import shutil
import sqlite3
import uuid
from pathlib import Path
from typing import Any

from node.ops import actions
from schemas.ops import VerifyReport
from tests.cluster import Cluster, Node

ACTOR = "test:operator"


def db_file(node: Node) -> Path:
    return node.settings.data_dir / "tiersync.db"


def backup(cluster: Cluster, node: Node, name: str) -> Path:
    """An online copy of a running node's database (SQLite's backup API: the log included,
    whatever the node's checkpointer thread is doing)."""
    target = cluster.tmp_path / f"{name}.db"
    source, copy = sqlite3.connect(db_file(node)), sqlite3.connect(target)
    try:
        source.backup(copy)
    finally:
        source.close()
        copy.close()
    return target


def release_files(node: Node) -> None:
    """Nothing of the node holds or touches its database files any more, so a test may replace
    or delete them: its checkpointer thread is stopped and its connections closed (the node
    keeps serving; it checkpoints no more, which tests do not need)."""
    assert node.ctx.checkpointer is not None
    node.ctx.checkpointer.stop()
    node.ctx.db.engine.dispose()


def restore(node: Node, copy: Path) -> None:
    """The node's disk replaced by an older copy (its WAL files go with the old state).

    As an operator would, with nothing writing to the files (`release_files`)."""
    release_files(node)
    for suffix in ("-wal", "-shm"):
        Path(f"{db_file(node)}{suffix}").unlink(missing_ok=True)
    shutil.copy(copy, db_file(node))


async def verify(
    cluster: Cluster, node: Node, *, repair: bool = False, deep: bool = False
) -> VerifyReport:
    return await actions.run_verify(
        node.ctx, repair=repair, actor=ACTOR, transport=cluster.router, deep=deep
    )


def sql(node: Node, statement: str, **params: Any) -> None:
    from sqlalchemy import text

    with node.ctx.db.engine.begin() as conn:
        conn.execute(text(statement), params)


def live_ids(node: Node, kind: str = "person") -> list[str]:
    """Ids of the live records a node holds (straight from its database)."""
    from sqlalchemy import text

    with node.ctx.db.read() as conn:
        rows = conn.execute(
            text("SELECT id FROM records WHERE kind = :k AND NOT deleted"), {"k": kind}
        )
        return [str(uuid.UUID(str(r[0]))) for r in rows]
