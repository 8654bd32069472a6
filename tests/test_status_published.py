"""`tiersync status` when the node's database cannot be read (locked, gone, refusing
connections): it still shows the task states the serving node published, with the database's
error, and exits 1 (issue 10, defect 1)."""

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from node.supervisor import TASKS_FILE, Supervisor
from tests.cli_support import isolated, run

__all__ = ["isolated"]
VILLAGE = "632322101201"


def test_status_shows_the_published_tasks_when_the_database_is_unreachable(
    tmp_path: Path,
) -> None:
    started = datetime.now(UTC) - timedelta(seconds=90)
    supervisor = Supervisor(now=lambda: started, state_file=tmp_path / TASKS_FILE)
    supervisor.reporter("replicator").failed(OSError("connection refused"))
    supervisor.now = lambda: datetime.now(UTC)
    supervisor.publish()
    unreachable = "postgresql+psycopg://postgres@127.0.0.1:1/gone?connect_timeout=2"
    args = ["--code", VILLAGE, "--data-dir", tmp_path, "--database-url", unreachable]

    shown = run("status", "--json", *args)
    assert shown.exit_code == 1
    body = json.loads(shown.stdout[shown.stdout.index("{") :])
    assert body["ok"] is False
    assert any("replicator 已持续出错" in p for p in body["problems"]), body
    task = body["tasks"]["tasks"][0]
    assert task["state"] == "failing" and task["failing_s"] >= 89

    readable = run("status", *args)
    assert readable.exit_code == 1
    assert "出错重试中，已持续 1." in readable.stdout and "分钟" in readable.stdout
