"""digests: one total row per (origin, kind), bucket -1, beside its 4,096 buckets (a subtree's
root digest read from a few rows instead of summing every bucket: on every push that reaches
the child's head, at both ends; docs/benchmarks.md)

Revision ID: 1701_digest_totals
Revises: 1602_upstream_opened_hlc
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "1701_digest_totals"
down_revision: str | None = "1602_upstream_opened_hlc"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MOD = 1 << 40
TOTAL = -1


def upgrade() -> None:
    # Partial: only the total rows, so the bucket rows' upserts (a thousand a push) pay nothing.
    op.create_index(
        "ix_ops_digests_totals",
        "ops_digests",
        ["origin", "kind"],
        sqlite_where=sa.text("bucket = -1"),
        postgresql_where=sa.text("bucket = -1"),
    )
    op.execute(
        sa.text(
            "INSERT INTO ops_digests (origin, kind, bucket, count, total) "
            "SELECT origin, kind, :total, SUM(count), SUM(total) % :mod FROM ops_digests "
            "WHERE bucket >= 0 GROUP BY origin, kind"
        ).bindparams(total=TOTAL, mod=MOD)
    )


def downgrade() -> None:
    op.execute(sa.text("DELETE FROM ops_digests WHERE bucket = :total").bindparams(total=TOTAL))
    op.drop_index("ix_ops_digests_totals", table_name="ops_digests")
