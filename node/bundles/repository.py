"""SQL of the offline bundles: the bundles written and read here."""

from typing import Any

from sqlalchemy import Connection, Row, insert, select, update

from node.bundles.models import BundleEntry
from node.models import table

bundles = table(BundleEntry)


def add_bundle(conn: Connection, **values: Any) -> None:
    conn.execute(insert(bundles).values(**values))


def find_bundle(conn: Connection, *, sha256: str, action: str) -> Row[Any] | None:
    stmt = select(bundles).where(bundles.c.sha256 == sha256, bundles.c.action == action)
    return conn.execute(stmt).first()


def pending_exports(conn: Connection) -> list[Row[Any]]:
    stmt = select(bundles).where(
        bundles.c.action == "export", bundles.c.direction == "up", bundles.c.acked.is_(False)
    )
    return list(conn.execute(stmt.order_by(bundles.c.id)))


def ack_exports(conn: Connection, *, upto: int) -> None:
    conn.execute(
        update(bundles)
        .where(bundles.c.action == "export", bundles.c.until <= upto)
        .values(acked=True)
    )
