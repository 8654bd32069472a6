"""privacy: reveal requests; how far old rows were sealed; the projection last sent (issue 14)

Revision ID: 1401_reveals
Revises: 1101_tombstone_horizons
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "1401_reveals"
down_revision: str | None = "1101_tombstone_horizons"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "reveal_requests",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("record_id", sa.Uuid(), nullable=False),
        sa.Column("owner", sa.String(length=15), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("requested_by", sa.String(length=64), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("private_key", sa.LargeBinary(), nullable=True),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reveal_requests")),
    )
    op.create_index(op.f("ix_reveal_requests_record_id"), "reveal_requests", ["record_id"])
    op.create_index(op.f("ix_reveal_requests_status"), "reveal_requests", ["status"])
    op.add_column("privacy_state", sa.Column("sealed_through", sa.BigInteger(), nullable=True))
    op.add_column("privacy_state", sa.Column("projected_with", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("privacy_state") as batch:
        batch.drop_column("projected_with")
        batch.drop_column("sealed_through")
    op.drop_index(op.f("ix_reveal_requests_status"), table_name="reveal_requests")
    op.drop_index(op.f("ix_reveal_requests_record_id"), table_name="reveal_requests")
    op.drop_table("reveal_requests")
