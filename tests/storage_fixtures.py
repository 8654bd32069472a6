"""Databases for the storage and migration tests, on the engine the test is parametrised with.

Test modules declare a `databases` fixture: `yield from open_databases(database_url_factory)`.
"""

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from alembic import command
from sqlalchemy import Connection, Engine, func, select
from sqlalchemy.engine import make_url

from federation.hlc import Clock, wall_ms
from node import migrate
from node.db import Database, WriteTxn
from node.models import NodeState, Record
from node.records.store import Version
from node.views.models import Rollup
from node.wiring import write_hooks

VILLAGE = "632322101201"
OTHER_VILLAGE = "632322101202"


class Databases:
    """Fresh database URLs and migrated, identified Database objects, all disposed at teardown."""

    def __init__(self, url_factory: Callable[[str], str]) -> None:
        self._url_factory = url_factory
        self._opened: list[Database] = []
        self._engines: list[Engine] = []

    def new_url(self) -> str:
        url = self._url_factory(f"db-{uuid.uuid4().hex[:8]}")
        parsed = make_url(url)
        if parsed.get_backend_name() == "sqlite" and parsed.database:
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        return url

    def open(
        self,
        url: str | None = None,
        *,
        code: str = VILLAGE,
        clock: Clock = wall_ms,
        migrate_first: bool = True,
        identify: bool = True,
    ) -> Database:
        # Wired as open_node wires a node: the views and digests keep step with every write.
        db = Database(url or self.new_url(), clock=clock, write_hooks=write_hooks(code))
        self._opened.append(db)
        if migrate_first:
            migrate.upgrade(db.engine)
        if identify:
            db.ensure_identity(code)
        return db

    def close_all(self) -> None:
        for db in self._opened:
            db.dispose()


def open_databases(database_url_factory: Callable[[str], str]) -> Iterator[Databases]:
    """Body of a `databases` fixture: yields the factory, disposes every engine afterwards."""
    dbs = Databases(database_url_factory)
    try:
        yield dbs
    finally:
        dbs.close_all()


def alembic_downgrade(engine: Engine, revision: str) -> None:
    config = migrate.alembic_config(str(engine.url))
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, revision)


def alembic_upgrade_to(engine: Engine, revision: str) -> None:
    config = migrate.alembic_config(str(engine.url))
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, revision)


def local_version(
    txn: WriteTxn,
    *,
    record_id: uuid.UUID | None = None,
    kind: str = "household",
    unit: str = VILLAGE,
    data: dict[str, Any] | None = None,
    deleted: bool = False,
    origin: str = VILLAGE,
) -> Version:
    """A version issued by this node now, as the records service issues them."""
    return Version(
        id=record_id or uuid.uuid4(),
        kind=kind,
        unit=unit,
        data=data if data is not None else {"address": "1 Main Street", "head_name": "Tashi"},
        hlc=txn.tick(),
        origin=origin,
        deleted=deleted,
        schema_version=1,
    )


def remote_version(
    record_id: uuid.UUID,
    hlc: int,
    origin: str,
    *,
    kind: str = "household",
    unit: str = VILLAGE,
    data: dict[str, Any] | None = None,
    deleted: bool = False,
) -> Version:
    """A version as a replicated batch carries it: the HLC was issued elsewhere."""
    return Version(
        id=record_id,
        kind=kind,
        unit=unit,
        data=data if data is not None else {"from": origin, "hlc": hlc},
        hlc=hlc,
        origin=origin,
        deleted=deleted,
        schema_version=1,
    )


def rollup(conn: Connection) -> dict[tuple[str, str], int]:
    """Live records per (unit, kind) at exactly that unit, as the views' roll-up holds them: a
    unit's subtree count less its direct children's (rows at zero are as good as absent)."""
    rows = conn.execute(
        select(Rollup.unit, Rollup.parent, Rollup.kind, Rollup.n).where(
            Rollup.dim == "all", Rollup.key == ""
        )
    ).all()
    exact = {(unit, kind): int(n) for unit, _parent, kind, n in rows}
    for _unit, parent, kind, n in rows:
        if (parent, kind) in exact:  # above this node's level nothing is counted
            exact[(parent, kind)] -= int(n)
    return {key: n for key, n in exact.items() if n != 0}


def subtree_counts(conn: Connection, unit: str) -> dict[str, int]:
    """Live records per kind in the subtree of `unit`, as the summary view reads them."""
    stmt = select(Rollup.kind, Rollup.n).where(
        Rollup.unit == unit, Rollup.dim == "all", Rollup.key == ""
    )
    return {kind: int(n) for kind, n in conn.execute(stmt) if n}


def rollup_cells(conn: Connection) -> list[int]:
    return [int(n) for n in conn.execute(select(Rollup.n)).scalars()]


def direct_counts(conn: Connection) -> dict[tuple[str, str], int]:
    """Live records per (unit, kind), counted from the records themselves."""
    stmt = (
        select(Record.unit, Record.kind, func.count())
        .where(Record.deleted.is_(False))
        .group_by(Record.unit, Record.kind)
    )
    return {(unit, kind): int(n) for unit, kind, n in conn.execute(stmt)}


def last_hlc(conn: Connection) -> int:
    return int(conn.execute(select(NodeState.last_hlc).where(NodeState.id == 1)).scalar_one())
