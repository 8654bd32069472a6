"""The tamper-evident audit log (docs/protocol.md, Audit chain): an entry edited, deleted or moved
with sqlite3 is found and named by `tiersync audit verify`; a truncated log is found against the
head its parent keeps."""

import shutil
import sqlite3
from pathlib import Path

from node.audit import service as audit_service
from node.settings import Settings
from node.wiring import open_node
from tests.cli_support import isolated, run
from tests.conftest import VILLAGE

__all__ = ["isolated"]


def node_with_entries(root: Path, count: int = 5) -> Path:
    """A village node whose audit log holds `count` entries; returns its data directory."""
    settings = Settings(code=VILLAGE, data_dir=root)
    ctx = open_node(settings)
    try:
        for i in range(1, count + 1):
            audit_service.record(
                ctx.db, actor=f"clerk{i}", action="records.write", outcome="ok", detail=f"#{i}"
            )
    finally:
        ctx.db.dispose()
    return root


def verify(data_dir: Path) -> tuple[int, str]:
    result = run("audit", "verify", "--code", VILLAGE, "--data-dir", data_dir)
    return result.exit_code, result.output


def tampered(pristine: Path, where: Path, *statements: str) -> Path:
    shutil.copytree(pristine, where)
    with sqlite3.connect(where / "tiersync.db") as db:
        for statement in statements:
            db.execute(statement)
    return where


def test_verify_names_an_edited_deleted_or_reordered_entry(tmp_path: Path) -> None:
    pristine = node_with_entries(tmp_path / "pristine")
    code, output = verify(pristine)
    assert code == 0, output
    assert "审计日志完好：共 5 条" in output

    edited = tampered(pristine, tmp_path / "edited", "UPDATE audit_log SET actor='x' WHERE id=3")
    code, output = verify(edited)
    assert code == 1, output
    assert "第 3 条：内容被修改" in output and "第 2 条" not in output

    deleted = tampered(pristine, tmp_path / "deleted", "DELETE FROM audit_log WHERE id=3")
    code, output = verify(deleted)
    assert code == 1, output
    assert "第 4 条：与前一条断链" in output

    columns = "at, actor, action, outcome, detail, prev_hash, hash"
    reordered = tampered(
        pristine,
        tmp_path / "reordered",
        f"CREATE TABLE t AS SELECT id, {columns} FROM audit_log WHERE id IN (2, 3)",
        "UPDATE audit_log SET id = -id WHERE id IN (2, 3)",
        f"INSERT INTO audit_log (id, {columns}) SELECT 5 - id, {columns} FROM t",
        "DELETE FROM audit_log WHERE id < 0",
    )
    code, output = verify(reordered)
    assert code == 1, output
    assert "第 2 条：与前一条断链" in output

    # Rewriting the detail and its hash (the chain then breaks at the next entry).
    rehashed = tampered(
        pristine, tmp_path / "rehashed", "UPDATE audit_log SET detail='y', hash='f' WHERE id=4"
    )
    code, output = verify(rehashed)
    assert code == 1 and "第 4 条" in output and "第 5 条：与前一条断链" in output


def test_existing_entries_are_chained_at_migration(tmp_path: Path) -> None:
    from alembic import command

    from node import migrate
    from node.db import Database

    path = tmp_path / "tiersync.db"
    db = Database(f"sqlite:///{path}")
    config = migrate.alembic_config(f"sqlite:///{path}")
    with db.engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "0801_operator_access")
    with sqlite3.connect(path) as raw:
        for i in range(3):
            raw.execute(
                "INSERT INTO audit_log (at, actor, action, outcome, detail) "
                f"VALUES ('2026-01-0{i + 1} 08:00:00.000000', 'a', 'b', 'ok', 'old {i}')"
            )
    migrate.upgrade(db.engine)
    count, breaks = audit_service.verify_log(db)
    db.dispose()
    assert (count, breaks) == (3, [])
