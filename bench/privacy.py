"""Issue 14: what the privacy projection and the encryption at rest cost (budget: 15 %).

    .venv/bin/python -m bench.privacy [--records 50000] [--rounds 3] [--engine sqlite|URL]

Same machine, same run, each feature on and off in the same process:
a) Bulk insert: `store_versions` of N person records in transactions of 1,000, with the data
   key's sealer (ID number and phone sealed, ID hash indexed) and without (`db.sealer = None`).
b) Write-out: the outbox reading and encoding every batch a push would send (`read_batch` +
   `HttpPeer.prepare`: JSON and zstd) with the township's projection and without. This is the
   child's share of one hop; add bench/replication's (a) for the hop as a whole.
Prints records/s for each and the relative cost.
"""

import argparse
import tempfile
import time
import uuid
from pathlib import Path

from federation.http_peer import HttpPeer
from node.records.store import Version, store_versions
from node.settings import Settings
from node.sync.outbox import SqlChangeStore
from node.wiring import open_node
from tests.factories import person_data

VILLAGE = "632322101201"


def persons(n: int) -> list[Version]:
    out = []
    for i in range(n):
        data = person_data(phone=f"138{i:08d}"[:11], grid=f"{VILLAGE}001")
        out.append(Version(uuid.uuid4(), "person", VILLAGE, data, 1000 + i, VILLAGE, False, 1))
    return out


def insert(n: int, *, sealed: bool, root: Path, url: str | None) -> tuple[float, object]:
    settings = Settings(
        code=VILLAGE,
        data_dir=root,
        database_url=url,
        parent_url="http://127.0.0.1:9",
        hash_key="5e" * 32,
    )
    ctx = open_node(settings)
    if not sealed:
        ctx.db.sealer = None
    versions = persons(n)
    started = time.perf_counter()
    for i in range(0, n, 1000):
        with ctx.db.write() as txn:
            store_versions(txn, versions[i : i + 1000])
    return time.perf_counter() - started, ctx


def write_out(ctx: object, *, projected: bool) -> tuple[float, int]:
    store = SqlChangeStore(
        ctx.db,  # type: ignore[attr-defined]
        VILLAGE,
        projection=ctx.projection if projected else None,  # type: ignore[attr-defined]
    )
    peer = HttpPeer("http://127.0.0.1:9", token="tsk_x_y")
    started, since, sent = time.perf_counter(), 0, 0
    while True:
        batch = store.read_batch(since, max_records=5000, max_bytes=4_000_000)
        if batch.empty:
            return time.perf_counter() - started, sent
        peer.prepare(batch, source=VILLAGE)
        sent += len(batch.records)
        since = batch.until


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=50_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--engine", default="sqlite", help="sqlite, or a PostgreSQL URL")
    args = parser.parse_args()
    best: dict[str, float] = {}
    for _ in range(args.rounds):
        for sealed in (False, True):
            with tempfile.TemporaryDirectory() as tmp:
                url = None if args.engine == "sqlite" else args.engine
                took, ctx = insert(args.records, sealed=sealed, root=Path(tmp), url=url)
                name = "insert sealed" if sealed else "insert clear"
                best[name] = min(best.get(name, took), took)
                if sealed:
                    for projected in (False, True):
                        out, sent = write_out(ctx, projected=projected)
                        assert sent == args.records
                        label = "write-out projected" if projected else "write-out as held"
                        best[label] = min(best.get(label, out), out)
                ctx.db.dispose()  # type: ignore[attr-defined]
    n = args.records
    for name, took in best.items():
        print(f"{name:22} {n / took:12,.0f} records/s")
    for base, feature in (
        ("insert clear", "insert sealed"),
        ("write-out as held", "write-out projected"),
    ):
        print(f"cost of {feature}: {best[feature] / best[base] - 1:+.1%}")


if __name__ == "__main__":
    main()
