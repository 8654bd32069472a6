"""The `tiersync` command line, through Typer's CliRunner (in-process)."""

import stat
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest

from node.cli.options import NodeConfig
from node.db import Database
from node.migrate import head_revision
from node.settings import load_settings
from node.units.service import authenticate_child
from tests.cli_support import isolated, run  # noqa: F401 (an autouse fixture)
from tests.factories import household, person

VILLAGE = "632322101201"
GRID = VILLAGE + "003"
COUNTY = "632322"
SAMPLE = Path(__file__).parents[1] / "deploy" / "sample" / "village.ndjson"


def stored(config: Path, **filters: str) -> list[dict[str, Any]]:
    options = [x for k, v in filters.items() for x in (f"--{k}", v)]
    result = run("--config", config, "records", "list", "--limit", "1000", "--json", *options)
    assert result.exit_code == 0, result.output
    items: list[dict[str, Any]] = orjson.loads(result.stdout)["items"]
    return items


def write_lines(path: Path, lines: list[Any]) -> Path:
    text = [line if isinstance(line, str) else orjson.dumps(line).decode() for line in lines]
    path.write_text("\n".join(text) + "\n", encoding="utf-8")
    return path


def broken_person() -> dict[str, Any]:
    body = person()
    good = body["data"]["id_number"]
    body["data"]["id_number"] = good[:-1] + ("1" if good[-1] == "0" else "0")
    return body


@pytest.fixture
def make_config(tmp_path: Path) -> Callable[..., Path]:
    def make(code: str, name: str, database_url: str | None = None) -> Path:
        path = tmp_path / code / "tiersync.toml"
        extra = ["--database-url", database_url] if database_url else []
        args: list[str | Path] = ["init", "--config", path, "--code", code, "--name", name, *extra]
        result = run(*args, "--data-dir", tmp_path / code / "data")
        assert result.exit_code == 0, result.output
        return path

    return make


@pytest.fixture
def village(make_config: Callable[..., Path], database_url_factory: Callable[[str], str]) -> Path:
    """A village node's config file, on each database engine."""
    return make_config(VILLAGE, "Dongmen Village", database_url_factory(VILLAGE))


def test_init_writes_a_valid_file_and_refuses_to_overwrite(tmp_path: Path) -> None:
    result = run("init", "--code", COUNTY, "--name", "Jianzha County", "--data-dir", "data")
    assert result.exit_code == 0, result.output
    path = tmp_path / "tiersync.toml"
    settings = load_settings(path)
    assert (settings.code, settings.name, settings.level) == (COUNTY, "Jianzha County", "county")
    assert settings.data_dir == tmp_path / "data"  # written absolute
    assert stat.S_IMODE(path.stat().st_mode) == 0o600  # may hold the parent token

    again = run("init", "--code", "6323")
    assert again.exit_code == 2 and "--force" in again.stderr
    assert load_settings(path).code == COUNTY
    forced = run("init", "--code", "6323", "--parent-token", "secret", "--force")
    assert forced.exit_code == 0, forced.output
    assert (
        load_settings(path).level == "prefecture" and load_settings(path).parent_token == "secret"
    )


def test_init_takes_environment_and_refuses_invalid_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TIERSYNC_CODE", VILLAGE)
    monkeypatch.setenv("TIERSYNC_PARENT_URL", "http://township:8000")
    assert run("init", "--config", "conf/node.toml").exit_code == 0
    assert load_settings(tmp_path / "conf" / "node.toml").parent_url == "http://township:8000"
    bad = run("init", "--config", "other.toml", "--level", "county")
    assert bad.exit_code == 2 and "level county does not match" in bad.stderr
    assert not (tmp_path / "other.toml").exists()


def test_db_upgrade_reports_the_head_revision(village: Path) -> None:
    result = run("db", "upgrade", "--config", village, "--json")
    assert result.exit_code == 0, result.output
    report = orjson.loads(result.stdout)
    settings = load_settings(village)
    db = Database(settings.resolved_database_url)
    try:
        assert report["revision"] == report["head"] == head_revision(db.engine)
    finally:
        db.dispose()
    readable = run("--config", village, "db", "upgrade")
    assert readable.exit_code == 0 and "（最新）" in readable.stdout


def test_child_add_prints_a_working_token_last(make_config: Callable[..., Path]) -> None:
    county = make_config(COUNTY, "Jianzha County")
    result = run("--config", county, "child", "add", "632322101", "--name", "Kangyang Town")
    assert result.exit_code == 0, result.output
    lines = result.stdout.strip().splitlines()
    assert "632322101" in lines[0] and "Kangyang Town" in lines[0]
    token = lines[-1]
    settings = load_settings(county)
    db = Database(settings.resolved_database_url)
    try:
        assert authenticate_child(db, token) == "632322101"
        renewed = run("child", "add", "632322101", "--config", county, "--json")
        assert renewed.exit_code == 0, renewed.output
        enrolled = orjson.loads(renewed.stdout)
        assert enrolled["unit"]["name"] == "Kangyang Town"  # kept: --name was not given again
        assert authenticate_child(db, enrolled["token"]) == "632322101"
        with pytest.raises(Exception, match="revoked"):
            authenticate_child(db, token)
    finally:
        db.dispose()
    assert load_settings(county).name == "Jianzha County"  # the node's own name is untouched


@pytest.mark.parametrize(
    ("code", "exit_code", "message"),
    [("63232210", 2, "8 digits"), ("632323101", 1, "not below"), ("632322101201", 1, "direct")],
)
def test_child_add_refuses_codes_that_are_not_direct_children(
    make_config: Callable[..., Path], code: str, exit_code: int, message: str
) -> None:
    county = make_config(COUNTY, "Jianzha County")
    result = run("--config", county, "child", "add", code)
    assert result.exit_code == exit_code and message in result.output
    assert "Traceback" not in result.output


def test_import_ndjson_reports_bad_rows_by_line(village: Path, tmp_path: Path) -> None:
    rid = str(uuid.uuid4())
    lines = [person(), "", broken_person(), "{not json", household() | {"id": rid}, "[1, 2]"]
    path = write_lines(tmp_path / "register.ndjson", lines)
    result = run("import", path, "--config", village)
    assert result.exit_code == 1, result.output
    assert "line 3: " in result.stderr and "id_number" in result.stderr
    assert "line 4: not JSON" in result.stderr and "line 6: not a JSON object" in result.stderr
    assert result.stdout.strip().splitlines()[-1] == "导入 2 条，拒收 3 条"
    assert sorted(r["kind"] for r in stored(village)) == ["household", "person"]

    again = run("--config", village, "import", path, "--json", "--batch-size", "2")
    report = orjson.loads(again.stdout)
    assert again.exit_code == 1 and report["imported"] == 2
    assert [r["line"] for r in report["rejected"]] == [3, 4, 6]
    assert len(stored(village, kind="household")) == 1  # same id: replaced, not duplicated


def test_import_csv_maps_rows_to_lines(village: Path, tmp_path: Path) -> None:
    path = tmp_path / "houses.csv"
    path.write_text(
        "kind,unit,id,address,head_name,member_count\n"
        f"household,{VILLAGE},,House 1,Tashi,3\n"
        f'household,{GRID},,"House 2,\nback yard",Dorje,\n'
        "\n"
        f"household,{VILLAGE},,House 4,Drolma,many\n"
        f"household,632322101202,,House 5,Lhamo,2\n"
        f"household,{GRID},,,Sonam,1\n"
        f"household,{GRID},,House 8,Pema\n",
        encoding="utf-8",
    )
    result = run("--config", village, "import", path, "--json")
    assert result.exit_code == 1, result.output
    report = orjson.loads(result.stdout)
    assert report["imported"] == 2
    errors = {r["line"]: r["error"] for r in report["rejected"]}
    # Line 1 the header, 2 House 1, 3-4 House 2 (a quoted newline), 5 blank, then one per line.
    assert sorted(errors) == [6, 7, 8, 9]
    assert "member_count" in errors[6] and "jurisdiction" in errors[7]
    assert "address" in errors[8] and "cells" in errors[9]
    houses = {r["data"]["address"]: r["data"] for r in stored(village)}
    assert houses["House 2,\nback yard"] == {
        "address": "House 2,\nback yard",
        "head_name": "Dorje",
        "member_count": 0,
    }


def test_import_needs_a_known_format_and_a_csv_header(village: Path, tmp_path: Path) -> None:
    odd = write_lines(tmp_path / "register.txt", [person()])
    result = run("--config", village, "import", odd)
    assert result.exit_code == 2 and "--format" in result.stderr
    forced = run("--config", village, "import", odd, "--format", "ndjson")
    assert forced.exit_code == 0 and "导入 1 条，拒收 0 条" in forced.stdout
    headless = tmp_path / "bad.csv"
    headless.write_text("kind,name\nperson,x\n", encoding="utf-8")
    result = run("--config", village, "import", headless)
    assert result.exit_code == 2 and "unit" in result.stderr


def test_the_demo_sample_imports_cleanly_and_idempotently(village: Path) -> None:
    for _ in range(2):
        result = run("--config", village, "import", SAMPLE)
        assert result.exit_code == 0, result.output
        assert "导入 20 条，拒收 0 条" in result.stdout
    assert len(stored(village)) == 20


def test_records_list_and_get(village: Path, tmp_path: Path) -> None:
    rows = [person(), person(unit=GRID), household(unit=GRID)]
    assert (
        run("--config", village, "import", write_lines(tmp_path / "r.ndjson", rows)).exit_code == 0
    )

    table = run("--config", village, "records", "list")
    assert table.exit_code == 0 and table.stdout.count("person") == 2
    assert len(stored(village, unit=GRID)) == 2 and len(stored(village, kind="person")) == 2
    page = orjson.loads(
        run("--config", village, "records", "list", "--limit", "2", "--json").stdout
    )
    assert len(page["items"]) == 2 and page["next_cursor"]
    rest = run("--config", village, "records", "list", "--cursor", page["next_cursor"], "--json")
    assert len(orjson.loads(rest.stdout)["items"]) == 1

    record = stored(village, kind="household")[0]
    got = run("--config", village, "records", "get", record["id"], "--json")
    assert got.exit_code == 0 and orjson.loads(got.stdout) == record
    readable = run("--config", village, "records", "get", record["id"])
    assert readable.exit_code == 0 and "household" in readable.stdout and "Tashi" in readable.stdout
    missing = run("--config", village, "records", "get", str(uuid.uuid4()))
    assert missing.exit_code == 1 and "not found" in missing.stderr
    assert "Traceback" not in missing.output


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "code：缺少"),
        (("--code", "12345"), "5 digits"),
        (("--code", VILLAGE, "--level", "township"), "does not match"),
        (("--config", "absent.toml"), "配置文件 absent.toml 不存在"),
        (("--config", "typo.toml"), "含未知配置项 databse_url"),
        (("--config", "broken.toml"), "不是有效的 TOML"),
        (("--code", VILLAGE, "--database-url", "nonsense://"), "database_url 无效"),
    ],
)
def test_bad_configuration_is_one_line_and_exit_2(
    tmp_path: Path, args: tuple[str, ...], message: str
) -> None:
    _write(tmp_path / "typo.toml", f'code = "{VILLAGE}"\ndatabse_url = "sqlite://"\n')
    _write(tmp_path / "broken.toml", "code = \n")
    for command in (["records", "list"], ["db", "upgrade"], ["serve"], ["child", "add", GRID]):
        result = run(*command, *args)
        assert result.exit_code == 2, (command, result.output)
        assert message in result.stderr
        assert result.stderr.count("\n") == 1 and result.stderr.startswith("error: ")
        assert "Traceback" not in result.output


def test_options_override_environment_override_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _write(tmp_path / "node.toml", f'code = "{VILLAGE}"\nname = "file"\nparent_url = "f"\n')
    monkeypatch.setenv("TIERSYNC_CONFIG", str(path))
    assert NodeConfig().settings().name == "file"
    monkeypatch.setenv("TIERSYNC_NAME", "env")
    settings = NodeConfig().settings()
    assert (settings.name, settings.parent_url) == ("env", "f")
    outer = NodeConfig(None, {"name": "before", "parent_url": "before"})
    inner = NodeConfig(None, {"name": "after"})
    settings = inner.under(outer).settings()
    assert (settings.name, settings.parent_url) == ("after", "before")


def test_options_before_and_after_the_command(tmp_path: Path) -> None:
    data = tmp_path / "elsewhere"
    assert run("init", "--code", VILLAGE, "--data-dir", data).exit_code == 0
    result = run("--code", VILLAGE, "--data-dir", data, "db", "upgrade", "--name", "x")
    assert result.exit_code == 0, result.output
    assert str(data) in result.stdout


def test_the_deploy_example_config_is_valid() -> None:
    example = Path(__file__).parents[1] / "deploy" / "tiersync.example.toml"
    settings = NodeConfig(config_file=example).settings()
    assert settings.level == "township" and settings.parent_url
