"""Verify by digests between two levels: 423,000 equal records, then 100 that differ.

    python -m bench.verify_digests [--records 423000] [--keep DIR]

Both databases are filled through store_versions (the write path of every node, digest hook
included) in batches, not over HTTP. The township runs as an app (create_app); the village
verifies against it through the real /api/v1/ops endpoints over an in-process transport, so
every byte that would cross the wire is counted (bodies, after zstd).
"""

import argparse
import asyncio
import os
import random
import shutil
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import orjson
from asgi_lifespan import LifespanManager

from node.app import create_app, open_node
from node.context import NodeContext
from node.digests import verify
from node.records.store import Version, store_versions
from node.settings import Settings
from node.units.service import enrol_child
from node.uplink import connect_parent

TOWNSHIP, VILLAGE = "632322101", "632322101201"
BATCH = 2000
REPEAT = 3  # equal verifies are timed best of three (the machine is shared)
T0 = 1_700_000_000_000 << 16


def version(i: int, rid: uuid.UUID, hlc: int) -> Version:
    data = {
        "id_number": f"63232219880715{i % 10000:04d}",
        "name": f"Resident {i}",
        "sex": "male" if i % 2 else "female",
        "birth_date": "1988-07-15",
        "address": f"{i % 300} Main Street, Dongmen",
    }
    unit = f"{VILLAGE}{i % 12 + 1:03d}"
    return Version(rid, "person", unit, data, hlc, VILLAGE, False, 1)


def fill(ctx: NodeContext, versions: list[Version]) -> None:
    for start in range(0, len(versions), BATCH):
        with ctx.db.write(notify=False) as txn:
            store_versions(txn, versions[start : start + BATCH])


def wire_bytes(versions: list[Version]) -> int:
    """What a full resend would carry: the records as JSON."""
    return sum(
        len(
            orjson.dumps(
                {
                    "id": str(v.id),
                    "kind": v.kind,
                    "unit": v.unit,
                    "data": v.data,
                    "version": f"{v.hlc:016x}.{v.origin}",
                    "deleted": False,
                    "schema_version": 1,
                }
            )
        )
        for v in versions
    )


async def run(n: int, root: Path) -> dict[str, Any]:
    rng = random.Random(7)
    base = [version(i, uuid.UUID(int=rng.getrandbits(128), version=4), T0 + i) for i in range(n)]
    parent = Settings(code=TOWNSHIP, data_dir=root / TOWNSHIP)
    parent_ctx = open_node(parent)
    token = enrol_child(parent_ctx.db, node_code=TOWNSHIP, code=VILLAGE, name="Dongmen").token
    child_ctx = open_node(
        Settings(
            code=VILLAGE, data_dir=root / VILLAGE, parent_url="http://township", parent_token=token
        )
    )
    started = time.perf_counter()
    fill(parent_ctx, base)
    fill(child_ctx, base)
    filled = time.perf_counter() - started
    parent_ctx.db.dispose()
    out: dict[str, Any] = {"records": n, "fill_s": round(filled, 1), "bytes": wire_bytes(base)}
    app = create_app(parent, run_replicator=False)
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)

        async def check(*, repair: bool, deep: bool) -> tuple[float, Any]:
            client = connect_parent(child_ctx.settings, transport=transport)
            t = time.perf_counter()
            report = await verify.verify_upstream(
                child_ctx, client, repair=repair, deep=deep, stats=client.exchanges
            )
            await client.aclose()
            return time.perf_counter() - t, report

        for deep in (False, True):
            runs = [await check(repair=False, deep=deep) for _ in range(REPEAT)]
            seconds, report = min(runs, key=lambda run: run[0])  # best of REPEAT
            assert not report.differences, report.differences[:3]
            out["deep" if deep else "quick"] = {
                "s": round(seconds, 3),
                "requests": report.requests,
                "bytes": report.bytes,
            }
        # 100 differences: 50 the township lacks, 30 the village lost, 20 newer up there.
        ctx = app.state.ctx
        extra = [version(n + i, uuid.uuid4(), T0 + n + i) for i in range(80)]
        fill(child_ctx, extra[:50])
        fill(ctx, extra[50:])
        newer = [v._replace(hlc=v.hlc + 10**6) for v in rng.sample(base, 20)]
        fill(ctx, newer)
        expected = {str(v.id): "send" for v in extra[:50]} | {
            str(v.id): "fetch" for v in extra[50:] + newer
        }
        seconds, found = await check(repair=False, deep=False)
        assert {d.id: d.action for d in found.differences} == expected
        out["find_100"] = {
            "s": round(seconds, 3),
            "requests": found.requests,
            "bytes": found.bytes,
            "found": len(found.differences),
        }
        seconds, fixed = await check(repair=True, deep=False)
        assert fixed.remaining == 0 and (fixed.sent, fixed.fetched) == (50, 50)
        out["repair_100"] = {
            "s": round(seconds, 3),
            "requests": fixed.requests,
            "bytes": fixed.bytes,
            "sent": fixed.sent,
            "fetched": fixed.fetched,
        }
        seconds, after = await check(repair=False, deep=True)
        assert not after.differences
        out["after_repair_deep_s"] = round(seconds, 3)
    child_ctx.db.dispose()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=423_000)
    parser.add_argument("--keep", type=Path, help="keep the databases in this directory")
    args = parser.parse_args()
    root = args.keep or Path(tempfile.mkdtemp(prefix="tiersync-verify-"))
    try:
        out = asyncio.run(run(args.records, root))
    finally:
        if args.keep is None:
            shutil.rmtree(root, ignore_errors=True)
    share = 100 * out["quick"]["bytes"] / out["bytes"]
    print(
        f"records: {out['records']:,} (as JSON {out['bytes'] / 1e6:.1f} MB); "
        f"filled both databases in {out['fill_s']} s"
    )
    for name, label in (("quick", "equal, kept digests"), ("deep", "equal, digests re-derived")):
        r = out[name]
        print(
            f"verify {label}: {r['s']:.3f} s, {r['requests']} request(s), {r['bytes']:,} bytes"
            f" ({100 * r['bytes'] / out['bytes']:.4f} % of the records' bytes)"
        )
    f, r = out["find_100"], out["repair_100"]
    print(
        f"100 differing: found {f['found']} in {f['s']:.3f} s, {f['requests']} requests, "
        f"{f['bytes']:,} bytes"
    )
    print(
        f"repair: {r['sent']} sent up, {r['fetched']} fetched down, re-verified, in "
        f"{r['s']:.3f} s, {r['requests']} requests, {r['bytes']:,} bytes"
    )
    print(f"verify after repair (deep): {out['after_repair_deep_s']:.3f} s, no differences")
    print(f"load average while measuring: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"goal: ≤ 1 % of bytes ({share:.4f} %), ≤ 2 s ({out['deep']['s']:.2f} s deep)")


if __name__ == "__main__":
    main()
