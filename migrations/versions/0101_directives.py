"""directives: the index of directives served down, and the pull cursor

Revision ID: 0101
Revises: 0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0101"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "directive_entries",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("issuer", sa.String(length=15), nullable=False),
        sa.Column("directive_kind", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("deadline", sa.DateTime(timezone=True), nullable=True),
        sa.Column("for_me", sa.Boolean(), nullable=False),
        sa.Column(
            "requested",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_directive_entries")),
    )
    with op.batch_alter_table("directive_entries", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_directive_entries_for_me"), ["for_me"], unique=False)
        batch_op.create_index(batch_op.f("ix_directive_entries_issuer"), ["issuer"], unique=False)
        batch_op.create_index(batch_op.f("ix_directive_entries_seq"), ["seq"], unique=False)

    op.create_table(
        "directive_pull",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("cursor", sa.BigInteger(), nullable=False),
        sa.Column("last_pull_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("received", sa.BigInteger(), nullable=False),
        sa.Column("refused", sa.BigInteger(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("last_error_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_directive_pull")),
    )


def downgrade() -> None:
    op.drop_table("directive_pull")
    with op.batch_alter_table("directive_entries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_directive_entries_seq"))
        batch_op.drop_index(batch_op.f("ix_directive_entries_issuer"))
        batch_op.drop_index(batch_op.f("ix_directive_entries_for_me"))
    op.drop_table("directive_entries")
