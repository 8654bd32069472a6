"""ORM tables of the directives domain (migration branch "directives", revision 0101).

The directive and receipt records themselves live in `records` like every other kind; these
tables only index the directives a node issued or pulled from above, and hold its pull cursor.
"""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, DateTime, Integer, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from node.models import Base, Code, JsonDoc


class DirectiveEntry(Base):
    """A directive this node issued or received from an ancestor: what it serves down.

    `seq` is the log position (records.seq) of the version held, so "what changed for my
    children since cursor N" is a range scan on a table that holds only directives. Directives
    issued below this node reach it by the push like any record and are not listed here.
    """

    __tablename__ = "directive_entries"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, index=True)
    issuer: Mapped[str] = mapped_column(Code, index=True)
    directive_kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(String(200))
    deadline: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    for_me: Mapped[bool] = mapped_column(Boolean, index=True)
    requested: Mapped[dict[str, Any] | None] = mapped_column(JsonDoc)
    # The issuer's signature over the version held and its key certificate (JSON), as the
    # feed brought them (docs/decisions/0951); None where the issuer is this node (it signs
    # as it serves) or the parent sent none (no CA in the deployment).
    signature: Mapped[str | None] = mapped_column(Text)
    certificate: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class DirectivePull(Base):
    """At a child: one row, how far it holds its parent's directives, and the last failure."""

    __tablename__ = "directive_pull"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    cursor: Mapped[int] = mapped_column(BigInteger, default=0)
    last_pull_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    received: Mapped[int] = mapped_column(BigInteger, default=0)
    refused: Mapped[int] = mapped_column(BigInteger, default=0)
    last_refused: Mapped[str | None] = mapped_column(Text)
    last_error: Mapped[str | None] = mapped_column(Text)
    last_error_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
