"""SQL for users and their tokens."""

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, insert, select, update

from node.access.models import User, UserToken
from node.models import table

users = table(User)
tokens = table(UserToken)


def get_user(conn: Connection, name: str) -> Row[Any] | None:
    return conn.execute(select(users).where(users.c.name == name)).first()


def list_users(conn: Connection) -> list[Row[Any]]:
    return list(conn.execute(select(users).order_by(users.c.name)))


def add_user(conn: Connection, **values: Any) -> int:
    return int(conn.execute(insert(users).values(**values)).inserted_primary_key[0])  # type: ignore[index]


def update_user(conn: Connection, user_id: int, **values: Any) -> None:
    conn.execute(update(users).where(users.c.id == user_id).values(**values))


def add_token(conn: Connection, **values: Any) -> None:
    conn.execute(insert(tokens).values(**values))


def token_with_user(conn: Connection, token_id: str) -> Row[Any] | None:
    """A token and the fields of its user that authentication needs."""
    stmt = (
        select(
            tokens,
            users.c.name,
            users.c.role,
            users.c.units,
            users.c.enabled,
        )
        .join(users, users.c.id == tokens.c.user_id)
        .where(tokens.c.id == token_id)
    )
    return conn.execute(stmt).first()


def revoke_tokens(
    conn: Connection, user_id: int, *, at: datetime, kind: str | None = None
) -> list[str]:
    """Revoke a user's live tokens (of one kind, or all); the ids revoked."""
    where = [tokens.c.user_id == user_id, tokens.c.revoked_at.is_(None)]
    if kind is not None:
        where.append(tokens.c.kind == kind)
    ids = [r.id for r in conn.execute(select(tokens.c.id).where(*where))]
    if ids:
        conn.execute(update(tokens).where(tokens.c.id.in_(ids)).values(revoked_at=at))
    return ids


def revoke_token(conn: Connection, token_id: str, *, at: datetime) -> None:
    stmt = update(tokens).where(tokens.c.id == token_id, tokens.c.revoked_at.is_(None))
    conn.execute(stmt.values(revoked_at=at))


def touch_token(conn: Connection, token_id: str, *, at: datetime) -> None:
    conn.execute(update(tokens).where(tokens.c.id == token_id).values(last_used_at=at))


def live_token_counts(conn: Connection, *, now: datetime) -> dict[int, int]:
    """Per user id, how many unrevoked, unexpired API tokens it holds."""
    stmt = select(tokens.c.user_id).where(
        tokens.c.kind == "api", tokens.c.revoked_at.is_(None), tokens.c.expires_at > now
    )
    counts: dict[int, int] = {}
    for row in conn.execute(stmt):
        counts[row.user_id] = counts.get(row.user_id, 0) + 1
    return counts
