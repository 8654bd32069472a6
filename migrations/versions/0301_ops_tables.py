"""operator tools: digest tree, child digest reports, bundles

Revision ID: 0301
Revises: 0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from migrations.frozen.digests_0301 import backfill

revision: str = "0301"
down_revision: str | None = "0201"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "ops_digests",
        sa.Column("origin", sa.String(length=15), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("bucket", sa.Integer(), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.Column("total", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("origin", "kind", "bucket", name=op.f("pk_ops_digests")),
    )
    op.create_table(
        "ops_child_reports",
        sa.Column("code", sa.String(length=15), nullable=False),
        sa.Column("head", sa.BigInteger(), nullable=False),
        sa.Column("until", sa.BigInteger(), nullable=False),
        sa.Column("pushed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reported_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("child_digest", _JSON, nullable=True),
        sa.Column("own_digest", _JSON, nullable=True),
        sa.Column("matches", sa.Boolean(), nullable=True),
        sa.Column("verify_requested", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_ops_child_reports")),
    )
    op.create_table(
        "ops_bundles",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("direction", sa.String(length=8), nullable=False),
        sa.Column("action", sa.String(length=8), nullable=False),
        sa.Column("peer", sa.String(length=15), nullable=False),
        sa.Column("since", sa.BigInteger(), nullable=False),
        sa.Column("until", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("records", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("acked", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ops_bundles")),
    )
    with op.batch_alter_table("ops_bundles", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ops_bundles_sha256"), ["sha256"], unique=False)
    # Existing records get their digest rows: a node upgraded in place verifies at once.
    # Frozen code: never an import of the live node.
    backfill(op.get_bind())


def downgrade() -> None:
    with op.batch_alter_table("ops_bundles", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ops_bundles_sha256"))
    op.drop_table("ops_bundles")
    op.drop_table("ops_child_reports")
    op.drop_table("ops_digests")
