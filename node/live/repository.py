"""Reads of the live incident feed: incident versions by log position (asked of the records
repository, which alone queries records) and the names of the places they happened."""

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Row, select

from node.models import Unit, table
from node.records import repository as records
from node.views.models import GridEntry

units = table(Unit)
grids = table(GridEntry)
INCIDENT = "incident"


def head(conn: Connection) -> int:
    """The latest log position (0 for an empty log)."""
    return int(records.max_seq(conn))


def incidents_after(conn: Connection, after: int, limit: int) -> list[Row[Any]]:
    return records.kind_since(conn, kind=INCIDENT, seq=after, limit=limit)


def latest_in(conn: Connection, root: str, limit: int) -> list[Row[Any]]:
    return records.kind_latest_in(conn, kind=INCIDENT, root=root, limit=limit)


def replay_in(conn: Connection, root: str, after: int, limit: int) -> list[Row[Any]]:
    return records.kind_in_since(conn, kind=INCIDENT, root=root, seq=after, limit=limit)


def names(conn: Connection, codes: Sequence[str]) -> dict[str, str]:
    """Names of units (the registry) and grids (their grid records) among `codes`."""
    wanted = sorted(set(codes))
    if not wanted:
        return {}
    live_grids = select(grids.c.code, grids.c.name).where(grids.c.code.in_(wanted), grids.c.n > 0)
    out = {code: name for code, name in conn.execute(live_grids) if name}
    registry = select(units.c.code, units.c.name).where(units.c.code.in_(wanted))
    out.update({code: name for code, name in conn.execute(registry)})
    return out
