"""trust: every descendant's signing key as this node knows it, with the CA's certificate of it
(docs/decisions/0951, issue 13)

Revision ID: 1301_descendant_keys
Revises: 1401_reveals
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "1301_descendant_keys"
down_revision: str | None = "1401_reveals"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "descendant_keys",
        sa.Column("code", sa.String(length=15), primary_key=True),
        sa.Column("via", sa.String(length=15), nullable=False, index=True),
        sa.Column("public_key", sa.String(length=200), nullable=False),
        sa.Column("suite", sa.String(length=16), nullable=False),
        sa.Column("certificate", sa.Text(), nullable=True),
        sa.Column("certified", sa.Boolean(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False, index=True),
    )


def downgrade() -> None:
    op.drop_table("descendant_keys")
