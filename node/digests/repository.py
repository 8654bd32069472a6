"""SQL of the digests: digest rows (the tree's kept levels) and children's digest reports.
The records themselves are read through node/records/repository.py."""

from typing import Any

from sqlalchemy import Connection, Row, delete, func, insert, literal_column, select, update

from node.db import execute_many, upsert_insert
from node.digests.models import ChildReport, DigestBucket
from node.models import table
from node.records.repository import in_subtree

digests = table(DigestBucket)
reports = table(ChildReport)
MOD = 1 << 40  # digest sums are kept modulo 2**40, so any SUM of rows stays far from 2**63
TOTAL = -1
"""The bucket of the row that holds the sum of an (origin, kind)'s buckets (migration 1701):
a subtree's root digest is read from these, a few rows, not summed from 4,096 per origin."""

Delta = dict[tuple[str, str, int], list[int]]


def add_digest_deltas(conn: Connection, deltas: Delta) -> None:
    """Add (count, hash sum) deltas to digest rows, and to their (origin, kind)'s total row,
    one upsert per write."""
    rows = _as_rows(_with_totals(deltas))
    if not rows:
        return
    stmt = upsert_insert(conn, digests)
    execute_many(
        conn,
        stmt.on_conflict_do_update(
            index_elements=[digests.c.origin, digests.c.kind, digests.c.bucket],
            set_={
                "count": digests.c.count + stmt.excluded.count,
                "total": (digests.c.total + stmt.excluded.total) % MOD,
            },
        ),
        rows,
    )


def replace_digests(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """The bucket rows replaced by `rows`, and the total rows recomputed from them."""
    conn.execute(delete(digests))
    cells = {(r["origin"], r["kind"], r["bucket"]): [r["count"], r["total"]] for r in rows}
    if cells:
        conn.execute(insert(digests), _as_rows(_with_totals(cells)))


def _with_totals(cells: Delta) -> Delta:
    """`cells` (origin, kind, bucket → [count, sum]) with each (origin, kind)'s total row."""
    totals: Delta = {}
    for (origin, kind, _bucket), (count, total) in cells.items():
        cell = totals.setdefault((origin, kind, TOTAL), [0, 0])
        cell[0] += count
        cell[1] += total
    return cells | totals


def _as_rows(cells: Delta) -> list[dict[str, Any]]:
    return [
        {"origin": o, "kind": k, "bucket": b, "count": c, "total": s % MOD}
        for (o, k, b), (c, s) in cells.items()
        if c or s % MOD
    ]


def all_digest_rows(conn: Connection) -> dict[tuple[str, str, int], tuple[int, int]]:
    """The bucket rows (not the totals, which follow from them)."""
    stmt = select(
        digests.c.origin, digests.c.kind, digests.c.bucket, digests.c.count, digests.c.total
    ).where(digests.c.bucket >= 0)
    return {(o, k, b): (int(c), int(t)) for o, k, b, c, t in conn.execute(stmt)}


def digest_by_kind(conn: Connection, root: str) -> dict[str, tuple[int, int]]:
    stmt = (
        select(digests.c.kind, func.sum(digests.c.count), func.sum(digests.c.total))
        # -1 inline, not bound: a partial index is used only for its own literal condition
        .where(in_subtree(digests.c.origin, root), digests.c.bucket == literal_column(str(TOTAL)))
        .group_by(digests.c.kind)
    )
    return {k: (int(c), int(t) % MOD) for k, c, t in conn.execute(stmt) if c}


def digest_by_bucket(
    conn: Connection, root: str, kind: str, *, shift: int, lo: int, hi: int
) -> dict[int, tuple[int, int]]:
    """Kept digests of buckets lo <= bucket < hi, summed by (bucket >> shift)."""
    group = digests.c.bucket.op(">>")(shift) if shift else digests.c.bucket
    stmt = (
        select(group, func.sum(digests.c.count), func.sum(digests.c.total))
        .where(
            in_subtree(digests.c.origin, root),
            digests.c.kind == kind,
            digests.c.bucket >= lo,
            digests.c.bucket < hi,
        )
        .group_by(group)
    )
    return {int(b): (int(c), int(t) % MOD) for b, c, t in conn.execute(stmt) if c}


def get_report(conn: Connection, code: str) -> Row[Any] | None:
    return conn.execute(select(reports).where(reports.c.code == code)).first()


def all_reports(conn: Connection) -> dict[str, Row[Any]]:
    return {r.code: r for r in conn.execute(select(reports))}


def save_report(conn: Connection, code: str, **values: Any) -> None:
    if conn.execute(update(reports).where(reports.c.code == code).values(**values)).rowcount:
        return
    defaults = {"head": 0, "until": 0, "verify_requested": False}
    conn.execute(insert(reports).values(code=code, **{**defaults, **values}))
