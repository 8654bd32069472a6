"""origins: the seals a relay forwards, each child's seal state, the origins known to seal
(docs/decisions/0951, issue 13)

Revision ID: 1601_origin_seals
Revises: 1501_directive_seals
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "1601_origin_seals"
down_revision: str | None = "1501_directive_seals"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "relayed_seals",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("origin", sa.String(length=15), nullable=False),
        sa.Column("since", sa.BigInteger(), nullable=False),
        sa.Column("until", sa.BigInteger(), nullable=False),
        sa.Column("via", sa.String(length=15), nullable=False),
        sa.Column("roots", sa.Text(), nullable=False),
        sa.Column("signature", sa.String(length=200), nullable=False),
        sa.Column("local_from", sa.BigInteger(), nullable=False),
        sa.Column("local_to", sa.BigInteger(), nullable=False, index=True),
        sa.Column("levels", sa.String(length=64), nullable=False),
        sa.Column("members", sa.LargeBinary(), nullable=False),
        sa.Column("leaves", sa.LargeBinary(), nullable=False),
        sa.Column("extra", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_relayed_seals_origin_until", "relayed_seals", ["origin", "until"])
    op.create_table(
        "child_seals",
        sa.Column("code", sa.String(length=15), primary_key=True),
        sa.Column("sends", sa.Boolean(), nullable=False),
        sa.Column("refused", sa.BigInteger(), nullable=False),
        sa.Column("last_refused", sa.Text(), nullable=True),
        sa.Column("unchecked", sa.BigInteger(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "sealing_origins",
        sa.Column("code", sa.String(length=15), primary_key=True),
        sa.Column("since", sa.BigInteger(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("sealing_origins")
    op.drop_table("child_seals")
    op.drop_index("ix_relayed_seals_origin_until", table_name="relayed_seals")
    op.drop_table("relayed_seals")
