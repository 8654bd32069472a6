"""Helpers for the directive tests: drive pulls top-down, issue, read inboxes and progress."""

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from federation.puller import Puller
from node import migrate
from node.db import Database
from tests.cluster import Cluster, Node

PREFECTURE = "6323"
JIANZHA, ZEKU = "632322", "632323"
KANGYANG, OTHER_TOWN, MAIXIU = "632322101", "632322102", "632323102"
DONGMEN, WEST_VILLAGE, FAR_VILLAGE, HAZANG = (
    "632322101201",
    "632322101202",
    "632322102201",
    "632323102201",
)


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One SQLite file with every migration applied, copied for each node (saves ~0.5 s each)."""
    path = tmp_path_factory.mktemp("template") / "tiersync.db"
    db = Database(f"sqlite:///{path}")
    migrate.upgrade(db.engine)
    db.dispose()
    return path


def copies_of(template: Path, root: Path) -> Callable[[str], str]:
    """A Cluster database_url factory: each node starts from a copy of the migrated template."""

    def url(code: str) -> str:
        path = root / code / "tiersync.db"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(template, path)
        return f"sqlite:///{path}"

    return url


def puller(node: Node) -> Puller:
    assert node.ctx.puller is not None
    return node.ctx.puller


async def pull_all(cluster: Cluster) -> int:
    """Every node takes what its parent holds, top first, so one round reaches the bottom."""
    stored = 0
    for code in sorted(cluster.nodes, key=len):
        node = cluster.nodes[code]
        parent = (node.settings.parent_url or "").removeprefix("http://")
        if parent and parent not in cluster.router.down:
            stored += await puller(node).run_once()
    return stored


async def deliver(cluster: Cluster) -> None:
    """Directives all the way down, then receipts all the way up."""
    await pull_all(cluster)
    await cluster.sync()


async def issue(node: Node, expect: int = 201, **body: Any) -> dict[str, Any]:
    response = await node.client.post("/api/v1/directives", json={"title": "Screening"} | body)
    assert response.status_code == expect, response.text
    return response.json()  # type: ignore[no-any-return]


async def progress(node: Node, directive_id: str) -> dict[str, Any]:
    response = await node.client.get(f"/api/v1/directives/{directive_id}")
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


async def inbox(node: Node) -> list[dict[str, Any]]:
    response = await node.client.get("/api/v1/directives", params={"inbox": "true"})
    assert response.status_code == 200, response.text
    return response.json()["items"]  # type: ignore[no-any-return]


async def report(node: Node, directive_id: str, what: str, note: str | None = None) -> Any:
    return await node.client.post(f"/api/v1/directives/{directive_id}/{what}", json={"note": note})


def counts(view: dict[str, Any]) -> tuple[int, ...]:
    keys = ("targets", "delivered", "acknowledged", "done", "overdue")
    return tuple(view[k] for k in keys)


async def huangnan(cluster: Cluster) -> Cluster:
    """Two counties, three townships, four villages; the registry synced up to the top."""
    await cluster.add(PREFECTURE, "Huangnan Prefecture")
    await cluster.add(JIANZHA, "Jianzha County", parent=PREFECTURE)
    await cluster.add(ZEKU, "Zeku County", parent=PREFECTURE)
    await cluster.add(KANGYANG, "Kangyang Town", parent=JIANZHA)
    await cluster.add(OTHER_TOWN, "Second Town", parent=JIANZHA)
    await cluster.add(MAIXIU, "Maixiu Town", parent=ZEKU)
    await cluster.add(DONGMEN, "Dongmen Village", parent=KANGYANG)
    await cluster.add(WEST_VILLAGE, "West Village", parent=KANGYANG)
    await cluster.add(FAR_VILLAGE, "Far Village", parent=OTHER_TOWN)
    await cluster.add(HAZANG, "Hazang Village", parent=MAIXIU)
    await cluster.sync()
    return cluster
