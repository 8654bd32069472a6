"""The parent's side of the digest walk: what a child may ask about its own subtree's tree.

Every function takes the authenticated child's code and answers only about that subtree.
"""

from node.db import Database
from node.digests import reads as digests
from node.errors import FieldError, Invalid
from node.records import horizons
from schemas.ops import DigestLeaves, DigestNodes, DigestQuery, DigestRoot


def _check_prefixes(query: DigestQuery) -> None:
    bad = [p for p in query.prefixes if not digests.is_valid_prefix(p)]
    if bad:
        raise Invalid(
            "prefixes must be lower-case hex, at most 32 digits",
            [FieldError("prefixes", f"{p!r} is not a hex prefix") for p in bad[:20]],
        )


def digest_root(db: Database, *, child: str) -> DigestRoot:
    with db.snapshot() as conn:
        return DigestRoot(
            subtree=child,
            kinds=digests.root(conn, child),
            horizons=horizons.horizons_in(conn, child),
        )


def digest_nodes(db: Database, *, child: str, query: DigestQuery) -> DigestNodes:
    _check_prefixes(query)
    with db.snapshot() as conn:  # every prefix answered from one state
        nodes = {p: digests.children(conn, child, query.kind, p) for p in query.prefixes}
    return DigestNodes(kind=query.kind, nodes=nodes)


def digest_leaves(db: Database, *, child: str, query: DigestQuery) -> DigestLeaves:
    _check_prefixes(query)
    with db.snapshot() as conn:
        found = {p: digests.leaves(conn, child, query.kind, p) for p in query.prefixes}
    return DigestLeaves(
        kind=query.kind,
        leaves={p: versions for p, (versions, _dead) in found.items()},
        deleted={p: dead for p, (_versions, dead) in found.items() if dead},
    )
