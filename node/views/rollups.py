"""The write hook of the views (node/seams.py): per-record roll-up deltas, in the transaction
that stores the records, before the rows are written (the replaced versions are read first).

Each stored version takes its predecessor's features out and puts its own in — at the record's
unit and at each ancestor down from this node's level — so writes, moves (a new unit), edits
(new features) and deletions (a tombstone puts nothing in) all keep every level exact. Deltas
of a batch are summed first and written with one upsert per table.
"""

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection

from node.db import WriteTxn
from node.records import repository as records_repo
from node.views import features as feat
from node.views import repository

_LENGTHS = (4, 6, 9, 12, 15)


def ancestry(unit: str, floor: int) -> list[tuple[str, str]]:
    """(prefix, its parent) for the unit and each ancestor at or below this node's level."""
    out = []
    previous = ""
    for length in _LENGTHS:
        if length > len(unit):
            break
        prefix = unit[:length]
        if length >= floor or length == len(unit):
            out.append((prefix, previous))
        previous = prefix
    if not out or out[-1][0] != unit:  # not a unit code: count it where it is
        out.append((unit, previous))
    return out


class Deltas:
    """Summed changes of one batch, flushed with one upsert per table.

    Cells are summed at the records' own units first and spread over the ancestors at flush,
    so the per-record cost does not grow with the depth of the tree.
    """

    def __init__(self, floor: int) -> None:
        self.floor = floor
        self.cells: defaultdict[tuple[str, str, str, str], list[int]] = defaultdict(lambda: [0, 0])
        self.grids: dict[str, list[Any]] = {}
        self.visits: defaultdict[tuple[str, str, int], int] = defaultdict(int)

    def add(self, kind: str, unit: str, data: dict[str, Any], sign: int) -> None:
        cells = self.cells
        for dim, key, amount in feat.features(kind, data):
            cell = cells[(unit, dim, kind, key)]
            cell[0] += sign
            cell[1] += sign * amount
        if kind == "grid":
            grid = feat.grid_entry(kind, data)
            if grid is not None:
                held = self.grids.setdefault(grid[0], [0, grid[1]])
                held[0] += sign
                if sign > 0:
                    held[1] = grid[1]
        elif kind == "patrol":
            visit = feat.patrol_visit(kind, data)
            if visit is not None:
                self.visits[visit] += sign

    def rollup_rows(self) -> list[dict[str, Any]]:
        spread: defaultdict[tuple[str, str, str, str, str], list[int]] = defaultdict(lambda: [0, 0])
        chains: dict[str, list[tuple[str, str]]] = {}
        for (unit, dim, kind, key), (n, amount) in self.cells.items():
            if not n and not amount:
                continue
            chain = chains.get(unit)
            if chain is None:
                chain = chains[unit] = ancestry(unit, self.floor)
            for prefix, parent in chain:
                cell = spread[(prefix, dim, kind, key, parent)]
                cell[0] += n
                cell[1] += amount
        return [
            {"unit": u, "dim": d, "kind": k, "key": key, "parent": p, "n": n, "amount": a}
            for (u, d, k, key, p), (n, a) in spread.items()
            if n or a
        ]

    def flush(self, conn: Connection) -> None:
        repository.add_rollup(conn, self.rollup_rows())
        repository.add_grids(
            conn, [{"code": c, "name": name, "n": n} for c, (n, name) in self.grids.items() if n]
        )
        changed = [
            {"grid": g, "patrol_type": t, "visited_ms": ms, "n": n}
            for (g, t, ms), n in self.visits.items()
            if n
        ]
        repository.add_visits(conn, changed)
        if changed:  # the grids' latest visits, found again (a deletion may take the latest)
            touched = sorted({g for (g, _t, _ms), n in self.visits.items() if n})
            latest = repository.latest_visits(conn, touched)
            repository.set_latest_visits(
                conn,
                [
                    {
                        "code": g,
                        "last_basic_ms": latest.get((g, "basic")),
                        "last_screening_ms": latest.get((g, "screening")),
                    }
                    for g in touched
                ],
            )


class RollupHook:
    """The write hook: apply the roll-up deltas of the versions store_versions keeps.

    Counted at each unit and at every ancestor down to this node's level (`floor`, the length
    of its code), which node/wiring.py passes in.
    """

    def __init__(self, floor: int) -> None:
        self.floor = floor

    def __call__(self, txn: WriteTxn, changes: Sequence[tuple[Any, Any]]) -> None:
        """`changes` are (version, the head row it replaces or None); the replaced versions'
        data is read here, in the same transaction, to take their features out."""
        replaced = [v.id for v, head in changes if head is not None and not head.deleted]
        old = records_repo.rows_by_ids(txn.conn, replaced, columns=_OLD) if replaced else {}
        deltas = Deltas(self.floor)
        for version, _head in changes:
            before = old.get(version.id) if old else None
            if before is not None:
                deltas.add(before.kind, before.unit, before.data or {}, -1)
            if not version.deleted:
                deltas.add(version.kind, version.unit, version.data, +1)
        deltas.flush(txn.conn)


_OLD = tuple(records_repo.records.c[name] for name in ("id", "kind", "unit", "data"))
