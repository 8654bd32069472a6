"""Helpers of the restore tests: a node's database file backed up and put back, as an operator
would with the node stopped (no tests here)."""

import shutil
from pathlib import Path

from tests.cluster import Cluster


async def stopped(cluster: Cluster, code: str) -> Path:
    """Stop a node and return its database file."""
    node = cluster.nodes.pop(code)
    cluster.router.apps.pop(code, None)
    await node.stack.aclose()
    cluster.nodes[code] = node  # kept for its settings; started again by `restored`
    return node.settings.data_dir / "tiersync.db"


async def backed_up(cluster: Cluster, code: str, backup: Path) -> None:
    """Stop the node, copy its database file aside, start it again."""
    shutil.copy(await stopped(cluster, code), backup)
    await cluster.start(cluster.nodes[code].settings)


async def restored(cluster: Cluster, code: str, backup: Path) -> None:
    """The node's disk is lost: its database file is put back from the backup."""
    shutil.copy(backup, await stopped(cluster, code))
    for suffix in ("-wal", "-shm"):
        Path(f"{cluster.nodes[code].settings.data_dir / 'tiersync.db'}{suffix}").unlink(
            missing_ok=True
        )
    await cluster.start(cluster.nodes[code].settings)
