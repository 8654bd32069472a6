"""units: child enrolments take a log position and travel up; parents keep their grandchildren's
(issue 10: a rebuilt middle node lets its children in again)

Revision ID: 0701_enrolments_up
Revises: 0602_quarantine_unique

Existing enrolments get one fresh position above everything the node issued (the clock is
moved past it), so the first push that passes it carries them up.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0701_enrolments_up"
down_revision: str | None = "0602_quarantine_unique"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_AT = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("child_credentials") as batch:
        batch.add_column(sa.Column("seq", sa.BigInteger(), nullable=True))
        batch.create_index(batch.f("ix_child_credentials_seq"), ["seq"], unique=False)
    op.execute("UPDATE node_state SET last_hlc = last_hlc + 1 WHERE id = 1")
    op.execute("UPDATE child_credentials SET seq = (SELECT last_hlc FROM node_state WHERE id = 1)")
    op.create_table(
        "held_enrolments",
        sa.Column("code", sa.String(length=15), nullable=False),
        sa.Column("via", sa.String(length=15), nullable=False),
        sa.Column("scheme", sa.String(length=32), nullable=False),
        sa.Column("credential", sa.String(length=512), nullable=False),
        sa.Column("created_at", _AT, nullable=False),
        sa.Column("revoked", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_held_enrolments")),
    )
    op.create_index(op.f("ix_held_enrolments_via"), "held_enrolments", ["via"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_held_enrolments_via"), table_name="held_enrolments")
    op.drop_table("held_enrolments")
    with op.batch_alter_table("child_credentials") as batch:
        batch.drop_index(batch.f("ix_child_credentials_seq"))
        batch.drop_column("seq")
