"""trust: a child's registered public key, its suite and when it was revoked (issue 13)

Revision ID: 0901_node_keys
Revises: 1001_privacy
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0901_node_keys"
down_revision: str | None = "1001_privacy"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_AT = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("child_credentials") as batch:
        batch.add_column(sa.Column("public_key", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("key_suite", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("key_registered_at", _AT, nullable=True))
        batch.add_column(sa.Column("revoked_at", _AT, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("child_credentials") as batch:
        for column in ("revoked_at", "key_registered_at", "key_suite", "public_key"):
            batch.drop_column(column)
