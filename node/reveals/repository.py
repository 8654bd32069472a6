"""SQL of reveal requests (node/reveals/models.py)."""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, func, select, update

from node.models import table
from node.reveals.models import RevealRequest
from schemas.reveals import RevealStatus

_requests = table(RevealRequest)
_outstanding = (  # built once: a statement run every tick of every node's purge
    select(_requests.c.status, func.min(_requests.c.expires_at))
    .where(_requests.c.status.in_((RevealStatus.pending.value, RevealStatus.approved.value)))
    .group_by(_requests.c.status)
)


def add(conn: Connection, row: dict[str, Any]) -> None:
    conn.execute(_requests.insert().values(**row))


def get(conn: Connection, request_id: uuid.UUID) -> Row[Any] | None:
    return conn.execute(select(_requests).where(_requests.c.id == request_id)).first()


def newest(conn: Connection, limit: int) -> list[Row[Any]]:
    query = select(_requests).order_by(_requests.c.requested_at.desc()).limit(limit)
    return list(conn.execute(query))


def with_status(conn: Connection, status: str) -> list[Row[Any]]:
    return list(conn.execute(select(_requests).where(_requests.c.status == status)))


def outstanding(conn: Connection) -> dict[str, datetime | None]:
    """The statuses pending and approved that some request has, each with the earliest end
    of a hold among them (one statement: what the requester's periodic purge looks at)."""
    return {str(status): ends for status, ends in conn.execute(_outstanding)}


def expired(conn: Connection, now: datetime) -> list[Row[Any]]:
    query = select(_requests).where(_requests.c.status == "approved", _requests.c.expires_at <= now)
    return list(conn.execute(query))


def set_values(conn: Connection, request_id: uuid.UUID, **values: Any) -> None:
    conn.execute(update(_requests).where(_requests.c.id == request_id).values(**values))
