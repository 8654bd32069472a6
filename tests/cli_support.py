"""Running `tiersync` in-process (typer's CliRunner) with nothing of the developer's leaking in."""

import os
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from node.cli.main import app

runner = CliRunner()


def run(*args: str | Path, stdin: str | None = None) -> Result:
    return runner.invoke(app, [str(a) for a in args], input=stdin)


@pytest.fixture(autouse=True)
def isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No TIERSYNC_* variable or ./tiersync.toml of the developer's leaks into a test."""
    for key in list(os.environ):
        if key.startswith("TIERSYNC_"):
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)
