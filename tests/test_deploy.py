"""The deployment files are checked against the code (issue 17), so they cannot rot where no
Docker daemon or systemd runs: compose services against what `tiersync serve` accepts, the
article's topology, the Dockerfile and the systemd units' hardening; and the configuration
reference of docs/operations.md against the settings model."""

import re
from pathlib import Path
from typing import Any

import pytest
import typer
import yaml

from node.cli.config_reference import BEGIN, END, block
from node.cli.main import app
from node.seed import build_topology
from node.settings import Settings
from schemas.codes import Level, level_of, parent_of

ROOT = Path(__file__).parents[1]
COMPOSE = yaml.safe_load((ROOT / "deploy" / "compose" / "compose.yaml").read_text())
NODES = {name: svc for name, svc in COMPOSE["services"].items() if name != "postgres"}
UPPER = {Level.prefecture, Level.county}


def serve_command() -> Any:
    group: Any = typer.main.get_command(app)
    return group.commands["serve"]


def serve_envvars() -> set[str]:
    return {p.envvar for p in serve_command().params if isinstance(p.envvar, str)}


def substituted(value: str) -> str:
    """${NAME:-default} as compose would fill it in with nothing set."""
    return re.sub(r"\$\{\w+:-([^}]*)\}", r"\1", value)


def settings_of(service: dict[str, Any]) -> Settings:
    env = {k: substituted(str(v)) for k, v in service["environment"].items()}
    known = {f"TIERSYNC_{name.upper()}": name for name in Settings.model_fields}
    unknown = set(env) - set(known) - serve_envvars()
    assert not unknown, f"not a setting of tiersync serve: {unknown}"
    return Settings(**{known[k]: v for k, v in env.items() if k in known and v != ""})


@pytest.mark.parametrize("name", sorted(NODES))
def test_every_compose_service_is_a_valid_serve_configuration(name: str) -> None:
    service = NODES[name]
    settings = settings_of(service)
    assert service["image"] == "tiersync:local"
    assert any(v.endswith(":/var/lib/tiersync") for v in service["volumes"])
    command = service.get("command", ["serve"])
    assert command[0] == "serve"
    options = {opt for p in serve_command().params for opt in p.opts}
    assert {arg for arg in command[1:] if arg.startswith("--")} <= options
    if settings.parent_url:
        parent = settings.parent_url.removeprefix("http://").split(":")[0]
        assert settings_of(NODES[parent]).code == parent_of(settings.code)
        assert parent in service["depends_on"]
        assert "TIERSYNC_PARENT_TOKEN" in service["environment"]
    if settings.node_level in UPPER:
        assert (settings.database_url or "").startswith("postgresql+psycopg://")
        database = settings.database_url.rsplit("/", 1)[1]  # type: ignore[union-attr]
        init_sql = (ROOT / "deploy" / "compose" / "postgres-init.sql").read_text()
        assert f"CREATE DATABASE {database} " in init_sql
    else:
        assert settings.database_url is None  # SQLite in the data volume


def test_compose_has_the_articles_topology() -> None:
    codes = {settings_of(s).code for s in NODES.values()}
    assert codes == {u.code for u in build_topology("demo") if u.node}
    tops = [s for s in NODES.values() if not settings_of(s).parent_url]
    assert [settings_of(s).code for s in tops] == ["6323"]
    assert {level_of(c) for c in codes} == set(Level) - {Level.grid}


def test_enrol_script_enrols_every_child_at_its_parent() -> None:
    script = (ROOT / "deploy" / "compose" / "enrol.sh").read_text()
    for name, service in NODES.items():
        settings = settings_of(service)
        if settings.parent_url:
            parent = settings.parent_url.removeprefix("http://").split(":")[0]
            assert f"enrol {parent} {settings.code} " in script, name


def test_dockerfile_is_multi_stage_non_root_with_a_health_check() -> None:
    text = (ROOT / "Dockerfile").read_text()
    assert len(re.findall(r"^FROM ", text, re.M)) >= 2
    user = re.findall(r"^USER (\S+)", text, re.M)
    assert user and user[-1] not in ("root", "0")
    assert re.search(r"^HEALTHCHECK .*", text, re.M) and "/healthz" in text
    for package in ("node", "federation", "schemas", "migrations"):
        assert f"COPY {package} {package}" in text
    port = re.search(r"^EXPOSE (\d+)", text, re.M)
    assert port and f"TIERSYNC_PORT={port.group(1)}" in text


@pytest.mark.parametrize("unit", ["tiersync.service", "tiersync@.service"])
def test_systemd_units_are_hardened(unit: str) -> None:
    text = (ROOT / "deploy" / unit).read_text()
    directives = dict(
        line.split("=", 1) for line in text.splitlines() if "=" in line and line[:1].isupper()
    )
    assert directives["User"] == "tiersync" and directives["NoNewPrivileges"] == "yes"
    assert directives["ProtectSystem"] == "strict" and directives["PrivateTmp"] == "yes"
    assert directives["CapabilityBoundingSet"] == ""
    data = directives["ReadWritePaths"]
    assert data.startswith("/var/lib/tiersync") and directives["WorkingDirectory"] == data
    assert "tiersync serve" in directives["ExecStart"]


def test_the_configuration_reference_is_generated_from_the_settings() -> None:
    text = (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
    current = text[text.index(BEGIN) : text.index(END) + len(END)]
    assert current == block(), "run: python -m node.cli.config_reference --write docs/operations.md"
    for name in Settings.model_fields:
        assert f"`TIERSYNC_{name.upper()}`" in current
