"""ORM tables of the digests: the digest tree and children's digest reports.

Created by migrations/versions/0301_ops_tables.py (the table names keep its `ops_` prefix).
"""

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, DateTime, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from node.models import Base, Code, JsonDoc


class DigestBucket(Base):
    """Sum (mod 2**40) and count of the 40-bit hashes of (id, version) of every record whose
    origin is `origin`, of kind `kind`, whose id starts with byte `bucket`.

    Kept in the transaction that stores each version (node/digests/tree.py), so a subtree's
    digest is a range-summed read, never a scan of the records.
    """

    __tablename__ = "ops_digests"
    # The total rows (bucket -1, migration 1701), found without visiting the buckets.
    __table_args__ = (
        Index(
            "ix_ops_digests_totals",
            "origin",
            "kind",
            sqlite_where=text("bucket = -1"),
            postgresql_where=text("bucket = -1"),
        ),
    )

    origin: Mapped[str] = mapped_column(Code, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), primary_key=True)
    bucket: Mapped[int] = mapped_column(Integer, primary_key=True)
    count: Mapped[int] = mapped_column(BigInteger, default=0)
    total: Mapped[int] = mapped_column(BigInteger, default=0)


class ChildReport(Base):
    """At a parent: a child's last push as seen by the operator tools, and its digest report."""

    __tablename__ = "ops_child_reports"

    code: Mapped[str] = mapped_column(Code, primary_key=True)
    head: Mapped[int] = mapped_column(BigInteger, default=0)
    until: Mapped[int] = mapped_column(BigInteger, default=0)
    pushed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    reported_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    child_digest: Mapped[dict[str, Any] | None] = mapped_column(JsonDoc, nullable=True)
    own_digest: Mapped[dict[str, Any] | None] = mapped_column(JsonDoc, nullable=True)
    matches: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    verify_requested: Mapped[bool] = mapped_column(Boolean, default=False)
