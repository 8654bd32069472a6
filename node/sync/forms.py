"""Outgoing forms: a child works out, as it writes a version, what the push will send of it
(docs/decisions/1801-outgoing-forms-at-write.md).

A push spends most of its read on two things per record: the data projected for the parent's
level (issue 14; opening the sealed fields first) and the origin seal's leaf hashes for every
level above (issue 13). Both are functions of the version alone, so the write hook below works
them out in the writing transaction, where the data is at hand in clear, and keeps them in
`outgoing_forms` until the parent acks the version: a village back from days offline sends its
backlog without redoing that work at the worst moment, and a resent batch costs the same.

- A form is kept only when it holds no field this node seals at rest in clear (the sealer says
  so: a projected copy it would leave as it is); otherwise only the leaves are kept, and the
  push opens and projects that record as before.
- Every row carries the fingerprint of what it was made under (the policy at every level
  above, the hash key, the suite): the outbox joins only rows of its own fingerprint, so a
  changed policy or key never ships a form made under the old one.
- What is missing (written before this release, by a node without a parent, or a row deleted
  once acked and sent again after a rewind) is worked out at the push: the result is the same.
- A failure to work out a form never fails the write: the record is sent the old way.
"""

import hashlib
import logging
from collections.abc import Callable, Sequence
from typing import Any

import orjson
from sqlalchemy import Connection, delete

from federation.privacy.sealing import FIELD as SEALED_FIELD
from node.db import SEALER_OPTION, WriteTxn, execute_many, upsert_insert
from node.models import OutgoingForm, table
from node.records.wire import record_to_wire
from node.seams import Change, RecordProjection
from schemas.codes import is_within

log = logging.getLogger(__name__)
forms = table(OutgoingForm)
Leaves = Callable[[dict[str, Any], dict[str, Any]], list[bytes]]
"""The origin seal's leaves of a record (its wire form, the data as the parent holds it)."""


def fingerprint(parts: Any) -> str:
    """A short name for what forms are made under (any JSON-able description)."""
    return hashlib.sha256(orjson.dumps(parts, option=orjson.OPT_SORT_KEYS)).hexdigest()[:16]


class OutgoingForms:
    """The write hook that keeps `outgoing_forms` (node.seams.WriteHook)."""

    def __init__(
        self,
        code: str,
        fingerprint: str,
        *,
        projection: RecordProjection | None,
        leaves: Leaves | None,
    ) -> None:
        self.code = code
        self.fingerprint = fingerprint
        self.projection = projection
        self.leaves = leaves

    def __call__(self, txn: WriteTxn, changes: Sequence[Change]) -> None:
        projection = self.projection
        if projection is not None and not projection.ready:
            return  # no key to project with yet: the push says so, as before
        sealer = txn.conn.get_execution_options().get(SEALER_OPTION)
        rows = []
        for version, _head in changes:
            if not is_within(version.origin, self.code):
                continue  # from above (a directive): never pushed back up
            try:
                form, leaves = self._form(version, sealer)
            except Exception as exc:  # the push works it out (and reports it) as before
                log.warning("no outgoing form for %s: %s", version.id, type(exc).__name__)
                continue
            if form is None and leaves is None:
                continue
            rows.append(
                {
                    "id": version.id,
                    "hlc": version.hlc,
                    "origin": version.origin,
                    "fingerprint": self.fingerprint,
                    "upto": txn.last_hlc,  # every seq of this batch is at or below it
                    "form": form,
                    "leaves": leaves,
                }
            )
        if rows:
            stmt = upsert_insert(txn.conn, forms)
            columns = ("hlc", "origin", "fingerprint", "upto", "form", "leaves")
            stmt = stmt.on_conflict_do_update(
                index_elements=[forms.c.id], set_={c: stmt.excluded[c] for c in columns}
            )
            execute_many(txn.conn, stmt, rows)

    def _form(self, version: Any, sealer: Any) -> tuple[str | None, bytes | None]:
        wire = record_to_wire(version)  # a Version's fields are the wire columns, in order
        data = version.data
        if isinstance(data, dict) and SEALED_FIELD in data:
            return None, None  # data as sealed at rest (not clear): the push opens it
        form = None
        projection = self.projection
        if projection is not None and version.kind in projection.kinds:
            data = projection.project(version.kind, data)
            held_as_is = sealer is None or sealer.seal(version.kind, version.id, data) is data
            if held_as_is:
                form = orjson.dumps(data).decode()
        wire["data"] = data
        leaves = None
        if self.leaves is not None and version.origin == self.code:
            leaves = b"".join(self.leaves(wire, data))
        return form, leaves


def forget_acked(conn: Connection, until: int) -> None:
    """The parent holds every version up to log position `until`: their forms go."""
    conn.execute(delete(forms).where(forms.c.upto <= until))
