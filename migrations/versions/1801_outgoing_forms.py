"""sync: outgoing_forms, a child's record versions as they will leave for the parent, worked
out when written (the projection for the parent and the origin seal's leaves), kept until acked
(docs/decisions/1801-outgoing-forms-at-write.md)

Revision ID: 1801_outgoing_forms
Revises: 1701_digest_totals
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "1801_outgoing_forms"
down_revision: str | None = "1701_digest_totals"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "outgoing_forms",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("hlc", sa.BigInteger(), nullable=False),
        sa.Column("origin", sa.String(length=15), nullable=False),
        sa.Column("fingerprint", sa.String(length=16), nullable=False),
        sa.Column("upto", sa.BigInteger(), nullable=False),
        sa.Column("form", sa.Text(), nullable=True),
        sa.Column("leaves", sa.LargeBinary(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outgoing_forms")),
    )
    op.create_index(op.f("ix_outgoing_forms_upto"), "outgoing_forms", ["upto"])


def downgrade() -> None:
    op.drop_index(op.f("ix_outgoing_forms_upto"), table_name="outgoing_forms")
    op.drop_table("outgoing_forms")
