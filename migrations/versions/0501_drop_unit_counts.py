"""records: drop unit_counts (written on every write, read by nothing: the views' roll-ups count)

Revision ID: 0501_drop_unit_counts
Revises: 0301

Downgrade recreates the table and fills it from the records, in SQL (nothing of the live code).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0501_drop_unit_counts"
down_revision: str | None = "0301"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_table("unit_counts")


def downgrade() -> None:
    op.create_table(
        "unit_counts",
        sa.Column("unit", sa.String(length=15), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("live", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("unit", "kind", name=op.f("pk_unit_counts")),
    )
    op.execute(
        "INSERT INTO unit_counts (unit, kind, live) "
        "SELECT unit, kind, COUNT(*) FROM records WHERE NOT deleted GROUP BY unit, kind"
    )
