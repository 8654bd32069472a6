"""ORM tables of the views: roll-ups kept in the transaction that stores each record version.

Migration branch "views" (migrations/versions/0201_view_rollups.py); the design is argued in
docs/decisions/0201-view-rollups.md.
"""

from sqlalchemy import BigInteger, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from node.models import Base, Code


class Rollup(Base):
    """Live records of `kind` with feature `dim` = `key` in the subtree of `unit`.

    A record is counted at its own unit *and at every ancestor down from this node's level*, so
    a subtree's figures are one primary-key read and its children's one index read on `parent`,
    whatever the size of the subtree. `amount` sums the kind's measure (see node/views/features).
    """

    __tablename__ = "view_rollup"

    unit: Mapped[str] = mapped_column(Code, primary_key=True)
    dim: Mapped[str] = mapped_column(String(32), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), primary_key=True)
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    parent: Mapped[str] = mapped_column(Code, default="")
    n: Mapped[int] = mapped_column(BigInteger, default=0)
    amount: Mapped[int] = mapped_column(BigInteger, default=0)

    __table_args__ = (Index("ix_view_rollup_parent_dim_kind", "parent", "dim", "kind"),)


class GridEntry(Base):
    """The grids this node knows of (live `grid` records per grid code, normally 1) and the
    latest basic patrol and screening visit of each: patrol compliance is one read of this
    table, whatever the history of patrols."""

    __tablename__ = "view_grids"

    code: Mapped[str] = mapped_column(Code, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    n: Mapped[int] = mapped_column(BigInteger, default=0)
    last_basic_ms: Mapped[int | None] = mapped_column(BigInteger)
    last_screening_ms: Mapped[int | None] = mapped_column(BigInteger)


class PatrolVisit(Base):
    """Live patrol records per (grid, type, visit time): an invertible index of the visits, from
    which a grid's latest visit is found again when a patrol is deleted or changed."""

    __tablename__ = "view_patrol_visits"

    grid: Mapped[str] = mapped_column(Code, primary_key=True)
    patrol_type: Mapped[str] = mapped_column(String(16), primary_key=True)
    visited_ms: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    n: Mapped[int] = mapped_column(BigInteger, default=0)


class UnitFreshness(Base):
    """When the node at `unit` last pushed to its parent (ms on that parent's clock).

    Rows for direct children are written with each push they make; rows for deeper units arrive
    in the `freshness` field of pushes and are merged by max. `updated_seq` (this node's clock)
    lets the outbox send only what changed since the parent's cursor.
    """

    __tablename__ = "view_freshness"

    unit: Mapped[str] = mapped_column(Code, primary_key=True)
    last_received_ms: Mapped[int] = mapped_column(BigInteger)
    updated_seq: Mapped[int] = mapped_column(BigInteger, index=True)
