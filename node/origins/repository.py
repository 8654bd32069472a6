"""The seals a relay keeps, each child's seal state, the origins known to seal (node/origins)."""

from collections.abc import Sequence
from typing import Any

import orjson
from sqlalchemy import Connection, Row, insert, select, update

from node.db import WriteTxn
from node.models import table
from node.origins.models import ChildSeals, RelayedSeal, SealingOrigin

relayed = table(RelayedSeal)
child_seals = table(ChildSeals)
sealing = table(SealingOrigin)


def add_relayed(txn: WriteTxn, rows: Sequence[dict[str, Any]]) -> None:
    if rows:
        txn.conn.execute(insert(relayed), [r | {"at": txn.now} for r in rows])


def relayed_between(conn: Connection, low: int, high: int) -> list[Row[Any]]:
    """The kept seals of pushes whose log positions meet [low, high]."""
    stmt = select(relayed).where(relayed.c.local_to >= low, relayed.c.local_from <= high)
    return list(conn.execute(stmt.order_by(relayed.c.id)))


def relayed_of(conn: Connection, origin: str, low: int, high: int) -> list[Row[Any]]:
    """The kept seals of `origin`'s batches that may hold versions between low and high."""
    stmt = select(relayed).where(
        relayed.c.origin == origin, relayed.c.until >= low, relayed.c.since < high
    )
    return list(conn.execute(stmt.order_by(relayed.c.id)))


def sealing_among(conn: Connection, codes: Sequence[str]) -> dict[str, int]:
    """Of `codes`, the origins known to seal, each with the log position it seals from."""
    if not codes:
        return {}
    stmt = select(sealing.c.code, sealing.c.since).where(sealing.c.code.in_(list(codes)))
    return {r.code: int(r.since) for r in conn.execute(stmt)}


def add_sealing(txn: WriteTxn, seen: dict[str, int]) -> None:
    """Remember that these origins seal, from (at most) the given log position of theirs."""
    if not seen:
        return
    held = sealing_among(txn.conn, list(seen))
    new = [{"code": c, "since": at, "at": txn.now} for c, at in seen.items() if c not in held]
    if new:
        txn.conn.execute(insert(sealing), new)
    for code, at in seen.items():
        if code in held and at < held[code]:
            txn.conn.execute(update(sealing).where(sealing.c.code == code).values(since=at))


def child_state(conn: Connection, code: str) -> Row[Any] | None:
    return conn.execute(select(child_seals).where(child_seals.c.code == code)).first()


def all_child_states(conn: Connection) -> dict[str, Row[Any]]:
    return {r.code: r for r in conn.execute(select(child_seals))}


def note_push(
    txn: WriteTxn,
    *,
    child: str,
    sends: bool | None,
    refused: int,
    last: str | None,
    unchecked: int,
) -> None:
    """One push's outcome for `child` (`sends` None: as it was): written only when it changes
    something."""
    row = child_state(txn.conn, child)
    if sends is None:
        sends = bool(row.sends) if row is not None else False
    if row is None:
        first = {"code": child, "sends": sends, "refused": refused, "last_refused": last}
        txn.conn.execute(insert(child_seals).values(**first, unchecked=unchecked, at=txn.now))
        return
    if row.sends == sends and not refused and not unchecked:
        return
    values: dict[str, Any] = {"sends": sends, "at": txn.now}
    values |= {"refused": row.refused + refused, "unchecked": row.unchecked + unchecked}
    if last is not None:
        values["last_refused"] = last
    txn.conn.execute(update(child_seals).where(child_seals.c.code == child).values(**values))


def loads(text: str) -> Any:
    return orjson.loads(text)
