"""`tiersync user …`, `init --admin` and `serve`'s safe defaults, run as an operator would."""

from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest

from node.access import login
from node.audit import service as audit
from node.cli.common import UsageError
from node.cli.options import NodeConfig
from node.cli.serve import check_exposure
from node.db import Database
from node.records import repository
from node.settings import Settings
from node.wiring import open_node
from tests.cli_support import isolated, run
from tests.factories import person

__all__ = ["isolated"]  # the fixture: nothing of the developer's leaks in

VILLAGE = "632322101201"


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "tiersync.toml"
    result = run(
        "init", "--config", path, "--code", VILLAGE, "--data-dir", tmp_path / "d",
        "--admin", "boss",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    return path


def holder(config: Path, token: str) -> str:
    settings = NodeConfig(config_file=config).settings()
    db = Database(settings.resolved_database_url)
    try:
        now = datetime.now(UTC)
        return login.verify_token(
            db, node=VILLAGE, token=token, kind="api", now=now
        ).principal.actor
    finally:
        db.dispose()


def test_init_admin_and_user_add_print_a_working_token_last(config: Path) -> None:
    added = run("--config", config, "user", "add", "zhuoma", "--role", "operator")
    assert added.exit_code == 0, added.output
    token = added.stdout.strip().splitlines()[-1]
    assert token.startswith(f"tsu_{VILLAGE}_") and holder(config, token) == "user:zhuoma"
    listed = run("--config", config, "user", "list", "--json")
    assert {u["name"]: u["role"] for u in orjson.loads(listed.stdout)} == {
        "boss": "admin",
        "zhuoma": "operator",
    }
    rotated = run("--config", config, "user", "token", "zhuoma")
    new = rotated.stdout.strip().splitlines()[-1]
    assert holder(config, new) == "user:zhuoma"
    with pytest.raises(login.Unauthorized):
        holder(config, token)  # the old one is revoked


def test_bad_user_input_is_one_line_and_nothing_written(config: Path) -> None:
    unconfined = run("--config", config, "user", "add", "grid3", "--role", "terminal")
    assert unconfined.exit_code == 1
    assert "error: a terminal user needs the units it works in" in unconfined.output
    unknown = run("--config", config, "user", "add", "x", "--role", "root")
    assert unknown.exit_code == 1 and "unknown role 'root'" in unknown.output
    outside = run("--config", config, "user", "add", "x", "--role", "viewer", "--unit", "632323")
    assert outside.exit_code == 1 and "not in this node's subtree" in outside.output
    weak = run("--config", config, "user", "passwd", "boss", "--password-stdin", stdin="short\n")
    assert weak.exit_code == 1 and "password too short" in weak.output
    listed = run("--config", config, "user", "list")
    assert "grid3" not in listed.stdout and " x " not in listed.stdout


def test_user_changes_are_audited_with_the_os_user(config: Path) -> None:
    run("--config", config, "user", "add", "grid3", "--role", "terminal", "--unit", VILLAGE + "003")
    run("--config", config, "user", "disable", "grid3")
    settings = NodeConfig(config_file=config).settings()
    db = Database(settings.resolved_database_url)
    try:
        entries = audit.entries(db)
    finally:
        db.dispose()
    assert [e.action for e in entries[:3]] == ["user.disable", "user.add", "user.add"]
    assert all(e.actor.startswith("os:") for e in entries)


def test_serve_refuses_plain_http_off_loopback(tmp_path: Path) -> None:
    settings = Settings(code=VILLAGE, data_dir=tmp_path)
    with pytest.raises(UsageError, match="--insecure-http"):
        check_exposure(settings, "192.0.2.10", insecure_http=False)
    allowed = check_exposure(settings, "192.0.2.10", insecure_http=True)
    assert "192.0.2.10" in allowed.host_names  # the bound address is a name of the node
    assert check_exposure(settings, "127.0.0.1", insecure_http=False) is settings
    with_tls = settings.model_copy(update={"tls_cert": tmp_path / "c", "tls_key": tmp_path / "k"})
    assert check_exposure(with_tls, "192.0.2.10", insecure_http=False).tls_enabled
    refused = run("serve", "--code", VILLAGE, "--data-dir", tmp_path, "--host", "0.0.0.0")
    assert refused.exit_code == 2 and "拒绝在" in refused.output and "明文 HTTP" in refused.output


def test_exports_are_masked_unless_revealed_with_a_reason(config: Path, tmp_path: Path) -> None:
    from openpyxl import load_workbook

    body = person()
    rows = tmp_path / "p.ndjson"
    rows.write_bytes(orjson.dumps(body))
    assert run("--config", config, "import", rows).exit_code == 0
    clear = body["data"]["id_number"]
    masked_out, clear_out = tmp_path / "masked.xlsx", tmp_path / "clear.xlsx"
    assert run("--config", config, "export", "--kind", "person", "--out", masked_out).exit_code == 0
    assert load_workbook(masked_out)["实有人口"]["C2"].value == clear[:6] + "*" * 8 + clear[-4:]
    short = run("--config", config, "export", "--out", clear_out, "--reveal", "why")
    assert short.exit_code == 2 and not clear_out.exists()
    why = "handover to the county civil affairs bureau"
    revealed = run("--config", config, "export", "--kind", "person", "--out", clear_out,
                   "--reveal", why)  # fmt: skip
    assert revealed.exit_code == 0, revealed.output
    assert load_workbook(clear_out)["实有人口"]["C2"].value == clear
    # The masked file edited and imported again keeps the stored ID number.
    assert run("--config", config, "import", masked_out).exit_code == 0
    settings = NodeConfig(config_file=config).settings()
    db = open_node(settings, create=False, writable=False).db  # its data key opens the records
    try:
        [entry] = audit.entries(db, action="personal.reveal")
        with db.read() as conn:
            [row] = [r for r in repository.list_page(conn, kind="person", unit=VILLAGE,
                                                     after=None, limit=5)]  # fmt: skip
    finally:
        db.dispose()
    assert entry.actor.startswith("os:") and why in entry.detail
    assert row.data["id_number"] == clear
