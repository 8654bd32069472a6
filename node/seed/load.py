"""Writing a profile's records into one node: its own database, or a running node by URL.

Used by `tiersync seed`; `tiersync demo` writes each unit's records at the node that owns it.
"""

import urllib.request
from collections.abc import Callable, Iterator
from datetime import datetime
from itertools import islice
from typing import Any

import orjson

from node.context import NodeContext
from node.records.service import bulk_write
from node.seed.generate import subtree_records
from node.seed.topology import build_topology
from node.units.service import register_unit

BATCH = 2000
Progress = Callable[[int], None]


def register_units(ctx: NodeContext, profile: str) -> int:
    """Name the units below this node in its registry (villages and townships that run no node
    of their own); the names travel up with the records. Grids are named by their records."""
    node = ctx.identity.code
    below = [u for u in build_topology(profile) if u.code.startswith(node) and u.code != node]
    with ctx.db.write() as txn:
        for unit in below:
            if unit.level != "grid":
                register_unit(txn, code=unit.code, name=unit.name)
    return sum(u.level != "grid" for u in below)


def _chunks(records: Iterator[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    while chunk := list(islice(records, size)):
        yield chunk


def seed_local(
    ctx: NodeContext,
    profile: str,
    seed: int,
    *,
    as_of: datetime | None = None,
    progress: Progress | None = None,
) -> tuple[int, list[str]]:
    """Write the records of this node's subtree into its database; (accepted, rejections)."""
    register_units(ctx, profile)
    accepted, rejected = 0, []
    for chunk in _chunks(subtree_records(profile, ctx.identity.code, seed, as_of=as_of), BATCH):
        result = bulk_write(ctx.db, node=ctx.identity, items=chunk)
        accepted += result.accepted
        rejected += [f"{chunk[r.index]['id']}: {r.error}" for r in result.rejected]
        if progress:
            progress(len(chunk))
    return accepted, rejected


def _call(url: str, body: Any = None) -> Any:
    data = None if body is None else orjson.dumps(body)
    request = urllib.request.Request(
        url,
        data=data,
        headers={"Content-Type": "application/json"},
        method="POST" if data else "GET",
    )
    with urllib.request.urlopen(request, timeout=300) as response:
        return orjson.loads(response.read())


def node_code_at(url: str) -> str:
    """The unit code of the node serving at `url` (from its summary view)."""
    return str(_call(url.rstrip("/") + "/api/v1/views/summary")["unit"])


def seed_remote(
    url: str,
    profile: str,
    seed: int,
    *,
    as_of: datetime | None = None,
    progress: Progress | None = None,
) -> tuple[int, list[str]]:
    """POST the records of the subtree of the node at `url` to its bulk API."""
    base = url.rstrip("/")
    code = node_code_at(base)
    accepted, rejected = 0, []
    for chunk in _chunks(subtree_records(profile, code, seed, as_of=as_of), BATCH):
        result = _call(base + "/api/v1/records/bulk", chunk)
        accepted += int(result["accepted"])
        rejected += [f"{r.get('id')}: {r['error']}" for r in result["rejected"]]
        if progress:
            progress(len(chunk))
    return accepted, rejected
