"""upstream: the HLC this node's database held when its process opened it, until the parent
next confirmed its standing (a restore's own unpushed writes are not re-issued; issue 10,
docs/decisions/0702)

Revision ID: 1602_upstream_opened_hlc
Revises: 1601_origin_seals
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "1602_upstream_opened_hlc"
down_revision: str | None = "1601_origin_seals"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("upstream") as batch:
        batch.add_column(sa.Column("opened_hlc", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("upstream") as batch:
        batch.drop_column("opened_hlc")
