"""Reading the digest tree of a subtree: the same functions answer a child (routes) and serve
the verifying node's own side, so both sides compute every node of the tree alike."""

import uuid
from collections import defaultdict

from sqlalchemy import Connection

from federation.hlc import format_version
from node.digests import repository
from node.digests.tree import MOD, Digest, prefix_bounds, version_hash
from node.records import repository as records_repo

BUCKETS = 4096  # kept rows per (origin, kind): the first three hex digits of the id
HEX = "0123456789abcdef"
Leaves = tuple[dict[str, str], list[str]]  # id → version, and the tombstones' ids


def root(conn: Connection, subtree: str) -> dict[str, Digest]:
    """Per kind, the digest of the record versions made in `subtree`."""
    return repository.digest_by_kind(conn, subtree)


def children(conn: Connection, subtree: str, kind: str, prefix: str) -> dict[str, Digest]:
    """The digest of each non-empty child of tree node `prefix`."""
    if not prefix:  # 256 nodes of two hex digits, from the kept rows
        rows = repository.digest_by_bucket(conn, subtree, kind, shift=4, lo=0, hi=BUCKETS)
        return {f"{group:02x}": digest for group, digest in rows.items()}
    if len(prefix) == 2:  # the 16 kept buckets (three hex digits) below it
        lo = int(prefix, 16) << 4
        rows = repository.digest_by_bucket(conn, subtree, kind, shift=0, lo=lo, hi=lo + 16)
        return {f"{bucket:03x}": digest for bucket, digest in rows.items()}
    sums: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for rid, hlc, origin, deleted in _versions(conn, subtree, kind, prefix):
        if deleted:  # the sums leave tombstones out (node/digests/tree.py)
            continue
        hex_id = rid.hex
        cell = sums[hex_id[: len(prefix) + 1]]
        cell[0] += 1
        cell[1] += version_hash(rid.bytes, int(hlc), origin)
    return {p: (c, s % MOD) for p, (c, s) in sums.items()}


def leaves(conn: Connection, subtree: str, kind: str, prefix: str) -> Leaves:
    """id → version of every record version under tree node `prefix`, tombstones included,
    and the ids of the tombstones among them."""
    versions: dict[str, str] = {}
    dead: list[str] = []
    for rid, hlc, origin, deleted in _versions(conn, subtree, kind, prefix):
        versions[str(rid)] = format_version(int(hlc), origin)
        if deleted:
            dead.append(str(rid))
    return versions, dead


def _versions(
    conn: Connection, subtree: str, kind: str, prefix: str
) -> list[tuple[uuid.UUID, int, str, bool]]:
    lo, hi = prefix_bounds(prefix)
    rows = records_repo.versions_in_range(conn, root=subtree, kind=kind, lo=lo, hi=hi)
    return [(r.id, r.hlc, r.origin, bool(r.deleted)) for r in rows]


def is_valid_prefix(prefix: str) -> bool:
    return len(prefix) <= 32 and all(c in HEX for c in prefix)
