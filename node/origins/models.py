"""ORM tables of origin seals (migrations/versions/1601_origin_seals.py; docs/decisions/0951)."""

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, DateTime, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from node.models import Base, Code


class RelayedSeal(Base):
    """At a relay: a descendant's seal as one push brought it, to forward with its records.

    `local_from`..`local_to` are this node's log positions of the push that stored them, so
    an outgoing batch finds the seals of the records it carries by position; `members` are the
    ids (16 bytes each) of the records that push carried under the seal, `leaves` their leaf
    hashes at each level of `levels` (the levels above this node, 32 bytes each, level after
    level) and `extra` the leaves of the batch's other records as forwarded (JSON)."""

    __tablename__ = "relayed_seals"
    __table_args__ = (Index("ix_relayed_seals_origin_until", "origin", "until"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    origin: Mapped[str] = mapped_column(Code)
    since: Mapped[int] = mapped_column(BigInteger)
    until: Mapped[int] = mapped_column(BigInteger)
    via: Mapped[str] = mapped_column(Code)
    roots: Mapped[str] = mapped_column(Text)  # JSON: level → hex
    signature: Mapped[str] = mapped_column(String(200))
    local_from: Mapped[int] = mapped_column(BigInteger)
    local_to: Mapped[int] = mapped_column(BigInteger, index=True)
    levels: Mapped[str] = mapped_column(String(64))
    members: Mapped[bytes] = mapped_column(LargeBinary)
    leaves: Mapped[bytes] = mapped_column(LargeBinary)
    extra: Mapped[str] = mapped_column(Text)  # JSON: level → [hex]
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ChildSeals(Base):
    """Per child: whether its pushes carry seals, and what was refused for one."""

    __tablename__ = "child_seals"

    code: Mapped[str] = mapped_column(Code, primary_key=True)
    sends: Mapped[bool] = mapped_column(Boolean)
    refused: Mapped[int] = mapped_column(BigInteger)
    last_refused: Mapped[str | None] = mapped_column(Text, nullable=True)
    unchecked: Mapped[int] = mapped_column(BigInteger)  # records taken without a seal check
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class SealingOrigin(Base):
    """An origin whose seal this node verified: its records of versions above `since` (the
    lowest batch start verified) never pass unsealed again."""

    __tablename__ = "sealing_origins"

    code: Mapped[str] = mapped_column(Code, primary_key=True)
    since: Mapped[int] = mapped_column(BigInteger)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
