"""What an operator reads of replication: quarantined records and lost versions, in pages."""

from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel, Field

PAGE_DEFAULT = 100
PAGE_MAX = 1000


class QuarantinedItem(BaseModel):
    """A record a child pushed that this node set aside, with the reason."""

    id: int = Field(description="entry number, newest first")
    child: str = Field(description="the child node that pushed it")
    record_id: UUID
    kind: str
    unit: str
    version: str
    reason: str = Field(description="why it was set aside (unknown kind, schema version, ...)")
    payload: dict[str, Any] = Field(description="the record as pushed, its personal data masked")
    masked: list[str] = Field(default_factory=list, description="paths of masked values")
    at: datetime = Field(description="when it arrived (with its offset)")


class ConflictItem(BaseModel):
    """A version that lost to a concurrent version of the same record."""

    id: int = Field(description="entry number, newest first")
    record_id: UUID
    kind: str | None = Field(description="the record's kind (null if it is no longer held)")
    kept_version: str
    lost_version: str
    lost_unit: str
    lost_deleted: bool
    lost_data: dict[str, Any] = Field(description="the lost version's data, masked")
    masked: list[str] = Field(default_factory=list, description="paths of masked values")
    at: datetime = Field(description="when it was resolved (with its offset)")


class QuarantinePage(BaseModel):
    items: list[QuarantinedItem]
    total: int = Field(description="entries in all")
    offset: int
    limit: int


class ConflictPage(BaseModel):
    items: list[ConflictItem]
    total: int = Field(description="entries in all")
    offset: int
    limit: int
