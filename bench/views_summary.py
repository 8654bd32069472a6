"""Issue 5: the views at a prefecture holding the whole article dataset (423,000+ records).

    .venv/bin/python -m bench.views_summary [--requests 400] [--seed 1] [--datasets 42k,423k]

Generates the `huangnan` profile (node/seed), loads it into a fresh prefecture node (6323) through
the records' bulk write path (`bulk_write`: validation, storage and the roll-ups in the same
transaction), and a second node with every tenth record (42,000+), then serves each with a real
uvicorn process on a loopback port and times sequential GETs of the views.
Goals: summary p95 ≤ 20 ms at 423k records, and ≤ 1.5× its p95 at 42k.
"""

import argparse
import statistics
import time
from pathlib import Path
from typing import Any

import httpx

from bench.common import NodeProcess, machine, running, table, workdir
from node.app import open_node
from node.records.service import bulk_write
from node.seed import subtree_records
from node.seed.load import register_units
from node.settings import Settings

GOAL_P95_MS, GOAL_RATIO = 20.0, 1.5
PREFECTURE = "6323"
LOAD_BATCH = 5000
VIEWS = [
    ("summary", PREFECTURE),
    ("summary", "632322"),
    ("summary", "632322101"),
    ("population", PREFECTURE),
    ("disputes", PREFECTURE),
    ("patrols", PREFECTURE),
    ("overview", PREFECTURE),
]


def load(path: Path, records: list[dict[str, Any]]) -> float:
    """Store the records at a new prefecture node; returns records per second."""
    ctx = open_node(Settings(code=PREFECTURE, name="Huangnan Prefecture", data_dir=path))
    try:
        register_units(ctx, "huangnan")
        started = time.perf_counter()
        for start in range(0, len(records), LOAD_BATCH):
            result = bulk_write(
                ctx.db, node=ctx.identity, items=records[start : start + LOAD_BATCH]
            )
            if result.rejected:
                raise RuntimeError(f"rejected: {result.rejected[:3]}")
        return len(records) / (time.perf_counter() - started)
    finally:
        ctx.db.dispose()


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def time_views(node: NodeProcess, requests: int, expected: int) -> dict[tuple[str, str], dict]:
    out = {}
    with httpx.Client(base_url=node.url, headers=node.auth, timeout=30) as http:
        held = sum(http.get("/api/v1/views/summary").json()["counts"].values())
        if held != expected:
            raise RuntimeError(f"node holds {held} records, expected {expected}")
        for view, unit in VIEWS:
            url = f"/api/v1/views/{view}"
            for _ in range(20):  # warm up
                http.get(url, params={"unit": unit}).raise_for_status()
            samples = []
            count = requests if view == "summary" else max(50, requests // 4)
            for _ in range(count):
                started = time.perf_counter()
                http.get(url, params={"unit": unit}).raise_for_status()
                samples.append((time.perf_counter() - started) * 1000)
            out[(view, unit)] = {
                "p50": statistics.median(samples),
                "p95": percentile(samples, 0.95),
                "p99": percentile(samples, 0.99),
                "n": count,
            }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=400, help="summary requests per dataset")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--datasets", default="42k,423k", help="which to run (42k alone: a quick check)"
    )
    args = parser.parse_args()
    wanted = args.datasets.split(",")

    print(f"views benchmark; {machine()}")
    started = time.perf_counter()
    full = list(subtree_records("huangnan", PREFECTURE, args.seed))
    small = full[::10]
    print(f"generated {len(full):,} records in {time.perf_counter() - started:.0f} s", flush=True)
    results = {}
    with workdir("views") as tmp:
        for label, records in (("42k", small), ("423k", full)):
            if label not in wanted:
                continue
            rate = load(tmp / label, records)
            print(f"{label}: loaded {len(records):,} records at {rate:,.0f}/s", flush=True)
            node = NodeProcess(PREFECTURE, tmp / label, {"name": "Huangnan Prefecture"})
            with running(node):
                results[label] = (len(records), rate, time_views(node, args.requests, len(records)))
    rows = []
    for label, (n, _rate, timings) in results.items():
        for (view, unit), t in timings.items():
            rows.append([label, n, f"{view}?unit={unit}", t["n"], t["p50"], t["p95"], t["p99"]])
    print()
    print(table(["dataset", "records", "view", "requests", "p50 ms", "p95 ms", "p99 ms"], rows))
    if set(results) != {"42k", "423k"}:
        return  # the goals compare both datasets
    big = results["423k"][2][("summary", PREFECTURE)]["p95"]
    small_p95 = results["42k"][2][("summary", PREFECTURE)]["p95"]
    ratio = big / small_p95
    print()
    print(
        f"summary p95 at 423k: {big:.2f} ms (goal ≤ {GOAL_P95_MS:.0f}: "
        f"{'met' if big <= GOAL_P95_MS else 'NOT met'})"
    )
    print(
        f"423k / 42k p95: {ratio:.2f}× (goal ≤ {GOAL_RATIO}: "
        f"{'met' if ratio <= GOAL_RATIO else 'NOT met'})"
    )


if __name__ == "__main__":
    main()
