"""Migration 0301's data step, frozen: the digest rows of the records a node held before the
digest tree (node/ops/digest_tree.py as it was at revision 0301). A fresh database has no
records: then this writes nothing."""

import hashlib
import uuid
from collections import defaultdict

import sqlalchemy as sa
from sqlalchemy import Connection

MOD = 1 << 40
_CHUNK = 5000
_digests = sa.table(
    "ops_digests", *(sa.column(c) for c in ("origin", "kind", "bucket", "count", "total"))
)


def backfill(conn: Connection) -> None:
    """Per (origin, kind, first 12 bits of the id): count and sum mod 2**40 of the 40-bit
    blake2b hashes of (id bytes, hlc as 8 bytes, origin)."""
    sums: defaultdict[tuple[str, str, int], list[int]] = defaultdict(lambda: [0, 0])
    result = conn.exec_driver_sql("SELECT id, kind, hlc, origin FROM records")
    for rid, kind, hlc, origin in result:
        raw = rid.bytes if isinstance(rid, uuid.UUID) else bytes.fromhex(str(rid))
        message = raw + int(hlc).to_bytes(8, "big") + origin.encode()
        digest = hashlib.blake2b(message, digest_size=5).digest()
        cell = sums[(origin, kind, (raw[0] << 4) | (raw[1] >> 4))]
        cell[0] += 1
        cell[1] += int.from_bytes(digest, "big")
    rows = [
        {"origin": o, "kind": k, "bucket": b, "count": c, "total": s % MOD}
        for (o, k, b), (c, s) in sums.items()
    ]
    for start in range(0, len(rows), _CHUNK):
        conn.execute(_digests.insert(), rows[start : start + _CHUNK])
