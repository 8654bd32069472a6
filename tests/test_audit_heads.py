"""The parent keeps the head of each child's audit chain; `tiersync audit verify` finds a
truncated log against it (docs/protocol.md, Audit chain). Apart from test_audit_chain.py, whose
CLI isolation would clear the cluster's settings."""

import sqlite3

import pytest

from federation.http_peer import HttpPeer
from node.audit import repository
from node.audit import service as audit_service
from node.audit.chain import Head
from node.cli import audit as audit_cli
from tests.cli_support import run
from tests.cluster import Cluster
from tests.conftest import TOWNSHIP, VILLAGE
from tests.factories import person


async def test_the_parent_keeps_the_head_and_verify_finds_truncation(
    chain: Cluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    village, township = chain.nodes[VILLAGE], chain.nodes[TOWNSHIP]
    for i in range(4):
        audit_service.record(village.ctx.db, actor="clerk", action="a", outcome="ok", detail=str(i))
    await village.write(person(unit=VILLAGE))
    await chain.sync()
    with village.ctx.db.read() as conn:
        mine = repository.head(conn)
    with township.ctx.db.read() as conn:
        kept = repository.child_head(conn, VILLAGE)
    assert mine is not None and kept == mine
    peer = HttpPeer(
        village.settings.parent_url or "", village.settings.parent_token or "",
        transport=chain.router, auth=village.as_child(),
    )  # fmt: skip
    try:
        held = await peer.audit_head()
    finally:
        await peer.aclose()
    assert held == (mine.id, mine.hash)

    # The village's last two entries are cut off: the chain left is consistent in itself...
    path = village.settings.data_dir / "tiersync.db"
    with sqlite3.connect(path) as db:
        db.execute("DELETE FROM audit_log WHERE id > ?", (mine.id - 2,))
    count, breaks = audit_service.verify_log(village.ctx.db)
    assert count == mine.id - 2 and breaks == []
    # ...but no longer holds the head its parent keeps.
    # (the CLI asks the parent over HTTP; here the answer is the one the peer got above)
    monkeypatch.setattr(audit_cli, "parent_head", lambda _settings: held)
    result = run(
        "audit", "verify", "--code", VILLAGE, "--data-dir", village.settings.data_dir,
        "--parent-url", "http://unused", "--parent-token", "unused",
    )  # fmt: skip
    assert result.exit_code == 1, result.output
    assert f"第 {mine.id} 条：上级保存的链头在本地日志中找不到（日志被截断）" in result.output
    _, breaks = audit_service.verify_log(village.ctx.db, parent_head=Head(*held))
    assert [b.reason for b in breaks] == ["missing_head"]
