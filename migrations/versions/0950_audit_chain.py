"""audit: the audit log as a hash chain; the parent's copy of each child's chain head (issue 13)

Existing entries are chained here, in id order, so a node upgraded mid-life verifies from its
first entry on.

Revision ID: 0950_audit_chain
Revises: 0701_enrolments_up
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from migrations.frozen.audit_chain_0950 import chain

revision: str = "0950_audit_chain"
down_revision: str | None = "0701_enrolments_up"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.add_column(sa.Column("prev_hash", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("hash", sa.String(length=64), nullable=True))
    op.create_table(
        "audit_heads",
        sa.Column("code", sa.String(length=15), nullable=False),
        sa.Column("last_id", sa.BigInteger(), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_audit_heads")),
    )
    chain(op.get_bind())


def downgrade() -> None:
    op.drop_table("audit_heads")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_column("hash")
        batch_op.drop_column("prev_hash")
