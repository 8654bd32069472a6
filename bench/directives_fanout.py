"""A directive to 270 villages, delivered down and receipted up, in one process.

The article's topology (1 prefecture, 4 counties, ~34 townships, 270 villages; codes below the
counties made up), every node a create_app() with its own SQLite file in a temp dir, all joined
by the in-process routing transport of tests/cluster.py and running their real loops: pullers
long-poll their parents, replicators push on commit. Measured: issue → stored at every village,
→ every "delivered" receipt at the prefecture, and every village's "done" → at the prefecture;
plus requests and bytes on the wire per village.

    .venv/bin/python -m bench.directives_fanout [--villages 270] [--json]
"""

import argparse
import asyncio
import shutil
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import orjson

from federation.http_peer import HttpPeer
from node import migrate
from node.db import Database
from node.units import repository as units_repository
from tests.cluster import Cluster

PREFECTURE = "6323"
COUNTIES = ("632301", "632322", "632323", "632324")  # Tongren, Jianzha, Zeku, Henan
TOWNSHIPS_PER_COUNTY = (9, 9, 8, 8)  # 34 townships


def topology(villages: int) -> list[tuple[str, str | None]]:
    """(code, parent) top-down; villages spread as evenly as codes allow over the townships."""
    townships = [
        f"{county}{101 + i:03d}"
        for county, n in zip(COUNTIES, TOWNSHIPS_PER_COUNTY, strict=True)
        for i in range(n)
    ]
    nodes: list[tuple[str, str | None]] = [(PREFECTURE, None)]
    nodes += [(c, PREFECTURE) for c in COUNTIES]
    nodes += [(t, t[:6]) for t in townships]
    for index in range(villages):
        township = townships[index % len(townships)]
        nodes.append((f"{township}{201 + index // len(townships):03d}", township))
    return nodes


def template_db(root: Path) -> Path:
    path = root / "template.db"
    db = Database(f"sqlite:///{path}")
    migrate.upgrade(db.engine)
    db.dispose()
    return path


async def until(
    check: Callable[[], Awaitable[bool]], timeout: float, what: str, every: float = 0.01
) -> float:
    started = time.perf_counter()
    while not await check():
        if time.perf_counter() - started > timeout:
            raise TimeoutError(f"{what}: not within {timeout} s")
        await asyncio.sleep(every)
    return time.perf_counter()


def wire_totals(cluster: Cluster) -> dict[str, int]:
    totals = {"pulls": 0, "pull_bytes": 0, "pushes": 0, "push_bytes": 0}
    for node in cluster.nodes.values():
        parent = node.ctx.parent  # one connection carries the node's pulls and pushes
        if isinstance(parent, HttpPeer):
            totals["pulls"] += parent.stats.pulls
            totals["pull_bytes"] += parent.stats.pull_bytes
            totals["pushes"] += parent.stats.batches
            totals["push_bytes"] += parent.stats.wire_bytes
    return totals


async def run(villages: int, root: Path) -> dict[str, Any]:
    # Each node would have its own process and thread pool; here they share one loop, so give
    # the shared pool room for all of them.
    asyncio.get_running_loop().set_default_executor(ThreadPoolExecutor(max_workers=64))
    template = template_db(root)

    def url(code: str) -> str:
        path = root / code / "tiersync.db"
        path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(template, path)
        return f"sqlite:///{path}"

    cluster = Cluster(root, url, live=True)
    nodes = topology(villages)
    village_codes = [code for code, _ in nodes if len(code) == 12]
    try:
        started = time.perf_counter()
        for code, parent in nodes:
            await cluster.add(code, code, parent=parent)
        top = cluster.nodes[PREFECTURE]

        async def registered() -> bool:
            with top.ctx.db.read() as conn:
                units = units_repository.units_in_subtree(conn, PREFECTURE)
            return sum(len(u.code) == 12 for u in units) == villages

        await until(registered, 300, "registry at the prefecture")
        build_s = time.perf_counter() - started
        stored_at: dict[str, float] = {}
        # The first notifying commit at a node after the directive is issued is its arrival.
        for code in [c for c, parent in nodes if parent]:
            cluster.nodes[code].ctx.db.on_commit(
                lambda code=code: stored_at.setdefault(code, time.perf_counter())
            )
        rounds = []
        for _ in range(2):  # cold (first requests of each route in each app), then warm
            await asyncio.sleep(1.0)  # every puller is holding its long poll again
            stored_at.clear()
            rounds.append(await one_directive(cluster, village_codes, stored_at))
    finally:
        await cluster.close()
    return {"nodes": len(nodes), "villages": villages, "build_s": round(build_s, 1),
            "cold": rounds[0], "warm": rounds[1]}  # fmt: skip


def spread(times: list[float]) -> dict[str, float]:
    return {
        "first": round(times[0], 3),
        "median": round(times[len(times) // 2], 3),
        "last": round(times[-1], 3),
    }


async def one_directive(
    cluster: Cluster, village_codes: list[str], stored_at: dict[str, float]
) -> dict[str, Any]:
    """Issue one directive to every village; time it down, and the receipts back up."""
    villages = len(village_codes)
    top = cluster.nodes[PREFECTURE]
    before = wire_totals(cluster)
    requests_before = sum(cluster.router.requests.values())
    t0 = time.perf_counter()
    body = {"title": "Monthly screening", "kind": "screening", "target": {"level": "village"}}
    response = await top.client.post("/api/v1/directives", json=body)
    assert response.status_code == 201, response.text
    directive_id = response.json()["id"]

    async def stored_everywhere() -> bool:
        return sum(len(code) == 12 for code in stored_at) == villages

    async def at_top(field: str) -> bool:
        view = (await top.client.get(f"/api/v1/directives/{directive_id}")).json()
        return bool(view[field] == villages)

    await until(stored_everywhere, 120, "delivery to every village")
    t_down = max(stored_at.values())
    arrivals = {
        level: sorted(t - t0 for code, t in stored_at.items() if len(code) == length)
        for level, length in (("county", 6), ("township", 9), ("village", 12))
    }
    t_receipts = await until(lambda: at_top("delivered"), 120, "delivered receipts", every=0.5)
    wire_delivered = wire_totals(cluster)
    requests_delivered = sum(cluster.router.requests.values())
    t1 = time.perf_counter()
    await asyncio.gather(
        *(
            cluster.nodes[code].client.post(f"/api/v1/directives/{directive_id}/done", json={})
            for code in village_codes
        )
    )
    t_done = await until(lambda: at_top("done"), 120, "done receipts", every=0.5)
    after = wire_totals(cluster)
    requests_after = sum(cluster.router.requests.values())

    def per_village(a: dict[str, int], b: dict[str, int]) -> dict[str, float]:
        return {k: round((b[k] - a[k]) / villages, 2) for k in a}

    return {
        "arrival_s": {level: spread(ts) for level, ts in arrivals.items()},
        "down_to_every_village_s": round(t_down - t0, 3),
        "delivered_receipts_at_top_s": round(t_receipts - t0, 3),
        "done_receipts_at_top_s": round(t_done - t1, 3),
        "requests_per_village_delivered": round(
            (requests_delivered - requests_before) / villages, 2
        ),
        "requests_per_village_total": round((requests_after - requests_before) / villages, 2),
        "wire_per_village_delivered": per_village(before, wire_delivered),
        "wire_per_village_total": per_village(before, after),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--villages", type=int, default=270)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="tiersync-fanout-") as tmp:
        result = asyncio.run(run(args.villages, Path(tmp)))
    if args.json:
        sys.stdout.write(orjson.dumps(result, option=orjson.OPT_INDENT_2).decode() + "\n")
        return
    print(f"{result['nodes']} nodes in one process (built in {result['build_s']} s)")
    for name in ("cold", "warm"):
        r = result[name]
        print(
            f"{name}: stored at all {args.villages} villages {r['down_to_every_village_s']} s; "
            f"'delivered' receipts all at the prefecture {r['delivered_receipts_at_top_s']} s; "
            f"'done' receipts {r['done_receipts_at_top_s']} s after the villages reported"
        )
        print(
            f"  HTTP requests per village, all levels: {r['requests_per_village_total']} "
            f"({r['requests_per_village_delivered']} until delivered)"
        )
        print(f"  wire per village: {r['wire_per_village_total']}")
        print(f"  arrivals after issue, s (first / median / last): {r['arrival_s']}")


if __name__ == "__main__":
    main()
