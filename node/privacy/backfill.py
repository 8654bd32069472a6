"""Rows written in clear before sealing was switched on are sealed when the node opens.

At every writable start, after the data key is checked (at_rest.install): the records of the
sealed kinds above `privacy_state.sealed_through` are read in log order, a batch at a time;
each row holding a sensitive field in clear is sealed in place (same version, same position:
nothing travels) and gets its `id_hash`; the batch and the new `sealed_through` commit in one
transaction, so a start interrupted half-way resumes after the last batch it committed. On
SQLite the rewrite runs with `secure_delete` (the clear bytes of the old cells are zeroed, not
left in free pages) and the log is checkpointed and truncated after: a copied database file
then holds no clear ID number.
"""

import logging
from typing import Any

from sqlalchemy import Connection, func, select, text, update

from federation.privacy.sealing import FIELD, SEALED, Sealer
from node.db import Database
from node.models import Record, table
from node.privacy.models import PrivacyState

log = logging.getLogger("tiersync.privacy")
BATCH = 500
_records = table(Record)
_state = table(PrivacyState)


def _through(conn: Connection) -> int:
    value = conn.execute(select(_state.c.sealed_through).where(_state.c.id == 1)).scalar()
    return int(value or 0)


def _batch(conn: Connection, after: int) -> list[Any]:
    query = (
        select(_records.c.id, _records.c.kind, _records.c.data, _records.c.seq)
        .where(_records.c.seq > after, _records.c.kind.in_(sorted(SEALED)))
        .order_by(_records.c.seq)
        .limit(BATCH)
    )
    return list(conn.execute(query))


def _seal_row(conn: Connection, sealer: Sealer, row: Any) -> bool:
    data = row.data
    if not isinstance(data, dict) or FIELD in data:
        return False
    sealed = sealer.seal(row.kind, row.id, data)
    if sealed == data:
        return False
    values: dict[str, Any] = {"data": sealed}
    digest = sealer.id_hash(row.kind, data)
    if digest is not None:
        values["id_hash"] = digest
    # Only the version read: one written meanwhile (a serving node beside this command) is
    # sealed already and keeps its place.
    same = (_records.c.id == row.id) & (_records.c.seq == row.seq)
    conn.execute(update(_records).where(same).values(**values))
    return True


def seal_old_rows(db: Database, sealer: Sealer) -> int:
    """Seal what was written in clear; how many rows were sealed (0 on a later start)."""
    sealed = 0
    with db.engine.connect() as conn:
        if db.is_sqlite:
            conn.exec_driver_sql("PRAGMA secure_delete = ON")
            conn.commit()
        while True:
            with conn.begin():
                after = _through(conn)
                rows = _batch(conn, after)
                if not rows:
                    top = conn.execute(select(func.max(_records.c.seq))).scalar() or 0
                    if top > after:  # nothing of the sealed kinds above: skip past it all
                        _save(conn, int(top))
                    break
                sealed += sum(_seal_row(conn, sealer, row) for row in rows)
                _save(conn, int(rows[-1].seq))
        if db.is_sqlite:
            if sealed:
                conn.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
            conn.exec_driver_sql("PRAGMA secure_delete = OFF")  # the pooled connection
            conn.commit()
    if sealed:
        log.info("sealed %d record(s) written in clear before sealing", sealed)
    return sealed


def _save(conn: Connection, through: int) -> None:
    conn.execute(update(_state).where(_state.c.id == 1).values(sealed_through=through))
