"""Records on the wire, both ways: a stored row as it travels (schemas.sync.ChangeRecord's
shape), and a received ChangeRecord back into a storable version. Every package that ships or
takes records (outbox, receive, directives, digests, bundles, ops) converts here."""

from collections.abc import Sequence
from typing import Any

import orjson

from federation.hlc import format_version, parse_version
from node.records.repository import WIRE_COLUMNS
from node.records.store import Version
from schemas.sync import ChangeRecord

WIRE_WIDTH = len(WIRE_COLUMNS)


def record_to_wire(row: Sequence[Any]) -> dict[str, Any]:
    """A record row as it travels. The row's first columns are `repository.WIRE_COLUMNS` (as
    in `select(records)` and `feed_since`), read by position: a hundred times cheaper than by
    name on a feed of thousands. Data read as JSON text (`feed_since`) is embedded as it is."""
    record_id, kind, unit, data, hlc, origin, deleted, schema_version = row[:WIRE_WIDTH]
    return {
        "id": wire_id(record_id),
        "kind": kind,
        "unit": unit,
        "data": orjson.Fragment(data) if isinstance(data, str) else data,
        "version": format_version(hlc, origin),
        "deleted": deleted,
        "schema_version": schema_version,
    }


def wire_id(value: Any) -> str:
    """The canonical text of an id: a uuid.UUID, or the 32 hex digits SQLite stores."""
    text = str(value)
    if len(text) == 32:
        return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"
    return text


def to_version(record: ChangeRecord) -> Version:
    """The version as made by its origin: id, origin and HLC kept as they are."""
    hlc, origin = parse_version(record.version)
    return version_of(record, hlc, origin, data=dict(record.data))


def to_change_record(version: Version) -> ChangeRecord:
    """A version as it travels (unvalidated: it was made or stored here), `to_version`'s reverse."""
    return ChangeRecord.model_construct(
        id=version.id,
        kind=version.kind,
        unit=version.unit,
        data=version.data,
        version=format_version(version.hlc, version.origin),
        deleted=version.deleted,
        schema_version=version.schema_version,
    )


def version_of(
    record: ChangeRecord, hlc: int, origin: str, *, data: dict[str, Any] | None = None
) -> Version:
    """`to_version` for a caller that has parsed the version already (a push, per record)."""
    return Version(
        record.id,
        record.kind,
        record.unit,
        record.data if data is None else data,
        hlc,
        origin,
        record.deleted,
        record.schema_version,
    )


def projected_wire(
    row: Sequence[Any], projection: Any, *, id_hash: str | None = None, owned: bool = False
) -> dict[str, Any]:
    """`record_to_wire(row)` with its data as `projection` (node.seams.RecordProjection) lets
    the parent hold it; records of a kind it leaves alone go as they are, unparsed. `id_hash`:
    the row's stored ID hash, if it was read (`feed_since`). `owned`: a parsed data dict in the
    row is the caller's own (`feed_since` opened it for this read), projected without a copy."""
    wire = record_to_wire(row)
    if projection is not None and wire["kind"] in projection.kinds:
        data = row[3]
        if isinstance(data, str):
            data, owned = orjson.loads(data), True
        wire["data"] = projection.project(wire["kind"], data, id_hash=id_hash, in_place=owned)
    return wire
