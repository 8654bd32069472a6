"""The digest tree: what lets two nodes prove they hold the same versions by a few requests.

Every live record version contributes a 40-bit hash of (id, version) to the row (origin, kind,
bucket) of `ops_digests`, where bucket is the id's first 12 bits. Rows hold the count and the
sum of the hashes modulo 2**40, so a subtree's digest is a range-sum of rows (origins are unit
codes: a subtree is a prefix range) and stays exact under SQLite's integer SUM. Below a bucket
the tree goes on by further hex digits of the id, computed on the fly from the records' primary
key range. Tombstones are left out of the sums (docs/decisions/0702): a tombstone held on one
side and collected on the other is no difference, while a deletion one side lacks still is (the
other side counts the live version). The leaves list them, so a walk still tells a deletion
from a missing record. `record_changes` is a write hook (node/seams.py): it runs in every
writing transaction.
"""

import hashlib
import uuid
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection

from node.db import WriteTxn
from node.digests import repository
from node.records import repository as records_repo

MOD = repository.MOD
Digest = tuple[int, int]  # (count, sum of hashes mod 2**40)


def version_hash(id_bytes: bytes, hlc: int, origin: str) -> int:
    """A 40-bit hash of one record version."""
    raw = hashlib.blake2b(
        id_bytes + hlc.to_bytes(8, "big") + origin.encode(), digest_size=5
    ).digest()
    return int.from_bytes(raw, "big")


def bucket_of(raw: bytes) -> int:
    """The kept bucket of an id: its first 12 bits (three hex digits), 4096 buckets."""
    return (raw[0] << 4) | (raw[1] >> 4)


def id_bytes(value: Any) -> bytes:
    """The 16 bytes of an id as a driver returns it (uuid.UUID, or hex text on SQLite)."""
    if isinstance(value, uuid.UUID):
        return value.bytes
    return bytes.fromhex(str(value).replace("-", ""))


def record_changes(txn: WriteTxn, changes: Sequence[tuple[Any, Any]]) -> None:
    """The write hook: move the digest from each replaced head to its new version.

    `changes` are (version kept by store_versions, the head row it replaces or None).
    """
    deltas: repository.Delta = defaultdict(lambda: [0, 0])
    for version, head in changes:
        raw = version.id.bytes
        if head is not None and not head.deleted:
            old = deltas[(head.origin, head.kind, bucket_of(raw))]
            old[0] -= 1
            old[1] -= version_hash(raw, head.hlc, head.origin)
        if not version.deleted:
            new = deltas[(version.origin, version.kind, bucket_of(raw))]
            new[0] += 1
            new[1] += version_hash(raw, version.hlc, version.origin)
    repository.add_digest_deltas(txn.conn, deltas)


def compute_rows(conn: Connection) -> dict[tuple[str, str, int], tuple[int, int]]:
    """The digest rows recomputed from the live records themselves (a full scan).

    The hash of `version_hash`, inlined: this loop runs once per record.
    """
    sums: dict[tuple[str, str, int], list[int]] = defaultdict(lambda: [0, 0])
    origins: dict[str, bytes] = {}
    blake2b = hashlib.blake2b
    for rid, kind, hlc, origin in records_repo.scan_versions(conn, live=True):
        raw = rid.bytes if isinstance(rid, uuid.UUID) else bytes.fromhex(rid)
        tail = origins.get(origin) or origins.setdefault(origin, origin.encode())
        digest = blake2b(raw + int(hlc).to_bytes(8, "big") + tail, digest_size=5).digest()
        cell = sums[(origin, kind, (raw[0] << 4) | (raw[1] >> 4))]
        cell[0] += 1
        cell[1] += int.from_bytes(digest, "big")
    return {key: (c, s % MOD) for key, (c, s) in sums.items() if c}


def scrub(conn: Connection) -> int:
    """Check the kept digest against the records; rewrite it if they differ.

    Returns how many digest rows were wrong: non-zero means a record was changed without going
    through store_versions (direct SQL, a damaged file) — which is what verify must then find.
    """
    truth = compute_rows(conn)
    held = {k: v for k, v in repository.all_digest_rows(conn).items() if v[0]}
    if truth == held:
        return 0
    wrong = len(set(truth.items()) ^ set(held.items()))
    rows = [
        {"origin": o, "kind": k, "bucket": b, "count": c, "total": t}
        for (o, k, b), (c, t) in truth.items()
    ]
    repository.replace_digests(conn, rows)
    return wrong


def prefix_bounds(prefix: str) -> tuple[uuid.UUID, uuid.UUID | None]:
    """The id range [lo, hi) of ids whose hex form starts with `prefix`."""
    lo = uuid.UUID(prefix.ljust(32, "0"))
    if not prefix or set(prefix) == {"f"}:
        return lo, None
    upper = int(prefix, 16) + 1
    return lo, uuid.UUID(f"{upper:0{len(prefix)}x}".ljust(32, "0"))
