"""Patrol compliance: every grid needs a basic patrol in the last 7 days and a screening visit in
the last 30 (the article's weekly/monthly rule), judged on this node's clock.

One read of the grid index, which keeps each grid's latest basic and screening visit (updated in
the write transaction): the cost follows the number of grids, never the history of patrols.
"""

from itertools import islice

from sqlalchemy import Connection

from node.views import repository
from node.views.frame import Frame
from node.views.freshness import to_datetime
from schemas.views import MissingGrid, PatrolChild, PatrolView

DAY_MS = 86_400_000
BASIC_DAYS, SCREENING_DAYS = 7, 30
DETAIL_LIMIT = 500


def _figures(grids: list[str], basic: set[str], screening: set[str]) -> dict[str, object]:
    compliant = basic & screening
    missing = [g for g in grids if g not in compliant]
    total = len(grids)
    return {
        "grids": total,
        "basic_ok": len(basic.intersection(grids)),
        "screening_ok": len(screening.intersection(grids)),
        "compliant": total - len(missing),
        "compliance_rate": round((total - len(missing)) / total, 4) if total else 1.0,
        "missing": missing,
    }


def patrols(conn: Connection, frame: Frame) -> PatrolView:
    """Compliance of the grids of the frame's subtree, with a row per child."""
    scope = frame.scope
    rows = [tuple(row) for row in repository.grids_in(conn, scope.unit)]
    grids = [code for code, *_ in rows]
    basic_cut = scope.now_ms - BASIC_DAYS * DAY_MS
    screening_cut = scope.now_ms - SCREENING_DAYS * DAY_MS
    basic = {code for code, _, last, _ in rows if last is not None and last > basic_cut}
    screening = {code for code, _, _, last in rows if last is not None and last > screening_cut}
    by_child: dict[str, list[str]] = {}
    child_len = scope.child_len
    if child_len is not None:
        for g in grids:
            by_child.setdefault(g[:child_len], []).append(g)
    frame.extra_children |= set(by_child)
    compliant = basic & screening
    behind = (row for row in rows if row[0] not in compliant)
    detail = [
        MissingGrid(
            grid=code,
            name=name or code,
            basic_ok=code in basic,
            screening_ok=code in screening,
            last_basic_at=to_datetime(last_basic) if last_basic else None,
            last_screening_at=to_datetime(last_screening) if last_screening else None,
        )
        for code, name, last_basic, last_screening in islice(behind, DETAIL_LIMIT)
    ]
    return PatrolView(
        **frame.head(),
        **_figures(grids, basic, screening),
        missing_detail=detail,
        children=[
            PatrolChild(**frame.child_head(c), **_figures(by_child.get(c, []), basic, screening))
            for c in frame.child_codes()
        ],
    )
