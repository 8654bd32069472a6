"""Issue 2: `POST /api/v1/records/bulk` of N person records into a SQLite node (real uvicorn).

    .venv/bin/python -m bench.bulk_insert [--records 100000] [--batch 1000 --batch 5000]

For each batch size: a fresh village node process on a free loopback port; the records (valid,
uuid4 ids, real ID numbers) are generated and serialised before the clock starts and posted one
request at a time. After each request the same batch is upserted with bare `sqlite3`
(bench.common.RawSqlite, a table shaped like the node's) into a file of its own, so both see the
same machine load and the same table size; the ratio of the two rates is printed.
Goal: ratio >= 0.3.
"""

import argparse
import time

import httpx
import orjson

from bench.common import (
    ID_KINDS,
    TOWNSHIP,
    VILLAGE,
    NodeProcess,
    RawSqlite,
    RssSampler,
    batches,
    free_port,
    machine,
    person_records,
    running,
    table,
    workdir,
)
from bench.replication import enrol

GOAL_RATIO = 0.3


def run_one(
    records: list[dict],
    batch: int,
    *,
    request_timeout_s: float,
    privacy_off: bool = False,
    with_parent: bool = False,
) -> dict:
    """One fresh node; each batch is posted, then the same batch upserted raw (interleaved).
    `with_parent`: the village is enrolled at a township that is not running (a village whose
    link is down: it writes as in the field and pushes nothing)."""
    chunks = list(batches(records, batch))
    bodies = [orjson.dumps(list(chunk)) for chunk in chunks]
    api_s = raw_s = 0.0
    with workdir("bulk") as tmp:
        settings: dict = {"name": "Dongmen Village"}
        if privacy_off:
            settings["_privacy_off"] = True  # bench/_node.py: nothing sealed at rest
        if with_parent:
            settings |= enrol(tmp / "township", TOWNSHIP, VILLAGE)
            settings["parent_url"] = f"http://127.0.0.1:{free_port()}"  # nothing listens
        node = NodeProcess(VILLAGE, tmp / "node", settings)
        raw = RawSqlite(tmp / "raw.sqlite")
        try:
            with (
                running(node),
                httpx.Client(
                    base_url=node.url, headers=node.auth, timeout=request_timeout_s
                ) as http,
            ):
                http.get("/api/v1/views/summary").raise_for_status()  # warm the app once
                time.sleep(0.5)
                idle_rss, _ = node.rss_mb()
                with RssSampler(node.pid) as rss:
                    for chunk, body in zip(chunks, bodies, strict=True):
                        started = time.perf_counter()
                        response = http.post(
                            "/api/v1/records/bulk",
                            content=body,
                            headers={"Content-Type": "application/json"},
                        )
                        response.raise_for_status()
                        api_s += time.perf_counter() - started
                        result = response.json()
                        if result["rejected"]:
                            raise RuntimeError(f"rejected: {result['rejected'][:3]}")
                        raw_s += raw.upsert(chunk)
                summary = http.get("/api/v1/views/summary").json()
                stored = summary["counts"].get("person", 0)
                if stored != len(records):
                    raise RuntimeError(f"node holds {stored} persons, expected {len(records)}")
                after_rss, _ = node.rss_mb()
        finally:
            raw.close()
    api_rate, raw_rate = len(records) / api_s, len(records) / raw_s
    return {
        "batch": batch,
        "seconds": api_s,
        "api_rate": api_rate,
        "raw_rate": raw_rate,
        "ratio": api_rate / raw_rate,
        "idle_rss": idle_rss,
        "peak_rss": rss.peak,
        "after_rss": after_rss,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument(
        "--ids",
        choices=ID_KINDS,
        default="uuid4",
        help="uuid4: an imported register's random ids; uuid7: time-ordered, as the node makes",
    )
    parser.add_argument(
        "--batch",
        type=int,
        action="append",
        help="records per request (repeatable; default 1000 and 5000)",
    )
    parser.add_argument("--request-timeout", type=float, default=120.0)
    parser.add_argument(
        "--with-parent",
        action="store_true",
        help="the village has a parent (not running): it writes as a village in the field does",
    )
    parser.add_argument(
        "--privacy-off",
        action="store_true",
        help="no sealing at rest (what issue 14 costs a bulk insert: compare with a run without)",
    )
    args = parser.parse_args()
    sizes = args.batch or [1000, 5000]

    off = ", privacy off (nothing sealed)" if args.privacy_off else ""
    print(f"bulk insert: {args.records:,} person records{off}; {machine()}")
    started = time.perf_counter()
    records = person_records(args.records, ids=args.ids)
    print(f"generated in {time.perf_counter() - started:.1f}s")
    results = []
    for size in sizes:
        result = run_one(
            records,
            size,
            request_timeout_s=args.request_timeout,
            privacy_off=args.privacy_off,
            with_parent=args.with_parent,
        )
        results.append(result)
        print(
            f"batch {size}: {result['api_rate']:,.0f} records/s via API, "
            f"{result['raw_rate']:,.0f} rows/s raw, ratio {result['ratio']:.2f}",
            flush=True,
        )
    print()
    print(
        table(
            [
                "batch",
                "API s",
                "API rec/s",
                "raw sqlite3 rows/s",
                "ratio (goal ≥ 0.3)",
                "RSS idle MiB",
                "RSS peak MiB",
                "RSS after MiB",
            ],
            [
                [
                    r["batch"],
                    r["seconds"],
                    r["api_rate"],
                    r["raw_rate"],
                    f"{r['ratio']:.2f} {'met' if r['ratio'] >= GOAL_RATIO else 'NOT met'}",
                    r["idle_rss"],
                    r["peak_rss"],
                    r["after_rss"],
                ]
                for r in results
            ],
        )
    )


if __name__ == "__main__":
    main()
