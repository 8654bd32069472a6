"""views: roll-up tables (per-unit dimensions, grids, patrol visits, freshness)

Revision ID: 0201
Revises: 0001

Creates the tables and fills them from the records already held, so a node upgraded with data
shows right figures at once.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from migrations.frozen.rollups_0201 import backfill_freshness, rebuild

revision: str = "0201"
down_revision: str | None = "0101"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "view_rollup",
        sa.Column("unit", sa.String(length=15), nullable=False),
        sa.Column("dim", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("parent", sa.String(length=15), nullable=False),
        sa.Column("n", sa.BigInteger(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("unit", "dim", "kind", "key", name=op.f("pk_view_rollup")),
    )
    op.create_index(
        "ix_view_rollup_parent_dim_kind", "view_rollup", ["parent", "dim", "kind"], unique=False
    )
    op.create_table(
        "view_grids",
        sa.Column("code", sa.String(length=15), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("n", sa.BigInteger(), nullable=False),
        sa.Column("last_basic_ms", sa.BigInteger(), nullable=True),
        sa.Column("last_screening_ms", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_view_grids")),
    )
    op.create_table(
        "view_patrol_visits",
        sa.Column("grid", sa.String(length=15), nullable=False),
        sa.Column("patrol_type", sa.String(length=16), nullable=False),
        sa.Column("visited_ms", sa.BigInteger(), nullable=False),
        sa.Column("n", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            "grid", "patrol_type", "visited_ms", name=op.f("pk_view_patrol_visits")
        ),
    )
    op.create_table(
        "view_freshness",
        sa.Column("unit", sa.String(length=15), nullable=False),
        sa.Column("last_received_ms", sa.BigInteger(), nullable=False),
        sa.Column("updated_seq", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("unit", name=op.f("pk_view_freshness")),
    )
    op.create_index(
        op.f("ix_view_freshness_updated_seq"), "view_freshness", ["updated_seq"], unique=False
    )
    # Data migration: roll up what the node already holds (nothing on a new node), and take the
    # children's last pushes from child_sync. Frozen code: never an import of the live node.
    rebuild(op.get_bind())
    backfill_freshness(op.get_bind())


def downgrade() -> None:
    op.drop_index(op.f("ix_view_freshness_updated_seq"), table_name="view_freshness")
    op.drop_table("view_freshness")
    op.drop_table("view_patrol_visits")
    op.drop_table("view_grids")
    op.drop_index("ix_view_rollup_parent_dim_kind", table_name="view_rollup")
    op.drop_table("view_rollup")
