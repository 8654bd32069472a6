"""The tamper-evident audit log (docs/protocol.md, Audit chain): an entry edited, deleted or moved
with sqlite3 is found and named by `tiersync audit verify`; a truncated log is found against the
head its parent keeps."""

import hashlib
import shutil
import sqlite3
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace

import orjson
import pytest
from cryptography.hazmat.primitives import hashes

from federation.crypto import suite
from node.audit import chain
from node.audit import service as audit_service
from node.audit.chain import GENESIS, entry_hash
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


# --- the chain follows the deployment's suite (TIERSYNC_CRYPTO) ---------------------------------

KAT_AT = datetime(2026, 1, 2, 3, 4, 5, 6)
KAT_BYTES = b'["' + b"0" * 64 + b'","2026-01-02T03:04:05.000006","clerk","records.write","ok","#1"]'
KAT_SM3 = "c66b1e0b7d7819770373edf7554a4feaaef169e8275c892b1e13c303fdbc10e1"
KAT_SHA256 = "b542f68fff92c8f9fca21c88d4de5ca86718aa2b187c7d95bd6440c561f820bc"


def kat_hash(name: str) -> str:
    fields = {"actor": "clerk", "action": "records.write", "outcome": "ok", "detail": "#1"}
    return entry_hash(GENESIS, at=KAT_AT, hasher=suite(name), **fields)


def test_entry_hash_known_answers_for_both_suites() -> None:
    sm3 = hashes.Hash(hashes.SM3())  # an SM3 independent of the suite's
    sm3.update(KAT_BYTES)
    assert kat_hash("sm") == KAT_SM3 == sm3.finalize().hex()
    assert kat_hash("default") == KAT_SHA256 == hashlib.sha256(KAT_BYTES).hexdigest()


def test_a_node_on_the_national_suite_chains_with_sm3(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = Settings(code=VILLAGE, data_dir=tmp_path, crypto="sm")
    ctx = open_node(settings)
    try:
        for i in range(3):
            audit_service.record(
                ctx.db, actor="clerk", action="records.write", outcome="ok", detail=f"#{i}"
            )
        count, breaks = audit_service.verify_log(ctx.db)
    finally:
        ctx.db.dispose()
    assert count >= 3 and breaks == []
    with sqlite3.connect(tmp_path / "tiersync.db") as db:
        rows = db.execute(
            "SELECT at, actor, action, outcome, detail, prev_hash, hash FROM audit_log ORDER BY id"
        ).fetchall()
    for at, actor, action, outcome, detail, prev, digest in rows:
        payload = orjson.dumps([prev, at.replace(" ", "T"), actor, action, outcome, detail])
        sm3 = hashes.Hash(hashes.SM3())
        sm3.update(payload)
        assert digest == sm3.finalize().hex() != hashlib.sha256(payload).hexdigest()
    monkeypatch.setenv("TIERSYNC_CRYPTO", "sm")
    code, output = verify(tmp_path)
    assert code == 0 and "审计日志完好" in output, output


def test_older_sha256_entries_pass_until_the_first_sm3_entry() -> None:
    def row(i: int, prev: str, name: str) -> SimpleNamespace:
        fields = {"at": KAT_AT, "actor": "a", "action": "b", "outcome": "ok", "detail": str(i)}
        digest = entry_hash(prev, hasher=suite(name), **fields)
        return SimpleNamespace(id=i, prev_hash=prev, hash=digest, **fields)

    first = row(1, GENESIS, "default")  # chained at migration, before TIERSYNC_CRYPTO=sm
    second = row(2, first.hash, "sm")
    assert chain.verify([first, second], suite_name="sm") == []
    late = row(3, second.hash, "default")  # a SHA-256 entry after the switch: forged
    assert [(b.id, b.reason) for b in chain.verify([first, second, late], suite_name="sm")] == [
        (3, "edited")
    ]
