"""Issue 10, durability: what `PRAGMA synchronous=FULL` (an acknowledged write survives a power
cut) costs against NORMAL (the last commits may be lost on power loss, never corrupted).

    .venv/bin/python -m bench.durability [--writes 2000] [--batch 1000 --batches 20]

Two measurements per setting, each on a fresh SQLite node database (migrated, wired with the
node's write hooks) in a temporary directory on the same disk:
- single writes: one record per transaction, as `POST /api/v1/records` commits them (the 201
  waits for the commit, so this is the ceiling of a village's write rate);
- batches: `--batch` records per transaction, as a parent applies a push.
Prints records/s for FULL and NORMAL and their ratio. Run it on the machine and disk of
interest (an fsync costs from 0.1 ms on an SSD with a write cache to 10 ms on a spinning disk).
"""

import argparse
import time
import uuid
from pathlib import Path

from bench.common import machine, table, workdir
from node import migrate
from node.db import Database
from node.records.store import Version, store_versions
from node.wiring import write_hooks

VILLAGE = "632322101201"
DATA = {"address": "1 Main Street", "head_name": "Tashi"}


def open_db(path: Path, synchronous: str) -> Database:
    db = Database(f"sqlite:///{path}", write_hooks=write_hooks(VILLAGE), synchronous=synchronous)
    migrate.upgrade(db.engine)
    db.ensure_identity(VILLAGE)
    return db


def write(db: Database, n: int) -> None:
    with db.write() as txn:
        versions = [
            Version(uuid.uuid4(), "household", VILLAGE, DATA, txn.tick(), VILLAGE, False, 1)
            for _ in range(n)
        ]
        store_versions(txn, versions)


def rate(db: Database, transactions: int, per: int) -> float:
    started = time.perf_counter()
    for _ in range(transactions):
        write(db, per)
    return transactions * per / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--writes", type=int, default=2000, help="single-record transactions")
    parser.add_argument("--batch", type=int, default=1000, help="records per batch")
    parser.add_argument("--batches", type=int, default=20, help="batch transactions")
    args = parser.parse_args()
    rows = []
    results: dict[str, tuple[float, float]] = {}
    with workdir("durability") as tmp:
        for setting in ("FULL", "NORMAL"):
            db = open_db(tmp / f"{setting.lower()}.db", setting)
            try:
                write(db, 100)  # warm up
                single = rate(db, args.writes, 1)
                batched = rate(db, args.batches, args.batch)
            finally:
                db.dispose()
            results[setting] = (single, batched)
            rows.append([setting, f"{single:,.0f}", f"{batched:,.0f}"])
    full, normal = results["FULL"], results["NORMAL"]
    rows.append(["FULL / NORMAL", f"{full[0] / normal[0]:.2f}", f"{full[1] / normal[1]:.2f}"])
    print(machine())
    print(table(["synchronous", "single writes/s", f"records/s in batches of {args.batch}"], rows))


if __name__ == "__main__":
    main()
