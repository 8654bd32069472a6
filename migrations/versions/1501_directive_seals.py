"""directives: the issuer's signature and key certificate of each directive version held, and
the last refusal of the downward pull (docs/decisions/0951, issue 13)

Revision ID: 1501_directive_seals
Revises: 1301_descendant_keys
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "1501_directive_seals"
down_revision: str | None = "1301_descendant_keys"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("directive_entries") as batch:
        batch.add_column(sa.Column("signature", sa.Text(), nullable=True))
        batch.add_column(sa.Column("certificate", sa.Text(), nullable=True))
    with op.batch_alter_table("directive_pull") as batch:
        batch.add_column(sa.Column("last_refused", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("directive_pull") as batch:
        batch.drop_column("last_refused")
    with op.batch_alter_table("directive_entries") as batch:
        batch.drop_column("certificate")
        batch.drop_column("signature")
