"""`tiersync init`: write a node's TOML configuration file."""

import json
import os
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError

from node.access import users
from node.cli.common import UsageError, node_context, say
from node.cli.options import NodeConfig, describe_settings_error, node_command
from node.cli.user import show_added
from node.principal import os_actor
from node.settings import Settings

WRITTEN = ("code", "name", "level", "data_dir", "database_url", "parent_url", "parent_token")
TUNING = (
    "push_delay_ms",
    "retry_max_s",
    "batch_max_records",
    "batch_max_bytes",
    "stale_after_s",
    "heartbeat_s",
)


def toml_value(value: Any) -> str:
    # A JSON string is a valid TOML basic string (same escapes); numbers read the same in both.
    return json.dumps(str(value) if isinstance(value, Path) else value, ensure_ascii=False)


def render(settings: Settings) -> str:
    lines = [f"# tiersync node {settings.code}: {settings.name}", ""]
    for name in WRITTEN:
        value = getattr(settings, name)
        if value is not None:
            lines.append(f"{name} = {toml_value(value)}")
    lines += ["", "# Tuning (defaults shown):"]
    for name in TUNING:
        field = Settings.model_fields[name]
        lines.append(
            f"# {name} = {toml_value(field.default)}  # {field.description or ''}".rstrip()
        )
    return "\n".join(lines) + "\n"


@node_command()
def init(
    config: NodeConfig,
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
    admin: Annotated[
        str | None,
        typer.Option(
            "--admin",
            metavar="NAME",
            help="Also create the first admin; its token is printed last.",
        ),
    ] = None,
) -> None:
    """Write the node's configuration (from the options and TIERSYNC_* variables) to --config."""
    path = config.path
    if path.exists() and not force:
        raise UsageError(f"{path} exists; pass --force to overwrite it")
    try:
        settings = Settings(**config.overrides)
    except ValidationError as exc:
        raise UsageError(describe_settings_error(exc, path)) from None
    # Relative paths would depend on the directory the node is later started from.
    settings.data_dir = settings.data_dir.resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    # The file may hold the parent credential: readable by its owner only.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as stream:
        stream.write(render(settings))
    written = NodeConfig(config_file=path).settings()
    node = f"{written.name} ({written.code}, {written.level})"
    say(f"wrote {path}: {node}, data in {written.data_dir}")
    if admin is not None:
        with node_context(written) as ctx:
            added = users.add_user(
                ctx.db,
                node=written.code,
                name=admin,
                role="admin",
                units=[],
                actor=os_actor(),
                token_ttl=timedelta(days=written.token_ttl_days),
            )
        say(f"admin sign-in needs a password and TOTP: tiersync user passwd {admin}; "
            f"tiersync user totp {admin}")  # fmt: skip
        show_added(added, json=False)
