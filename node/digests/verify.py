"""`tiersync verify`: compare this node's copy of its subtree with its parent's, by digests.

The walk: root digests per kind (one request); for each kind that differs, expand the tree
level by level — all differing nodes of a level in one request — until a node holds at most
LEAF_MAX versions on either side; then compare (id, version) lists. Equal data costs one
request; a difference costs a few requests whose size follows the number of differences.
Repair sends up what the parent lacks or holds older (as a repair push: checked and applied
like a push, no cursor moves) and fetches down what this node lost or holds older (stored
through store_versions with origin and version unchanged; the HLC moves past them).
"""

import uuid
from typing import Any, Literal

from federation.hlc import parse_version
from federation.http_peer import ExchangeStats
from federation.peer import OperatorExchanges
from node.context import NodeContext
from node.digests import reads as digests
from node.digests import reports
from node.digests import tree as digest_tree
from node.records import repository as records_repo
from node.records.store import Version, store_versions
from node.records.wire import projected_wire, to_version
from schemas.codes import is_within
from schemas.kinds import RANKED_KINDS
from schemas.ops import Difference, LinkVerify
from schemas.sync import ChangeRecord

LEAF_MAX = 24
CHUNK = 1000


def scrub(ctx: NodeContext) -> int:
    """Re-derive the digest rows from the records (finds changes made behind the node's back)."""
    with ctx.db.write(notify=False) as txn:
        return digest_tree.scrub(txn.conn)


async def find_differences(
    ctx: NodeContext, client: OperatorExchanges
) -> tuple[int, list[Difference]]:
    """(kinds compared, every id whose version differs between here and the parent)."""
    code = ctx.settings.code
    with ctx.db.read() as conn:
        here = digests.root(conn, code)
    answer = await client.digest_root()
    there = answer.kinds
    kinds = sorted(k for k in set(here) | set(there) if here.get(k) != tuple(there.get(k) or ()))
    differences: list[Difference] = []
    for kind in kinds:
        leaves = await _narrow(ctx, client, kind)
        differences += await _compare_leaves(ctx, client, kind, leaves, answer.horizons)
    await _mark_conflicts(client, differences)
    return len(set(here) | set(there)), differences


async def _narrow(ctx: NodeContext, client: OperatorExchanges, kind: str) -> list[str]:
    code = ctx.settings.code
    frontier, leaves = [""], list[str]()
    while frontier:
        there = (await client.digest_nodes(kind, frontier)).nodes
        with ctx.db.read() as conn:
            here = {p: digests.children(conn, code, kind, p) for p in frontier}
        deeper: list[str] = []
        for prefix in frontier:
            mine, theirs = here[prefix], {k: tuple(v) for k, v in there.get(prefix, {}).items()}
            for child in sorted(set(mine) | set(theirs)):
                if mine.get(child) == theirs.get(child):
                    continue
                size = max(mine.get(child, (0, 0))[0], theirs.get(child, (0, 0))[0])
                (leaves if size <= LEAF_MAX or len(child) >= 32 else deeper).append(child)
        frontier = deeper
    return leaves


async def _compare_leaves(
    ctx: NodeContext,
    client: OperatorExchanges,
    kind: str,
    prefixes: list[str],
    horizons: dict[str, int],
) -> list[Difference]:
    code = ctx.settings.code
    out: list[Difference] = []
    for start in range(0, len(prefixes), 2000):
        chunk = prefixes[start : start + 2000]
        answer = await client.digest_leaves(kind, chunk)
        with ctx.db.read() as conn:
            here = {p: digests.leaves(conn, code, kind, p) for p in chunk}
        for prefix in chunk:
            (mine, my_dead), theirs = here[prefix], answer.leaves.get(prefix, {})
            their_dead = set(answer.deleted.get(prefix, ()))
            for rid in sorted(set(mine) | set(theirs)):
                a, b = mine.get(rid), theirs.get(rid)
                if a == b:
                    continue
                # Each side's own tombstones: a copy alive here is alive whatever the parent
                # holds (a deletion the parent holds and this node lacks is a difference).
                alive = (
                    a is not None and rid not in my_dead,
                    b is not None and rid not in their_dead,
                )
                action = _action(a, b, alive=alive, horizons=horizons)
                if action is not None:
                    out.append(Difference(id=rid, kind=kind, here=a, there=b, action=action))
    return out


def _action(
    here: str | None,
    there: str | None,
    *,
    alive: tuple[bool, bool],  # here, there
    horizons: dict[str, int],
) -> Literal["send", "fetch", "collected"] | None:
    """What repairs the difference of one id, None when none is needed: a tombstone on one
    side and nothing (collected) or another tombstone on the other holds the same live data."""
    if not any(alive):
        return None
    if there is None and here is not None:
        hlc, origin = parse_version(here)
        # The parent lacks it, and collected that origin's tombstones up to a later version:
        # this node was restored from before the deletion (docs/decisions/0702).
        return "collected" if hlc <= horizons.get(origin, -1) else "send"
    newer_here = there is None or (here is not None and parse_version(here) > parse_version(there))
    return "send" if newer_here else "fetch"


async def _mark_conflicts(client: OperatorExchanges, differences: list[Difference]) -> None:
    """An id the parent holds at a version made outside this subtree is an id conflict this
    node lost: not something a repair can move (the parent never lets a child replace what
    another subtree made). It stands while this node's copy is alive (node/digests/conflicts)."""
    sends = [d for d in differences if d.action == "send" and d.there is None]
    for start in range(0, len(sends), CHUNK):
        chunk = sends[start : start + CHUNK]
        found = await client.records([d.id for d in chunk], data=False)
        for diff in chunk:
            foreign = found.foreign.get(diff.id)
            if foreign and diff.here:
                diff.action, diff.there = "conflict", foreign


async def send_up(ctx: NodeContext, client: OperatorExchanges, ids: list[str]) -> int:
    applied = 0
    for start in range(0, len(ids), CHUNK):
        chunk = [uuid.UUID(i) for i in ids[start : start + CHUNK]]
        with ctx.db.read() as conn:
            rows = records_repo.rows_by_ids(conn, chunk).values()
            wire = [projected_wire(r, ctx.projection) for r in rows]
        result = await client.repair(wire, source=ctx.settings.code)
        applied += result.applied
    return applied


async def fetch_down(ctx: NodeContext, client: OperatorExchanges, ids: list[str]) -> int:
    code = ctx.settings.code
    stored = 0
    for start in range(0, len(ids), CHUNK):
        found = await client.records(ids[start : start + CHUNK], data=True)
        versions = [to_version(r) for r in found.records if _ours(r, code)]
        with ctx.db.write() as txn:
            kept = set(store_versions(txn, versions, from_above=True).stored)
            reports.superseded(
                txn.conn, node_code=code, units=[v.unit for v in versions if v.id in kept]
            )
            stored += len(kept)
    return stored


def delete_collected(ctx: NodeContext, ids: list[str]) -> int:
    """Delete here what the parent deleted and collected: each a tombstone of this node, newer
    than the copy held, so it also goes up (and is stale or collected in its turn)."""
    stored = 0
    for start in range(0, len(ids), CHUNK):
        chunk = [uuid.UUID(i) for i in ids[start : start + CHUNK]]
        with ctx.db.write() as txn:
            me = ctx.settings.code
            rows = records_repo.rows_by_ids(txn.conn, chunk)
            versions = [
                Version(r.id, r.kind, r.unit, {}, txn.issue(), me, True, r.schema_version)
                for r in rows.values()
                if not r.deleted
            ]
            stored += len(store_versions(txn, versions).stored)
    return stored


def _ours(record: ChangeRecord, code: str) -> bool:
    origin = record.version.partition(".")[2]
    return is_within(record.unit, code) and is_within(origin, code)


async def verify_upstream(
    ctx: NodeContext,
    client: OperatorExchanges,
    *,
    repair: bool,
    deep: bool = False,
    stats: ExchangeStats | None = None,
) -> LinkVerify:
    """Compare (and with `repair`, reconcile) this node's subtree with the parent's copy.

    `stats`, when given, counts the exchanges (requests, bytes) for the report.
    """
    before = (stats.requests, stats.bytes) if stats is not None else (0, 0)
    scrubbed = scrub(ctx) if deep else 0
    kinds, differences = await find_differences(ctx, client)
    report = LinkVerify(
        peer=ctx.settings.parent_url or "",
        checked_kinds=kinds,
        differences=differences,
        scrubbed_rows=scrubbed,
    )
    movable = [d for d in differences if d.action != "conflict"]
    report.conflicts = len(differences) - len(movable)
    if repair and movable:
        # Receipts are ordered by their state before their version (schemas.kinds.precedence),
        # which the leaves do not carry: both ways, and each side's store keeps the forward one.
        both = {d.id for d in movable if d.kind in RANKED_KINDS}
        sends = [d.id for d in movable if d.action == "send" or d.id in both]
        report.sent = await send_up(ctx, client, sends)
        fetches = [d.id for d in movable if d.action == "fetch" or d.id in both]
        report.fetched = await fetch_down(ctx, client, fetches)
        report.fetched += delete_collected(ctx, [d.id for d in movable if d.action == "collected"])
        _, after = await find_differences(ctx, client)
        report.remaining = sum(1 for d in after if d.action != "conflict")
    else:
        report.remaining = len(movable)
    if stats is not None:
        report.requests, report.bytes = stats.requests - before[0], stats.bytes - before[1]
    return report


def summary(report: LinkVerify) -> dict[str, Any]:
    """Counts by action, for the audit log."""
    counts: dict[str, int] = {}
    for d in report.differences:
        counts[d.action] = counts.get(d.action, 0) + 1
    return {
        "differences": counts,
        "sent": report.sent,
        "fetched": report.fetched,
        "remaining": report.remaining,
        "scrubbed_rows": report.scrubbed_rows,
    }
