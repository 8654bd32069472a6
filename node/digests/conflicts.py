"""Id conflicts that still stand: two nodes each hold the same id alive (issue 10, defect 8).

The conflict log keeps every version that lost to one from another origin. For each id, the
latest version each origin made is the head (when that origin made it) or its newest lost
version. The conflict is settled when at most one origin's latest version is alive and, if
one is, it is the head here: every node then ends with that version. It stands otherwise —
including after the loser deleted its copy when that tombstone won here (the keeper must write
its record again, so its version is the newest everywhere). `verify` exits 1 while one stands.
"""

import uuid
from collections.abc import Iterator
from typing import Any

from sqlalchemy import Connection

from federation.hlc import parse_version
from node.digests import tree as digest_tree
from node.records import repository as records_repo
from schemas.codes import is_within
from schemas.ops import Difference, IdConflict


def _losers(conn: Connection) -> Iterator[tuple[uuid.UUID, int, str, Any]]:
    """(id, hlc, origin, row) of every logged lost version."""
    for row in records_repo.conflict_losers(conn):
        try:
            hlc, origin = parse_version(row.lost_version)
        except ValueError:
            continue
        yield uuid.UUID(str(row.record_id)), hlc, origin, row


def standing(conn: Connection) -> list[IdConflict]:
    latest: dict[uuid.UUID, dict[str, tuple[int, bool, str]]] = {}
    for rid, hlc, origin, row in _losers(conn):
        held = latest.setdefault(rid, {}).get(origin)
        if held is None or hlc > held[0]:
            latest[rid][origin] = (hlc, bool(row.lost_deleted), row.lost_unit)
    heads = records_repo.rows_by_ids(conn, list(latest)) if latest else {}
    out: list[IdConflict] = []
    for rid, origins in sorted(latest.items()):
        head: Any = heads.get(rid)
        if head is not None:
            held = origins.get(head.origin)
            if held is None or head.hlc >= held[0]:
                origins[head.origin] = (head.hlc, bool(head.deleted), head.unit)
        alive = sorted(o for o, (_h, deleted, _u) in origins.items() if not deleted)
        settled = not alive or (head is not None and not head.deleted and alive == [head.origin])
        if not settled:
            units = sorted({origins[o][2] for o in alive})
            out.append(
                IdConflict(
                    id=str(rid),
                    kind=head.kind if head is not None else "",
                    origins=alive,
                    units=units,
                    kept=head.origin if head is not None else None,
                )
            )
    return out


def lost_alive(conn: Connection, differences: list[Difference]) -> list[str]:
    """Ids this node holds alive whose parent holds a newer version from another subtree: an
    id conflict this node lost that stands until it deletes (or moves) its copy."""
    ids = [uuid.UUID(d.id) for d in differences if d.action == "conflict"]
    rows = records_repo.rows_by_ids(conn, ids) if ids else {}
    return sorted(str(i) for i, row in rows.items() if not row.deleted)


def held_below_only(conn: Connection, child: str) -> dict[str, tuple[int, int]]:
    """Per kind, the [count, sum] of the versions `child`'s subtree holds that lost here to a
    version from outside it: the child keeps its own (it may store nothing from outside), so
    the parent's digest of the child's subtree adds them to compare with the child's report."""
    best: dict[uuid.UUID, tuple[int, str, bool]] = {}
    for rid, hlc, origin, row in _losers(conn):
        if is_within(origin, child) and (rid not in best or (hlc, origin) > best[rid][:2]):
            best[rid] = (hlc, origin, bool(row.lost_deleted))
    heads = records_repo.rows_by_ids(conn, list(best)) if best else {}
    out: dict[str, tuple[int, int]] = {}
    for rid, (hlc, origin, deleted) in best.items():
        head = heads.get(rid)
        if head is None or is_within(head.origin, child) or deleted:
            continue  # a tombstone the child holds is no part of its digest either
        count, total = out.get(head.kind, (0, 0))
        h = digest_tree.version_hash(digest_tree.id_bytes(rid), hlc, origin)
        out[head.kind] = (count + 1, (total + h) % digest_tree.MOD)
    return out
