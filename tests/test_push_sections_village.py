"""A village has no node below it: its pushes leave out the sections that only relay what
nodes below reported (freshness, enrolments, keys), and read nothing for them; a township's
pushes still carry them."""

from pathlib import Path

from node.settings import Settings
from node.sync.runner import outbox
from node.wiring import open_node
from tests.statements import statements_run

RELAYING = {"freshness", "enrolments", "keys"}
RELAY_TABLES = ("view_freshness", "child_credentials", "descendant_keys")


def _statements_of_a_read(data_dir: Path, code: str) -> tuple[set[str], list[str]]:
    ctx = open_node(Settings(code=code, name=code, data_dir=data_dir))
    try:
        store = outbox(ctx)
        with statements_run(ctx.db.engine) as seen:
            store.read_batch(0, max_records=100, max_bytes=1 << 20)
        return {s.name for s in store.sections}, seen
    finally:
        ctx.db.dispose()


def _reads_of(statements: list[str], table: str) -> list[str]:
    return [s for s in statements if f"FROM {table}" in s]


def test_a_village_push_reads_nothing_for_what_only_nodes_below_report(tmp_path: Path) -> None:
    names, statements = _statements_of_a_read(tmp_path / "v", "632322101201")
    assert not names & RELAYING
    for table in RELAY_TABLES:
        assert not _reads_of(statements, table), table
    assert {"audit", "digest"} <= names  # what is the village's own still goes up


def test_a_township_push_still_carries_what_its_children_reported(tmp_path: Path) -> None:
    names, statements = _statements_of_a_read(tmp_path / "t", "632322101")
    assert names >= RELAYING
    for table in RELAY_TABLES:
        assert _reads_of(statements, table), table
