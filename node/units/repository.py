"""SQL for the unit registry and child credentials."""

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, bindparam, func, select, update

from node.db import upsert_insert
from node.models import ChildCredential, HeldEnrolment, Unit, table
from node.records.repository import in_subtree

units = table(Unit)
credentials = table(ChildCredential)
held = table(HeldEnrolment)


def upsert_unit(conn: Connection, row: dict[str, Any]) -> None:
    stmt = upsert_insert(conn, units).values(**row)
    changed = {k: stmt.excluded[k] for k in ("name", "level", "parent", "hlc", "seq")}
    conn.execute(stmt.on_conflict_do_update(index_elements=[units.c.code], set_=changed))


def touch_unit(conn: Connection, code: str, seq: int) -> None:
    """Move a unit to log position `seq` (unchanged otherwise): the next push carries it, and
    with it the sections of that slice (a revocation in the enrolments)."""
    conn.execute(update(units).where(units.c.code == code).values(seq=seq))


def count_changed_since(conn: Connection, seq: int) -> int:
    stmt = select(func.count()).where(units.c.seq > seq)
    return int(conn.execute(stmt).scalar_one())


def max_seq(conn: Connection) -> int:
    return int(conn.execute(select(func.coalesce(func.max(units.c.seq), 0))).scalar_one())


def to_wire(row: Row[Any]) -> dict[str, Any]:
    """A registry entry as it travels (schemas.sync.UnitChange's shape)."""
    return {
        "code": row.code,
        "name": row.name,
        "level": row.level,
        "parent": row.parent,
        "hlc": row.hlc,
    }


def get_unit(conn: Connection, code: str) -> Row[Any] | None:
    return conn.execute(select(units).where(units.c.code == code)).first()


def child_names(conn: Connection, parent: str) -> dict[str, str]:
    stmt = select(units.c.code, units.c.name).where(units.c.parent == parent)
    return {code: name for code, name in conn.execute(stmt)}


def units_in_subtree(conn: Connection, root: str) -> list[Row[Any]]:
    stmt = select(units).where(in_subtree(units.c.code, root)).order_by(units.c.code)
    return list(conn.execute(stmt))


def units_changed_since(conn: Connection, seq: int) -> list[Row[Any]]:
    return list(conn.execute(select(units).where(units.c.seq > seq).order_by(units.c.seq)))


def put_credential(
    conn: Connection,
    *,
    code: str,
    token_hash: str,
    at: datetime,
    seq: int,
    revoked: bool = False,
) -> None:
    values: dict[str, Any] = {
        "token_hash": token_hash,
        "created_at": at,
        "revoked": revoked,
        "seq": seq,
    }
    current = get_credential(conn, code)
    if current is not None and current.token_hash != token_hash:
        # A new code: the child registers its key again (a code given back is the same).
        values |= {"public_key": None, "key_suite": None, "key_registered_at": None}
    if not revoked:
        values["revoked_at"] = None
    stmt = upsert_insert(conn, credentials).values(code=code, **values)
    conn.execute(stmt.on_conflict_do_update(index_elements=[credentials.c.code], set_=values))


def credentials_between(conn: Connection, since: int, until: int) -> list[Row[Any]]:
    """The enrolments changed at log positions in (since, until]."""
    stmt = select(credentials).where(credentials.c.seq > since, credentials.c.seq <= until)
    return list(conn.execute(stmt.order_by(credentials.c.seq)))


def put_held(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Keep grandchildren's enrolments (HeldEnrolment rows), the newest as sent."""
    for row in rows:
        stmt = upsert_insert(conn, held).values(**row)
        changed = {k: v for k, v in row.items() if k != "code"}
        conn.execute(stmt.on_conflict_do_update(index_elements=[held.c.code], set_=changed))


def held_via(conn: Connection, via: str) -> list[Row[Any]]:
    """The enrolments `via` sent up of its own children."""
    return list(conn.execute(select(held).where(held.c.via == via).order_by(held.c.code)))


# Built once: read for every signed request a child makes.
_credential = select(credentials).where(credentials.c.code == bindparam("code"))


def get_credential(conn: Connection, code: str) -> Row[Any] | None:
    return conn.execute(_credential, {"code": code}).first()


def revoke_credential(
    conn: Connection, code: str, at: datetime | None = None, seq: int | None = None
) -> None:
    """Mark a child revoked; with `seq` (a log position) the change goes up in the next push's
    enrolments, so every ancestor learns of it (docs/protocol.md, Revocation)."""
    values: dict[str, Any] = {"revoked": True, "revoked_at": at}
    if seq is not None:
        values["seq"] = seq
    conn.execute(update(credentials).where(credentials.c.code == code).values(**values))


def register_key(conn: Connection, *, code: str, public_key: str, suite: str, at: datetime) -> None:
    stmt = update(credentials).where(credentials.c.code == code)
    conn.execute(stmt.values(public_key=public_key, key_suite=suite, key_registered_at=at))


def list_credentials(conn: Connection) -> list[Row[Any]]:
    return list(conn.execute(select(credentials).order_by(credentials.c.code)))


def live_child_codes(conn: Connection) -> frozenset[str]:
    stmt = select(credentials.c.code).where(credentials.c.revoked.is_(False))
    return frozenset(conn.execute(stmt).scalars())
