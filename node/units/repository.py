"""SQL for the unit registry and child credentials."""

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, func, select, update

from node.db import upsert_insert
from node.models import ChildCredential, Unit, table
from node.records.repository import in_subtree

units = table(Unit)
credentials = table(ChildCredential)


def upsert_unit(conn: Connection, row: dict[str, Any]) -> None:
    stmt = upsert_insert(conn, units).values(**row)
    changed = {k: stmt.excluded[k] for k in ("name", "level", "parent", "hlc", "seq")}
    conn.execute(stmt.on_conflict_do_update(index_elements=[units.c.code], set_=changed))


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


def put_credential(conn: Connection, *, code: str, token_hash: str, at: datetime) -> None:
    stmt = upsert_insert(conn, credentials).values(
        code=code, token_hash=token_hash, created_at=at, revoked=False
    )
    conn.execute(
        stmt.on_conflict_do_update(
            index_elements=[credentials.c.code],
            set_={
                "token_hash": token_hash,
                "created_at": at,
                "revoked": False,
                "revoked_at": None,
                "public_key": None,  # a new code: the child registers its key again
                "key_suite": None,
                "key_registered_at": None,
            },
        )
    )


def get_credential(conn: Connection, code: str) -> Row[Any] | None:
    return conn.execute(select(credentials).where(credentials.c.code == code)).first()


def revoke_credential(conn: Connection, code: str, at: datetime | None = None) -> None:
    stmt = update(credentials).where(credentials.c.code == code)
    conn.execute(stmt.values(revoked=True, revoked_at=at))


def register_key(conn: Connection, *, code: str, public_key: str, suite: str, at: datetime) -> None:
    stmt = update(credentials).where(credentials.c.code == code)
    conn.execute(stmt.values(public_key=public_key, key_suite=suite, key_registered_at=at))


def list_credentials(conn: Connection) -> list[Row[Any]]:
    return list(conn.execute(select(credentials).order_by(credentials.c.code)))


def live_child_codes(conn: Connection) -> frozenset[str]:
    stmt = select(credentials.c.code).where(credentials.c.revoked.is_(False))
    return frozenset(conn.execute(stmt).scalars())
