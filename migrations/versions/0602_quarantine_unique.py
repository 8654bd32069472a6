"""sync: one quarantine entry per (child, record id, version), resends no longer duplicate it

Revision ID: 0602_quarantine_unique
Revises: 0801_operator_access

Duplicates kept so far (one per resend) are reduced to the oldest entry of each key first.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0602_quarantine_unique"
down_revision: str | None = "0801_operator_access"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        "DELETE FROM quarantine WHERE id NOT IN ("
        "SELECT MIN(id) FROM quarantine GROUP BY child, record_id, version)"
    )
    with op.batch_alter_table("quarantine") as batch:
        batch.create_unique_constraint(
            "uq_quarantine_child_record_id_version", ["child", "record_id", "version"]
        )


def downgrade() -> None:
    with op.batch_alter_table("quarantine") as batch:
        batch.drop_constraint("uq_quarantine_child_record_id_version", type_="unique")
