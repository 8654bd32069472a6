"""ORM tables of a node. Only repositories query them."""

import uuid
from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

JsonDoc = JSON().with_variant(JSONB(), "postgresql")
Code = String(15)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def table(model: type[Base]) -> Table:
    """A mapped class's Table, typed as one (repositories use Core for batch statements)."""
    return cast(Table, model.__table__)


class NodeState(Base):
    """One row: the node's identity and its hybrid logical clock's high-water mark.

    Every write transaction locks this row first, so log positions are handed out in commit
    order and a restart never issues a version below one already issued.
    """

    __tablename__ = "node_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(Code)
    last_hlc: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Record(Base):
    """The latest version of every record this node holds, which is also its change feed.

    `seq` is this node's log position of the version: each write moves the record to the head
    of the log, so "the latest change of each record since cursor N" is one range scan on seq.
    """

    __tablename__ = "records"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    unit: Mapped[str] = mapped_column(Code)
    data: Mapped[dict[str, Any]] = mapped_column(JsonDoc)
    hlc: Mapped[int] = mapped_column(BigInteger)
    origin: Mapped[str] = mapped_column(Code)
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    schema_version: Mapped[int] = mapped_column(Integer)
    seq: Mapped[int] = mapped_column(BigInteger, unique=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # The keyed hash of the record's ID number (h:<32 hex>, federation/privacy): lookups by ID
    # number and the duplicate finder, with the number itself sealed or never held here.
    id_hash: Mapped[str | None] = mapped_column(String(34), nullable=True)

    __table_args__ = (
        Index("ix_records_unit_id", "unit", "id"),
        Index("ix_records_kind_unit_id", "kind", "unit", "id"),
        Index("ix_records_id_hash", "id_hash"),
    )


class Unit(Base):
    """The unit registry: every unit of this node's subtree that it knows of."""

    __tablename__ = "units"

    code: Mapped[str] = mapped_column(Code, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    level: Mapped[str] = mapped_column(String(16))
    parent: Mapped[str | None] = mapped_column(Code, index=True)
    hlc: Mapped[int] = mapped_column(BigInteger)
    seq: Mapped[int] = mapped_column(BigInteger, index=True)


class ChildCredential(Base):
    """A child node enrolled here: only the hash of its enrolment code is kept, then its key."""

    __tablename__ = "child_credentials"

    code: Mapped[str] = mapped_column(Code, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)
    # Once the child exchanged its enrolment code: its public key (base64) and suite; the code
    # is then spent and every request must be signed with this key (docs/protocol.md).
    public_key: Mapped[str | None] = mapped_column(String(200), nullable=True)
    key_suite: Mapped[str | None] = mapped_column(String(16), nullable=True)
    key_registered_at: Mapped[datetime | None] = mapped_column(
        DateTime(timezone=True), nullable=True
    )
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    # Log position of the last change: the enrolment travels up in the push slice holding it
    # (the `enrolments` section), so the parent can give it back to a rebuilt node.
    seq: Mapped[int | None] = mapped_column(BigInteger, index=True, nullable=True)


class HeldEnrolment(Base):
    """At a parent: a grandchild's enrolment as the child between (`via`) holds it. Never a
    credential here: given back only to `via`, when it is rebuilt (docs/protocol.md)."""

    __tablename__ = "held_enrolments"

    code: Mapped[str] = mapped_column(Code, primary_key=True)
    via: Mapped[str] = mapped_column(Code, index=True)
    scheme: Mapped[str] = mapped_column(String(32))
    credential: Mapped[str] = mapped_column(String(512))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)


class DescendantKey(Base):
    """Every descendant's signing key as this node knows it: a direct child's from its
    enrolment, a grandchild's from the `keys` push section of the child between (`via`). With
    the CA's key certificate (federation/keycert.py) `certified` says it was checked against
    the prefecture's CA here, so no relay had to be trusted for it."""

    __tablename__ = "descendant_keys"

    code: Mapped[str] = mapped_column(Code, primary_key=True)
    via: Mapped[str] = mapped_column(Code, index=True)
    public_key: Mapped[str] = mapped_column(String(200))
    suite: Mapped[str] = mapped_column(String(16))
    certificate: Mapped[str | None] = mapped_column(Text, nullable=True)
    certified: Mapped[bool] = mapped_column(Boolean, default=False)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    seq: Mapped[int] = mapped_column(BigInteger, index=True)  # travels up in the slice holding it


class AuditEntry(Base):
    """Who did what, when, with what outcome: operator actions and refused peers."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(32))
    detail: Mapped[str] = mapped_column(Text, default="")
    # The hash chain (node/audit/chain.py): this entry's hash covers the previous one's.
    prev_hash: Mapped[str | None] = mapped_column(String(64))
    hash: Mapped[str | None] = mapped_column(String(64))


class AuditHead(Base):
    """At a parent: the latest head of each child's audit chain, as its pushes carried it."""

    __tablename__ = "audit_heads"

    code: Mapped[str] = mapped_column(Code, primary_key=True)
    last_id: Mapped[int] = mapped_column(BigInteger)
    hash: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ChildSync(Base):
    """At a parent: how far each child's change log has been applied here (the truth)."""

    __tablename__ = "child_sync"

    code: Mapped[str] = mapped_column(Code, primary_key=True)
    cursor: Mapped[int] = mapped_column(BigInteger, default=0)
    last_push_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    records_received: Mapped[int] = mapped_column(BigInteger, default=0)
    protocol: Mapped[int] = mapped_column(Integer, default=0)


class BatchMark(Base):
    """At a parent: child log position `child_seq` was applied by local position `local_seq`.

    Lets the parent tell a child how far up every ancestor holds its changes (tombstone GC).
    """

    __tablename__ = "batch_marks"

    code: Mapped[str] = mapped_column(Code, primary_key=True)
    child_seq: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    local_seq: Mapped[int] = mapped_column(BigInteger)


class Upstream(Base):
    """At a child: one row about its link to the parent."""

    __tablename__ = "upstream"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    acked_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    durable_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    last_push_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(Text)
    last_error_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # This node's HLC when its process opened the database, kept until the parent next
    # confirms its standing: writes at or below it were in the files before this process
    # started (a restore's own, perhaps pushed by the lost copy), writes above it are new.
    opened_hlc: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


class Quarantined(Base):
    """A record a parent could not accept for a reason other than jurisdiction."""

    __tablename__ = "quarantine"
    # One entry per pushed version: a resend of it does not add another (issue 10, defect 9).
    __table_args__ = (UniqueConstraint("child", "record_id", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    child: Mapped[str] = mapped_column(Code, index=True)
    record_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    kind: Mapped[str] = mapped_column(String(32))
    unit: Mapped[str] = mapped_column(String(32))
    version: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(Text)
    payload: Mapped[dict[str, Any]] = mapped_column(JsonDoc)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ConflictEntry(Base):
    """A version that lost to a concurrent one: kept for an operator to read."""

    __tablename__ = "conflicts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    record_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    kept_version: Mapped[str] = mapped_column(String(64))
    lost_version: Mapped[str] = mapped_column(String(64))
    lost_unit: Mapped[str] = mapped_column(Code)
    lost_deleted: Mapped[bool] = mapped_column(Boolean)
    lost_data: Mapped[dict[str, Any]] = mapped_column(JsonDoc)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class TombstoneHorizon(Base):
    """Per origin, the highest HLC of a tombstone this node collected (docs/decisions/0702).

    Raised in the transaction that deletes the tombstones: a version of `origin` at or below
    `hlc` for an id this node does not hold is stale (a restored child cannot resurrect a
    collected record), and the origin's standing (`issued`) is never reported below it.
    """

    __tablename__ = "tombstone_horizons"

    origin: Mapped[str] = mapped_column(Code, primary_key=True)
    hlc: Mapped[int] = mapped_column(BigInteger, default=0)
    collected: Mapped[int] = mapped_column(BigInteger, default=0)  # tombstones dropped so far
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
