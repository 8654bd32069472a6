"""The console script imports the command line with the collector off (node/cli/entry.py) and
must leave it on for the command it runs: a serving node or a long import collects as usual."""

import gc
import subprocess

import pytest

from node.cli import entry
from node.launcher import tiersync_command


def test_the_console_script_runs_a_command_with_the_collector_on(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: list[bool] = []
    monkeypatch.setattr("node.cli.main.app", lambda: seen.append(gc.isenabled()))
    try:
        entry.main()
    finally:
        gc.unfreeze()
    assert seen == [True]
    assert gc.isenabled()


def test_the_installed_script_answers() -> None:
    done = subprocess.run(
        [*tiersync_command(), "--help"], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert "serve" in done.stdout
