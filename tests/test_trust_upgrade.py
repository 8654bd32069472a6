"""The rolling upgrade (issue 13), side by side with today's release as a real process: a
parent upgraded first serves a child still on today's code (bearer token, link 1) and says so
in `status`; the child, restarted on the new release, registers its key with the same code at
its first request and signs from then on (link 2); its code is then spent."""

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from node.launcher import NodeProcess, NodeSpec, create, free_port, run_cli
from tests.factories import person
from tests.processes import give_operator, wait_for

pytestmark = pytest.mark.slow
TODAY = "d6c2dfe"  # main before issue 13: the release a prefecture runs today
REPO = Path(__file__).resolve().parents[1]
COUNTY, TOWNSHIP = "632322", "632322101"


@pytest.fixture
def old_release(tmp_path: Path) -> Iterator[Path]:
    where = tmp_path / "release-today"
    subprocess.run(
        ["git", "-C", str(REPO), "worktree", "add", "--detach", str(where), TODAY],
        check=True,
        capture_output=True,
        timeout=120,
    )
    try:
        yield where
    finally:
        subprocess.run(
            ["git", "-C", str(REPO), "worktree", "remove", "--force", str(where)],
            check=False,
            capture_output=True,
            timeout=120,
        )


def count(spec: NodeSpec) -> int:
    with httpx.Client(base_url=spec.url, headers=spec.auth, timeout=10) as client:
        return int(client.get("/api/v1/views/summary").json()["counts"].get("person", 0))


def write(spec: NodeSpec) -> None:
    with httpx.Client(base_url=spec.url, headers=spec.auth, timeout=30) as client:
        answer = client.post("/api/v1/records", json=person(unit=TOWNSHIP + "001"))
        assert answer.status_code == 201, answer.text


def links(county: NodeSpec) -> dict[str, int | None]:
    report = json.loads(run_cli(county, "status", "--json"))
    return {c["code"]: c["link"] for c in report["children"]}


def test_a_new_parent_serves_todays_child_until_it_upgrades(
    tmp_path: Path, old_release: Path
) -> None:
    # -P: the current directory (this checkout) is not put before PYTHONPATH
    old = [sys.executable, "-P", "-c", "from node.cli.main import app; app()"]
    old_env = {"PYTHONPATH": str(old_release)}
    county = NodeSpec(COUNTY, "Jianzha", tmp_path / COUNTY, free_port())
    township = NodeSpec(
        TOWNSHIP, "Kangyang", tmp_path / TOWNSHIP, free_port(), command=old, extra_env=old_env
    )
    probe = subprocess.run(
        [sys.executable, "-P", "-c", "import node; print(node.__file__)"],
        env=township.env(),
        capture_output=True,
        text=True,
        check=True,
    )
    assert probe.stdout.startswith(str(old_release)), probe.stdout  # really today's code
    create(county)
    give_operator(county)
    enrolled = run_cli(county, "child", "add", TOWNSHIP, "--name", "Kangyang")
    township.parent, township.token = county, enrolled.strip().splitlines()[-1]
    create(township)  # today's `tiersync init`
    township.operator_token = (
        run_cli(township, "user", "add", "op", "--role", "operator").strip().splitlines()[-1]
    )
    procs = [NodeProcess(county).start(), NodeProcess(township).start()]
    try:
        for proc in procs:
            proc.wait_healthy(60)
        with httpx.Client(base_url=township.url, headers=township.auth, timeout=30) as client:
            assert (
                client.post("/api/v1/records", json=person(unit=TOWNSHIP + "001")).status_code
                == 201
            )
        wait_for(lambda: count(county) == 1, 60, "today's child's record at the new parent")
        assert links(county)[TOWNSHIP] == 1  # served on today's link, and status says so

        # The township is upgraded: same data, same configuration, the new release.
        procs[1].stop()
        township.command, township.extra_env = None, {}
        procs[1] = NodeProcess(township).start()
        procs[1].wait_healthy(60)
        with httpx.Client(base_url=township.url, headers=township.auth, timeout=30) as client:
            assert (
                client.post("/api/v1/records", json=person(unit=TOWNSHIP + "001")).status_code
                == 201
            )
        wait_for(lambda: count(county) == 2, 60, "the upgraded child's record")
        assert links(county)[TOWNSHIP] == 2
        spent = httpx.get(
            f"{county.url}/api/v1/sync/cursor",
            params={"source": TOWNSHIP},
            headers={"Authorization": f"Bearer {township.token}"},
            timeout=10,
        )
        assert spent.status_code == 401 and "spent" in spent.text
    finally:
        for proc in reversed(procs):
            proc.stop()
