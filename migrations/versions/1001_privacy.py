"""privacy: records' ID hash index and the data key check (issue 14)

Revision ID: 1001_privacy
Revises: 0950_audit_chain
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "1001_privacy"
down_revision: str | None = "0950_audit_chain"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("records", sa.Column("id_hash", sa.String(length=34), nullable=True))
    op.create_index(op.f("ix_records_id_hash"), "records", ["id_hash"])
    op.create_table(
        "privacy_state",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("data_key_check", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_privacy_state")),
    )


def downgrade() -> None:
    op.drop_table("privacy_state")
    op.drop_index(op.f("ix_records_id_hash"), table_name="records")
    with op.batch_alter_table("records") as batch:
        batch.drop_column("id_hash")
