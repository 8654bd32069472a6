"""ORM table of privacy (migrations/versions/1001_privacy.py)."""

from sqlalchemy import BigInteger, Integer, LargeBinary, Text
from sqlalchemy.orm import Mapped, mapped_column

from node.models import Base


class PrivacyState(Base):
    """One row: a known text sealed with the node's data key, so a wrong key is told at start
    instead of writing records no one can open."""

    __tablename__ = "privacy_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    data_key_check: Mapped[bytes] = mapped_column(LargeBinary)
    sealed_through: Mapped[int | None] = mapped_column(BigInteger)
    """Log position up to which rows written before sealing have been sealed (None: not yet
    scanned): the start-up step that seals them resumes from here."""
    projected_with: Mapped[str | None] = mapped_column(Text)
    """The fingerprint of each kind's projection for the parent's level (JSON, kind → hex) this
    node last sent with: a start under another policy re-sends the kinds that changed."""
