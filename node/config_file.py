"""A node's TOML configuration file: what `tiersync init` and `tiersync demo` write."""

import json
import os
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from node.settings import Settings

WRITTEN = (
    "code",
    "name",
    "level",
    "data_dir",
    "database_url",
    "parent_url",
    "parent_token",
    "hash_key",
    "tls_cert",
    "tls_key",
    "parent_ca",
)
"""The node's identity and links, written as set; every other setting is listed, commented out,
with its default."""


def toml_value(value: Any) -> str:
    if isinstance(value, SecretStr):  # the file is the owner's only (0600), like the token
        value = value.get_secret_value()
    # A JSON string is a valid TOML basic string (same escapes); numbers read the same in both.
    return json.dumps(str(value) if isinstance(value, Path) else value, ensure_ascii=False)


def render(settings: Settings) -> str:
    lines = [f"# tiersync node {settings.code}: {settings.name}", ""]
    for name in WRITTEN:
        value = getattr(settings, name)
        if value is not None:
            lines.append(f"{name} = {toml_value(value)}")
    lines += ["", "# Tuning (defaults shown):"]
    for name, field in Settings.model_fields.items():
        default = field.get_default(call_default_factory=True)  # a list's factory too
        if name in WRITTEN or default is None:
            continue
        lines.append(f"# {name} = {toml_value(default)}  # {field.description or ''}".rstrip())
    return "\n".join(lines) + "\n"


def write_config(path: Path, settings: Settings) -> None:
    """Write `settings` to `path`, readable by its owner only (it may hold the parent token)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as stream:
        stream.write(render(settings))
