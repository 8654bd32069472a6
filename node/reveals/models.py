"""ORM table of reveal requests (migrations/versions/1401_reveals.py; docs/decisions/1001)."""

import uuid
from datetime import datetime

from sqlalchemy import DateTime, LargeBinary, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from node.models import Base, Code


class RevealRequest(Base):
    """At the requester: one request to see a record of the subtree in full, by the id of the
    directive that carries it down. `private_key` (sealed with the node's data key) is the only
    way to read the answer that comes back; deleting it when the hold ends purges the answer
    from every tier at once (federation/privacy/reveal_box.py)."""

    __tablename__ = "reveal_requests"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    record_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    owner: Mapped[str] = mapped_column(Code)
    reason: Mapped[str] = mapped_column(Text)
    requested_by: Mapped[str] = mapped_column(String(64))
    requested_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    status: Mapped[str] = mapped_column(String(16), index=True)
    private_key: Mapped[bytes | None] = mapped_column(LargeBinary)
    answered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    note: Mapped[str | None] = mapped_column(Text)
