"""What an operator sees of the privacy set-up on the command line: a bad policy refused at
start with each field and reason, and the hash key handed out with a child's credential."""

from pathlib import Path

import orjson
import pytest

from tests.cli_support import isolated, run  # noqa: F401  (isolated: no TIERSYNC_* leaks in)

COUNTY, TOWNSHIP = "632322", "632322101"


def test_a_bad_policy_refuses_init_with_each_field_and_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    policy = tmp_path / "policy.toml"
    policy.write_text('[person]\nsex = { county = "drop" }\nphon = "drop"\n')
    monkeypatch.setenv("TIERSYNC_PRIVACY_POLICY", str(policy))
    result = run("init", "--config", "node.toml", "--code", COUNTY)
    assert result.exit_code == 1
    assert "person.sex: drop at the county takes from the view" in result.stderr
    assert "person.phon: unknown field of person" in result.stderr
    assert not (tmp_path / ".tiersync" / "tiersync.db").exists()


def test_child_add_hands_out_the_prefectures_hash_key(tmp_path: Path) -> None:
    assert run("init", "--config", "county.toml", "--code", COUNTY).exit_code == 0
    key = (tmp_path / ".tiersync" / "hash.key").read_text().strip()
    shown = run("--config", "county.toml", "child", "add", TOWNSHIP)
    assert shown.exit_code == 0, shown.output
    assert f"TIERSYNC_HASH_KEY）：{key}" in shown.stdout
    as_json = orjson.loads(
        run("--config", "county.toml", "child", "add", TOWNSHIP, "--json").stdout
    )
    assert as_json["hash_key"] == key
