"""tombstone horizons; digests leave tombstones out (issue 10, rule "Tombstone collection")

Revision ID: 1101_tombstone_horizons
Revises: 0901_node_keys

The digest rows stop counting tombstones (docs/decisions/0702): a tombstone held on one side
and collected on the other is no difference. The rows of the tombstones held are subtracted
here with the hash of node/digests/tree.py (inlined: a migration must not change with the code).
"""

import hashlib
import uuid
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "1101_tombstone_horizons"
down_revision: str | None = "0901_node_keys"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MOD = 1 << 40


def _hash(raw: bytes, hlc: int, origin: str) -> int:
    digest = hashlib.blake2b(raw + hlc.to_bytes(8, "big") + origin.encode(), digest_size=5)
    return int.from_bytes(digest.digest(), "big")


def _tombstone_deltas(sign: int) -> None:
    conn = op.get_bind()
    deltas: dict[tuple[str, str, int], list[int]] = {}
    rows = conn.execute(
        sa.text("SELECT id, kind, hlc, origin FROM records WHERE deleted = :t"), {"t": True}
    )
    for rid, kind, hlc, origin in rows:
        raw = rid.bytes if isinstance(rid, uuid.UUID) else bytes.fromhex(str(rid).replace("-", ""))
        cell = deltas.setdefault((origin, kind, (raw[0] << 4) | (raw[1] >> 4)), [0, 0])
        cell[0] += sign
        cell[1] += sign * _hash(raw, int(hlc), origin)
    for (origin, kind, bucket), (count, total) in deltas.items():
        key = {"o": origin, "k": kind, "b": bucket}
        held = conn.execute(
            sa.text(
                "SELECT count, total FROM ops_digests WHERE origin = :o AND kind = :k "
                "AND bucket = :b"
            ),
            key,
        ).first()
        new_count = (int(held[0]) if held else 0) + count
        new_total = ((int(held[1]) if held else 0) + total) % MOD
        if new_count == 0:  # only tombstones there: the live hook never makes such a row
            conn.execute(
                sa.text("DELETE FROM ops_digests WHERE origin = :o AND kind = :k AND bucket = :b"),
                key,
            )
        elif held is None:
            conn.execute(
                sa.text(
                    "INSERT INTO ops_digests (origin, kind, bucket, count, total) "
                    "VALUES (:o, :k, :b, :c, :t)"
                ),
                {**key, "c": new_count, "t": new_total},
            )
        else:
            conn.execute(
                sa.text(
                    "UPDATE ops_digests SET count = :c, total = :t WHERE origin = :o "
                    "AND kind = :k AND bucket = :b"
                ),
                {**key, "c": new_count, "t": new_total},
            )


def upgrade() -> None:
    op.create_table(
        "tombstone_horizons",
        sa.Column("origin", sa.String(length=15), nullable=False),
        sa.Column("hlc", sa.BigInteger(), nullable=False),
        sa.Column("collected", sa.BigInteger(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("origin", name=op.f("pk_tombstone_horizons")),
    )
    _tombstone_deltas(-1)


def downgrade() -> None:
    _tombstone_deltas(+1)
    op.drop_table("tombstone_horizons")
