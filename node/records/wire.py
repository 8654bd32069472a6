"""Records as they travel (schemas.sync.ChangeRecord) turned back into storable versions."""

from federation.hlc import parse_version
from node.records.store import Version
from schemas.sync import ChangeRecord


def to_version(record: ChangeRecord) -> Version:
    """The version as made by its origin: id, origin and HLC kept as they are."""
    hlc, origin = parse_version(record.version)
    return Version(
        record.id,
        record.kind,
        record.unit,
        dict(record.data),
        hlc,
        origin,
        record.deleted,
        record.schema_version,
    )
