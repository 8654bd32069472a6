"""Issue 3: replication throughput, catch-up, end-to-end latency and bytes on the wire.

    .venv/bin/python -m bench.replication [--records 100000] [--catchup 1000] [--samples 50]
                                          [--delays 50,10] [--skip-in-process] [--only a,b,c,d]

a) One hop, village → township, both real uvicorn processes on 127.0.0.1. The village holds
   N person records (stored beforehand through `store_versions`); its replicator is built but
   not looping, and `POST /bench/push` (bench/_node.py) runs `Replicator.run_once()` once: from
   the first push to the last ack — the ack follows the township's commit, and the township's
   child cursor is then checked to equal the village's head. Side by side with a raw `sqlite3`
   upsert of the same rows (1,000 per transaction, like a batch). Also in-process (two apps,
   httpx.ASGITransport through tests/cluster.py's Router), labelled as such.
b) Catch-up: after (a), 1,000 more records are written at the village (bulk API) and pushed
   again: time from the first push to the last ack, several rounds.
c) Latency village → prefecture of one record on an idle 4-level topology of real processes,
   every replicator running (`run_forever`) with push_delay_ms 50 and 10: write at the village,
   poll the prefecture's GET /api/v1/records/{id} every ~5 ms.
d) Bytes per person record on the wire, from HttpPeer.stats of (a), and from the codec for
   smaller batches.
"""

import argparse
import asyncio
import itertools
import random
import sqlite3
import statistics
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import orjson

from bench.common import (
    COUNTY,
    ID_KINDS,
    PREFECTURE,
    TOWNSHIP,
    VILLAGE,
    NodeProcess,
    RawSqlite,
    RssSampler,
    batches,
    machine,
    person_records,
    running,
    table,
    workdir,
)
from federation.codec import encode
from federation.hlc import format_version
from schemas.sync import PROTOCOL_VERSION

NAMES = {
    PREFECTURE: "Haibei Prefecture",
    COUNTY: "Menyuan County",
    TOWNSHIP: "Haomen Town",
    VILLAGE: "Dongmen Village",
}
PUSH_TIMEOUT_S = 900.0


# --- setting nodes up (before their processes start) --------------------------------------


def seed(
    data_dir: Path,
    code: str,
    records: list[dict[str, Any]],
    chunk: int = 5000,
    *,
    privacy_off: bool = False,
) -> int:
    """Store `records` at node `code` as its own versions (the owner's write path, no API);
    with `privacy_off` nothing is sealed (as the node runs with `_privacy_off`)."""
    from node.app import open_node
    from node.records.store import Version, store_versions
    from node.settings import Settings
    from schemas.kinds import SCHEMA_VERSION

    ctx = open_node(Settings(code=code, name=NAMES.get(code, code), data_dir=data_dir))
    if privacy_off:
        ctx.db.sealer = None
    try:
        for part in batches(records, chunk):
            with ctx.db.write(notify=False) as txn:
                versions = [
                    Version(
                        uuid.UUID(r["id"]),
                        r["kind"],
                        r["unit"],
                        r["data"],
                        txn.tick(),
                        code,
                        False,
                        SCHEMA_VERSION,
                    )
                    for r in part
                ]
                store_versions(txn, versions)
    finally:
        ctx.db.dispose()
    return head_of(data_dir)


def enrol(parent_dir: Path, parent: str, child: str) -> dict[str, str]:
    """Enrol `child` in `parent`'s registry (its database, before it runs): the child's settings
    for its link, as `tiersync child add` prints them (its code, the prefecture's hash key)."""
    from node.app import open_node
    from node.privacy.keys import ensure_hash_key
    from node.settings import Settings
    from node.units.service import enrol_child

    settings = Settings(code=parent, name=NAMES.get(parent, parent), data_dir=parent_dir)
    ctx = open_node(settings)
    try:
        token = enrol_child(ctx.db, node_code=parent, code=child, name=NAMES.get(child, child))
    finally:
        ctx.db.dispose()
    return {"parent_token": token.token, "hash_key": ensure_hash_key(settings).hex()}


def _sql(data_dir: Path, query: str, *args: Any) -> Any:
    conn = sqlite3.connect(f"file:{data_dir / 'tiersync.db'}?mode=ro", uri=True, timeout=30)
    try:
        return conn.execute(query, args).fetchone()[0]
    finally:
        conn.close()


def head_of(data_dir: Path) -> int:
    return int(
        _sql(
            data_dir,
            "SELECT max(coalesce((SELECT max(seq) FROM records), 0),"
            " coalesce((SELECT max(seq) FROM units), 0))",
        )
    )


def child_cursor(data_dir: Path, child: str) -> int:
    return int(
        _sql(data_dir, "SELECT coalesce(max(cursor), 0) FROM child_sync WHERE code = ?", child)
    )


def held_from(data_dir: Path, origin: str) -> int:
    return int(_sql(data_dir, "SELECT count(*) FROM records WHERE origin = ?", origin))


def pair(
    tmp: Path, *, tls: bool = False, **village_settings: Any
) -> tuple[NodeProcess, NodeProcess]:
    """A township and its enrolled village (manual pushes); start the township first. The
    village always signs its requests with its key (registered at its first push); with `tls`
    the township serves HTTPS with a certificate of a CA made here, which the village pins."""
    township = NodeProcess(TOWNSHIP, tmp / TOWNSHIP, {"name": NAMES[TOWNSHIP]})
    for option in ("_privacy_off", "_sqlite_normal"):  # launcher options of both nodes
        if village_settings.get(option):
            township.settings[option] = True
    link = enrol(township.data_dir, TOWNSHIP, VILLAGE)
    settings = {"name": NAMES[VILLAGE], **link, "_manual_push": True}
    if tls:
        from node import tls as node_tls

        node_tls.init_ca(tmp / "ca", name="bench")
        issued = node_tls.issue(tmp / "ca", code=TOWNSHIP, hosts=["127.0.0.1"])
        township.settings |= {
            "tls_cert": str(issued.cert),
            "tls_key": str(issued.key),
            "_ca": str(issued.ca),
        }
        settings["parent_ca"] = str(issued.ca)
    village = NodeProcess(VILLAGE, tmp / VILLAGE, settings | village_settings)
    return township, village


# --- a) and b): one hop ----------------------------------------------------------------------


def one_hop(
    records: list[dict[str, Any]],
    catchup: int,
    rounds: int,
    *,
    ids: str = "uuid4",
    tls: bool = False,
    **settings: Any,
) -> dict[str, Any]:
    out: dict[str, Any] = {"n": len(records)}
    with workdir("repl") as tmp:
        township, village = pair(tmp, tls=tls, **settings)
        started = time.perf_counter()
        head = seed(
            village.data_dir, VILLAGE, records, privacy_off=bool(settings.get("_privacy_off"))
        )
        print(
            f"  seeded {len(records):,} records at the village in "
            f"{time.perf_counter() - started:.1f}s (head {head})",
            flush=True,
        )
        extra = [person_records(catchup, seed=1000 + i, ids=ids) for i in range(rounds)]
        out["raw_before"], out["raw_catchup_s"] = raw_run(records, extra, tmp / "raw1.sqlite")
        with running(township):
            village.settings["parent_url"] = township.url
            with (
                running(village),
                httpx.Client(headers=village.auth, timeout=PUSH_TIMEOUT_S) as http,
            ):
                time.sleep(0.5)
                out["rss_idle"] = (township.rss_mb()[0], village.rss_mb()[0])
                with RssSampler(township.pid) as t_rss, RssSampler(village.pid) as v_rss:
                    t0 = time.perf_counter()
                    result = http.post(f"{village.url}/bench/push").raise_for_status().json()
                    out["client_s"] = time.perf_counter() - t0
                out["rss_peak"] = (t_rss.peak, v_rss.peak)
                out["push_s"] = result["seconds"]
                out["wire"] = result["wire"]
                cursor = child_cursor(township.data_dir, VILLAGE)
                held = held_from(township.data_dir, VILLAGE)
                if cursor != head_of(village.data_dir) or held != len(records):
                    raise RuntimeError(f"township cursor {cursor} / head {head}, holds {held}")
                out["rate"] = len(records) / result["seconds"]
                print(
                    f"  one hop: {out['rate']:,.0f} records/s "
                    f"({result['pushed']:,} in {result['seconds']:.2f}s)",
                    flush=True,
                )

                # b) catch-up: fresh records written through the village's API, then one push.
                times = []
                for more in extra:
                    http.post(
                        f"{village.url}/api/v1/records/bulk",
                        content=orjson.dumps(more),
                        headers={"Content-Type": "application/json"},
                    ).raise_for_status()
                    result = http.post(f"{village.url}/bench/push").raise_for_status().json()
                    if result["pushed"] != catchup:
                        raise RuntimeError(f"catch-up pushed {result['pushed']}, not {catchup}")
                    if child_cursor(township.data_dir, VILLAGE) != head_of(village.data_dir):
                        raise RuntimeError("catch-up: township cursor is not at the village head")
                    times.append(result["seconds"])
                out["catchup_s"] = times
                print(
                    f"  catch-up of {catchup:,}: " + ", ".join(f"{t:.3f}s" for t in times),
                    flush=True,
                )
        out["raw_after"], _ = raw_run(records, [], tmp / "raw2.sqlite")
    out["raw"] = (out["raw_before"] + out["raw_after"]) / 2
    out["ratio"] = out["rate"] / out["raw"]
    return out


def raw_run(
    records: list[dict[str, Any]], extra: list[list[dict[str, Any]]], path: Path
) -> tuple[float, list[float]]:
    """The raw baseline: rows/s upserting `records` 1,000 per transaction, then the seconds
    each batch of `extra` takes on top (the catch-up, into a table of the same size)."""
    raw = RawSqlite(path)
    try:
        seconds = sum(raw.upsert(chunk) for chunk in batches(records, 1000))
        return len(records) / seconds, [raw.upsert(more) for more in extra]
    finally:
        raw.close()


def one_hop_in_process(records: list[dict[str, Any]], **village: Any) -> dict[str, Any]:
    """The same hop with both nodes in this process (ASGI transport, no sockets)."""
    return asyncio.run(_one_hop_in_process(records, **village))


async def _one_hop_in_process(records: list[dict[str, Any]], **village: Any) -> dict[str, Any]:
    from node.privacy.keys import ensure_hash_key, key_path, write_key_file
    from node.settings import Settings
    from tests.cluster import Cluster

    with workdir("repl-inproc") as tmp:
        cluster = Cluster(tmp)
        try:
            township = await cluster.add(TOWNSHIP, NAMES[TOWNSHIP])
            # The village holds the prefecture's hash key before it stores anything (as
            # `child add` hands it over); with a key of its own it is refused (409).
            key = ensure_hash_key(township.settings)
            write_key_file(key_path(Settings(code=VILLAGE, data_dir=tmp / VILLAGE)), key.hex())
            await asyncio.to_thread(seed, tmp / VILLAGE, VILLAGE, records)
            node = await cluster.add(VILLAGE, NAMES[VILLAGE], parent=TOWNSHIP, **village)
            t0 = time.perf_counter()
            pushed = await node.replicator.run_once()
            seconds = time.perf_counter() - t0
            if held_from(tmp / TOWNSHIP, VILLAGE) != len(records):
                raise RuntimeError("in-process: township does not hold every record")
            stats = node.replicator.peer.stats  # type: ignore[attr-defined]
        finally:
            await cluster.close()
    print(f"  one hop in-process: {pushed / seconds:,.0f} records/s", flush=True)
    return {
        "rate": pushed / seconds,
        "seconds": seconds,
        "wire": {
            "records": stats.records,
            "raw_bytes": stats.raw_bytes,
            "wire_bytes": stats.wire_bytes,
        },
    }


# --- c) latency on a 4-level topology -------------------------------------------------------


def latency(samples: int, push_delay_ms: int) -> list[float]:
    chain = [PREFECTURE, COUNTY, TOWNSHIP, VILLAGE]
    with workdir("latency") as tmp:
        nodes = [
            NodeProcess(code, tmp / code, {"name": NAMES[code], "push_delay_ms": push_delay_ms})
            for code in chain
        ]
        for parent, child in itertools.pairwise(nodes):
            child.settings.update(enrol(parent.data_dir, parent.code, child.code))
        started: list[NodeProcess] = []
        try:
            for i, node in enumerate(nodes):
                if i:
                    node.settings["parent_url"] = nodes[i - 1].url
                started.append(node.start())
            top, bottom = nodes[0], nodes[-1]
            with httpx.Client(timeout=10) as http:
                _one_trip(http, bottom, top, timeout_s=30)  # registry, warm-up
                time.sleep(0.5)
                results = []
                for _ in range(samples):
                    results.append(_one_trip(http, bottom, top, timeout_s=10))
                    time.sleep(random.uniform(0.1, 0.2))
        finally:
            for node in reversed(started):
                node.stop()
    return results


_trip_records = iter(person_records(2000, seed=7))


def _one_trip(
    http: httpx.Client, village: NodeProcess, top: NodeProcess, *, timeout_s: float
) -> float:
    record = next(_trip_records)
    t0 = time.perf_counter()
    written = http.post(f"{village.url}/api/v1/records", json=record, headers=village.auth)
    written.raise_for_status()
    deadline = t0 + timeout_s
    url = f"{top.url}/api/v1/records/{record['id']}"
    while time.perf_counter() < deadline:
        if http.get(url, headers=top.auth).status_code == 200:
            return time.perf_counter() - t0
        time.sleep(0.005)
    raise RuntimeError(f"record did not reach the prefecture in {timeout_s}s")


# --- d) bytes per record ------------------------------------------------------------------


def codec_sizes(records: list[dict[str, Any]], sizes: list[int]) -> list[tuple[int, float, float]]:
    """(batch size, raw bytes/record, compressed bytes/record) of push bodies from the codec."""
    out = []
    hlc = int(time.time() * 1000) << 16
    for size in sizes:
        wire = [
            {
                "id": r["id"],
                "kind": r["kind"],
                "unit": r["unit"],
                "data": r["data"],
                "version": format_version(hlc + i, VILLAGE),
                "deleted": False,
                "schema_version": 1,
            }
            for i, r in enumerate(records[:size])
        ]
        body = encode(
            {
                "protocol": PROTOCOL_VERSION,
                "source": VILLAGE,
                "since": hlc,
                "until": hlc + size,
                "head": hlc + size,
                "records": wire,
                "units": [],
            }
        )
        out.append((size, body.raw_size / size, len(body.body) / size))
    return out


# --- report ------------------------------------------------------------------------------


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument(
        "--ids",
        choices=ID_KINDS,
        default="uuid4",
        help="uuid4: an imported register's random ids; uuid7: time-ordered, as the node makes",
    )
    parser.add_argument("--catchup", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=5, help="catch-up rounds")
    parser.add_argument("--samples", type=int, default=50)
    parser.add_argument("--delays", default="50,10", help="push_delay_ms values for (c)")
    parser.add_argument("--skip-in-process", action="store_true")
    parser.add_argument(
        "--batch-records", type=int, help="village's batch_max_records (default: the node's)"
    )
    parser.add_argument("--only", default="a,b,c,d", help="parts to run (b needs a)")
    parser.add_argument(
        "--tls",
        action="store_true",
        help="a) and b) over TLS (the township serves HTTPS with a CA made for the run, the "
        "village pins it); requests are signed with the village's key either way",
    )
    parser.add_argument(
        "--privacy-off",
        action="store_true",
        help="a) and b) without sealing at rest or projection at either node (what issue 14 "
        "costs a hop: compare with a run without it)",
    )
    parser.add_argument(
        "--sqlite-normal",
        action="store_true",
        help="a) and b) with SQLite's synchronous=NORMAL at both nodes (no fsync at commit): "
        "what durability (docs/decisions/0602) costs a hop; never a node setting",
    )
    args = parser.parse_args()
    parts = set(args.only.split(","))
    village: dict[str, Any] = (
        {"batch_max_records": args.batch_records} if args.batch_records else {}
    )
    if args.privacy_off:
        village["_privacy_off"] = True
    if args.sqlite_normal:
        village["_sqlite_normal"] = True

    trust = "TLS + signed requests" if args.tls else "signed requests, plain HTTP"
    print(f"replication: {args.records:,} person records ({trust}); {machine()}")
    if village:
        print(f"village settings: {village}")
    records = person_records(args.records, ids=args.ids)
    lines: list[list[Any]] = []
    hop: dict[str, Any] | None = None
    if parts & {"a", "b"}:
        print("a) one hop village → township (processes)", flush=True)
        hop = one_hop(records, args.catchup, args.rounds, ids=args.ids, tls=args.tls, **village)
        lines += [
            [
                "a",
                f"one hop {args.records:,}, processes",
                f"{hop['rate']:,.0f} rec/s",
                "≥ 17,500 rec/s (5× PouchDB)",
                _met(hop["rate"] >= 17_500),
            ],
            [
                "a",
                "raw sqlite3 upsert, same rows, same run",
                f"{hop['raw']:,.0f} rows/s "
                f"({hop['raw_before']:,.0f} before, {hop['raw_after']:,.0f} after)",
                "",
                "",
            ],
            ["a", "ratio to raw", f"{hop['ratio']:.2f}", "≥ 0.3", _met(hop["ratio"] >= 0.3)],
            [
                "a",
                "RSS township / village idle, MiB",
                "{:.0f} / {:.0f}".format(*hop["rss_idle"]),
                "",
                "",
            ],
            [
                "a",
                "RSS township / village peak, MiB",
                "{:.0f} / {:.0f}".format(*hop["rss_peak"]),
                "",
                "",
            ],
        ]
        if not args.skip_in_process:
            print("a) one hop in-process", flush=True)
            inproc = one_hop_in_process(
                records, **{k: v for k, v in village.items() if not k.startswith("_")}
            )
            lines.append(
                [
                    "a",
                    f"one hop {args.records:,}, in-process (ASGI)",
                    f"{inproc['rate']:,.0f} rec/s",
                    "(reference)",
                    "",
                ]
            )
        times, raw_times = hop["catchup_s"], hop["raw_catchup_s"]
        lines.append(
            [
                "b",
                f"catch-up {args.catchup:,} (median of {len(times)})",
                f"{statistics.median(times):.3f} s (min {min(times):.3f}, max {max(times):.3f})",
                "≤ 0.1 s",
                _met(statistics.median(times) <= 0.1),
            ]
        )
        lines.append(
            [
                "b",
                f"raw sqlite3 upsert of the same {args.catchup:,} rows on top of "
                f"{args.records:,} (median)",
                f"{statistics.median(raw_times):.3f} s (min {min(raw_times):.3f}, "
                f"max {max(raw_times):.3f})",
                "",
                "",
            ]
        )
    if "c" in parts:
        for delay in (int(d) for d in args.delays.split(",")):
            print(f"c) latency village → prefecture, push_delay_ms {delay}", flush=True)
            lat = [t * 1000 for t in latency(args.samples, delay)]
            p50, p95 = percentile(lat, 50), percentile(lat, 95)
            print(f"  p50 {p50:.0f} ms, p95 {p95:.0f} ms", flush=True)
            lines.append(
                [
                    "c",
                    f"village → prefecture, delay {delay} ms, {len(lat)} samples",
                    f"p50 {p50:.0f} ms, p95 {p95:.0f} ms (min {min(lat):.0f}, max {max(lat):.0f})",
                    "p50 ≤ 300 ms",
                    _met(p50 <= 300),
                ]
            )
    if "d" in parts:
        if hop is not None:
            w = hop["wire"]
            lines.append(
                [
                    "d",
                    f"bytes/record, {w['records']:,} records in {w['batches']} pushes",
                    f"{w['raw_bytes'] / w['records']:.0f} raw, "
                    f"{w['wire_bytes'] / w['records']:.1f} zstd "
                    f"({w['raw_bytes'] / w['wire_bytes']:.1f}×); request headers "
                    f"{w.get('header_bytes', 0) / max(1, w['batches']):.0f} bytes a push, "
                    f"{(w['wire_bytes'] + w.get('header_bytes', 0)) / w['records']:.1f} "
                    "bytes/record with them",
                    "measure",
                    "",
                ]
            )
        for size, raw, zst in codec_sizes(records, [1, 10, 100, 1000]):
            lines.append(
                [
                    "d",
                    f"bytes/record, codec, batch of {size}",
                    f"{raw:.0f} raw, {zst:.0f} on the wire",
                    "measure",
                    "",
                ]
            )
    print()
    print(table(["part", "what", "measured", "goal", ""], lines))


def _met(ok: bool) -> str:
    return "met" if ok else "NOT met"


if __name__ == "__main__":
    main()
