"""Recount: the roll-ups computed again from the records, compared with the kept ones, and
written back when asked (`tiersync verify`, docs/protocol.md "Figures equal a recount").

The write hook keeps the figures exact for every change that goes through store_versions.
A row changed behind tiersync's back (SQL by hand, a damaged file) is not seen by it, and a
later repair that brings the record back counts it again: the figures drift from the data.
The recount finds that and puts it right.
"""

from dataclasses import dataclass, field

from sqlalchemy import Connection

from node.db import Database, WriteTxn
from node.records import repository as records_repo
from node.views import features as feat
from node.views import repository
from node.views.rollups import Deltas
from schemas.ops import FigureDrift, FiguresVerify

PAGE = 5000
SHOWN = 20


@dataclass
class Drift:
    """Cells whose kept value differs from the recount: `cells` roll-up cells (a few shown as
    (unit, kind, kept n, counted n)), `grids` and `visits` rows of the patrol tables."""

    cells: int = 0
    grids: int = 0
    visits: int = 0
    examples: list[tuple[str, str, int, int]] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.cells + self.grids + self.visits


def _counted(conn: Connection, floor: int) -> Deltas:
    """The deltas of every live record, as if each were stored into empty tables."""
    deltas = Deltas(floor)
    after = None
    while page := records_repo.live_page(conn, after=after, limit=PAGE):
        for row in page:
            deltas.add(row.kind, row.unit, row.data or {}, +1)
        after = page[-1].id
    return deltas


def _expected_visit_times(
    deltas: Deltas,
) -> dict[str, tuple[int | None, int | None]]:
    latest: dict[str, list[int | None]] = {}
    for (grid, kind, ms), n in deltas.visits.items():
        if n <= 0:
            continue
        times = latest.setdefault(grid, [None, None])
        slot = 0 if kind == "basic" else 1 if kind == "screening" else None
        if slot is not None and (times[slot] is None or ms > (times[slot] or 0)):
            times[slot] = ms
    return {g: (t[0], t[1]) for g, t in latest.items()}


def _counts_something(row: tuple[int, int | None, int | None]) -> bool:
    return bool(row[0]) or row[1] is not None or row[2] is not None


def drift(conn: Connection, floor: int) -> Drift:
    """Compare every kept figure with a recount of the live records (reads every record)."""
    deltas = _counted(conn, floor)
    counted = {
        (r["unit"], r["dim"], r["kind"], r["key"]): (r["n"], r["amount"], r["parent"])
        for r in deltas.rollup_rows()
    }
    kept = repository.all_rollups(conn)
    out = Drift()
    wrong = sorted(k for k in set(counted) | set(kept) if counted.get(k) != kept.get(k))
    out.cells = len(wrong)
    for key in wrong:
        if key[1] == feat.ALL and len(out.examples) < SHOWN:
            held, truth = kept.get(key, (0, 0, "")), counted.get(key, (0, 0, ""))
            out.examples.append((key[0], key[2], held[0], truth[0]))
    times = _expected_visit_times(deltas)
    want_grids = {
        code: (n, *times.get(code, (None, None))) for code, (n, _name) in deltas.grids.items()
    }
    for code, pair in times.items():
        want_grids.setdefault(code, (0, *pair))
    want_grids = {
        c: v for c, v in want_grids.items() if v[0] or v[1] is not None or v[2] is not None
    }
    held_grids = repository.all_grids(conn)
    out.grids = sum(
        1 for c in set(want_grids) | set(held_grids) if want_grids.get(c) != held_grids.get(c)
    )
    want_visits = {k: n for k, n in deltas.visits.items() if n}
    held_visits = repository.all_visits(conn)
    out.visits = sum(
        1 for k in set(want_visits) | set(held_visits) if want_visits.get(k) != held_visits.get(k)
    )
    return out


def rewrite(txn: WriteTxn, floor: int) -> None:
    """Replace every kept figure by the recount, in one transaction."""
    deltas = _counted(txn.conn, floor)
    repository.clear_figures(txn.conn)
    deltas.flush(txn.conn)


def check(db: Database, *, floor: int, repair: bool) -> FiguresVerify:
    """The `verify` check: recount and compare; with `repair`, rewrite the figures from the
    recount in the same transaction (so nothing written meanwhile is missed)."""
    if repair:
        with db.write(notify=False) as txn:
            found = drift(txn.conn, floor)
            if found.total:
                rewrite(txn, floor)
    else:
        with db.read() as conn:
            found = drift(conn, floor)
    return FiguresVerify(
        cells=found.cells,
        grids=found.grids,
        visits=found.visits,
        examples=[
            FigureDrift(unit=u, kind=k, kept=kept, counted=counted)
            for u, k, kept, counted in found.examples
        ],
        repaired=repair and bool(found.total),
    )
