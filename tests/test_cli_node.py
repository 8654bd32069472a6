"""The CLI finds its node and leaves it alone (issue 17): refusals of a data directory that
holds no node, one-line database errors, read-only commands that write nothing, whole values
in `records list`, `status` exit codes, and bounded timeouts against a parent that hangs."""

import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from sqlalchemy import create_engine, text
from typer.testing import Result

from node.settings import load_settings
from tests.cli_support import isolated, run  # noqa: F401 (an autouse fixture)
from tests.factories import household, person

VILLAGE, TOWNSHIP = "632322101201", "632322101"


def init(path: Path, code: str, *extra: str | Path) -> Path:
    result = run("init", "--config", path, "--code", code, "--data-dir", path.parent, *extra)
    assert result.exit_code == 0, result.output
    return path


def one_error_line(result: Result) -> str:
    assert "Traceback" not in result.output
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1, result.stderr
    return result.stderr


OPERATOR_COMMANDS: list[list[str]] = [
    ["status"],
    ["records", "list"],
    ["audit"],
    ["child", "add", "632322101201001"],
    ["db", "upgrade"],
    ["verify"],
    ["resync"],
    ["directive", "list"],
    ["bundle", "export", "--out", "x.tsb"],
]


@pytest.mark.parametrize("command", OPERATOR_COMMANDS, ids=lambda c: " ".join(c))
def test_operator_commands_refuse_a_directory_without_a_node(
    tmp_path: Path, command: list[str]
) -> None:
    typo = tmp_path / "dat"
    result = run("--code", VILLAGE, "--data-dir", typo, *command)
    assert result.exit_code == 2, result.output
    message = one_error_line(result)
    assert f"{typo} 没有 tiersync 节点" in message and "请先运行 `tiersync init`" in message
    assert not typo.exists()  # nothing was created


def test_init_creates_the_node_that_every_command_then_finds(tmp_path: Path) -> None:
    config = init(tmp_path / "v" / "tiersync.toml", VILLAGE, "--name", "Dongmen Village")
    assert (tmp_path / "v" / "tiersync.db").is_file()
    status = run("--config", config, "status", "--json")
    assert status.exit_code == 0, status.output
    report = orjson.loads(status.stdout)
    assert report["name"] == "Dongmen Village" and report["ok"] is True
    assert report["problems"] == []


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("mysql://root@127.0.0.1/tiersync", "不支持的 database_url 类型 'mysql'"),
        ("postgresql+pg8000://postgres@127.0.0.1:5432/test", "数据库驱动未安装"),
        ("postgresql+psycopg://postgres@127.0.0.1:1/none", "数据库出错"),
    ],
)
def test_unsupported_or_unreachable_database_is_one_error_line(
    tmp_path: Path, url: str, words: str
) -> None:
    for command in (["init", "--config", tmp_path / "n.toml"], ["status"], ["serve"]):
        result = run(*command, "--code", VILLAGE, "--database-url", url)
        assert result.exit_code in (1, 2), result.output
        assert words in one_error_line(result), result.stderr
    assert not (tmp_path / "n.toml").exists()


def _units(config: Path) -> list[tuple[str, str, int]]:
    settings = load_settings(config)
    engine = create_engine(settings.resolved_database_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT code, name, seq FROM units ORDER BY code"))
            return [(r.code, r.name, int(r.seq)) for r in rows]
    finally:
        engine.dispose()


def test_read_only_commands_change_nothing(tmp_path: Path) -> None:
    config = init(
        tmp_path / "v" / "tiersync.toml",
        VILLAGE,
        "--name",
        "Dongmen Village",
        "--parent-url",
        "http://127.0.0.1:1",
        "--parent-token",
        "tsk_x",
    )
    before = _units(config)
    pending = orjson.loads(run("--config", config, "status", "--json").stdout)["upstream"]
    for command in (
        ["status"],
        ["status", "--json"],
        ["records", "list"],
        ["audit"],
        ["directive", "list"],
    ):
        result = run("--config", config, *command, "--name", "Somewhere Else")
        assert result.exit_code in (0, 1), result.output
    assert _units(config) == before  # not renamed, no rename queued for the parent
    after = orjson.loads(run("--config", config, "status", "--json").stdout)["upstream"]
    assert after["pending"] == pending["pending"]


def test_records_list_shows_whole_values_and_refuses_foreign_units(tmp_path: Path) -> None:
    config = init(tmp_path / "v" / "tiersync.toml", VILLAGE)
    address = "Dongmen Village, " + "row of houses by the river " * 6 + "house 17"
    rows = [household(address=address), person()]
    source = tmp_path / "rows.ndjson"
    source.write_bytes(b"\n".join(orjson.dumps(r) for r in rows))
    assert run("--config", config, "import", source).exit_code == 0
    listed = run("--config", config, "records", "list")
    assert listed.exit_code == 0
    flat = "".join(listed.stdout.split())
    assert "".join(address.split()) in flat  # every character, wrapped over lines
    assert "…" not in listed.stdout
    outside = run("--config", config, "records", "list", "--unit", "632322101202")
    assert outside.exit_code == 1
    assert "不在本节点" in one_error_line(outside)


def test_status_exits_1_on_trouble_and_says_why(tmp_path: Path) -> None:
    township = init(tmp_path / "t" / "tiersync.toml", TOWNSHIP)
    healthy = run("--config", township, "status")
    assert healthy.exit_code == 0 and "运行正常" in healthy.stdout
    enrolled = run("--config", township, "child", "add", VILLAGE, "--name", "Dongmen")
    assert enrolled.exit_code == 0
    sick = run("--config", township, "status", "--json")
    assert sick.exit_code == 1
    report = orjson.loads(sick.stdout)
    assert report["ok"] is False
    assert any(VILLAGE in p and "从未上报" in p for p in report["problems"])
    readable = run("--config", township, "status")
    assert readable.exit_code == 1 and "从未上报" in readable.stdout


def test_status_counts_a_failing_link_and_quarantine_as_trouble(tmp_path: Path) -> None:
    config = init(tmp_path / "v" / "tiersync.toml", VILLAGE, "--parent-url", "http://127.0.0.1:1")
    settings = load_settings(config)
    engine = create_engine(settings.resolved_database_url)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO upstream (id, acked_seq, durable_seq, last_error, last_error_at) "
                "VALUES (1, 0, 0, 'connection refused', CURRENT_TIMESTAMP)"
            )
        )
    engine.dispose()
    result = run("--config", config, "status", "--json")
    assert result.exit_code == 1
    problems = orjson.loads(result.stdout)["problems"]
    assert any("http://127.0.0.1:1" in p and "connection refused" in p for p in problems)


@pytest.fixture
def hanging_parent() -> Iterator[str]:
    """A 'parent' that accepts connections and never answers (a stopped process)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            held.append(conn)

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.getsockname()[1]}"
    finally:
        stop.set()
        thread.join(5)
        for conn in held:
            conn.close()
        server.close()


@pytest.mark.timeout(120)
@pytest.mark.parametrize(
    "command",
    [["verify"], ["resync"], ["rebuild", "--from-parent"]],
    ids=lambda c: " ".join(c),
)
def test_a_parent_that_hangs_is_named_after_a_bounded_wait(
    tmp_path: Path,
    hanging_parent: str,
    command: list[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    config = init(
        tmp_path / "v" / "tiersync.toml",
        VILLAGE,
        "--parent-url",
        hanging_parent,
        "--parent-token",
        "tsk_632322101201_x",
    )
    monkeypatch.setenv("TIERSYNC_PARENT_TIMEOUT_S", "0.5")
    result = run("--config", config, *command)
    assert result.exit_code == 1, result.output
    message = one_error_line(result)
    assert hanging_parent in message and "0.5 s" in message and "check" in message, message
    assert "ReadTimeout" not in message
