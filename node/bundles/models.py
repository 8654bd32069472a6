"""ORM table of the offline bundles written and read here.

Created by migrations/versions/0301_ops_tables.py (the table name keeps its `ops_` prefix).
"""

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, DateTime, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from node.models import Base, Code


class BundleEntry(Base):
    """A bundle written or read here: exports wait for a receipt, imports are remembered."""

    __tablename__ = "ops_bundles"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    direction: Mapped[str] = mapped_column(String(8))  # "up" or "down"
    action: Mapped[str] = mapped_column(String(8))  # "export" or "import"
    peer: Mapped[str] = mapped_column(Code)
    since: Mapped[int] = mapped_column(BigInteger, default=0)
    until: Mapped[int] = mapped_column(BigInteger, default=0)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    records: Mapped[int] = mapped_column(Integer, default=0)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    acked: Mapped[bool] = mapped_column(Boolean, default=False)
