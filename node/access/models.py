"""ORM tables of operator access. Created by migrations/versions/0801_operator_access.py."""

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, DateTime, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from node.models import Base, JsonDoc


class User(Base):
    """A local operator account. Never deleted (the audit log names it): disabled instead."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    units: Mapped[list[Any]] = mapped_column(JsonDoc)  # confined to these subtrees; [] = all
    password_hash: Mapped[str | None] = mapped_column(String(255))  # argon2id; None: no login
    totp_secret: Mapped[str | None] = mapped_column(String(64))  # confirmed second factor
    totp_pending: Mapped[str | None] = mapped_column(String(64))  # enrolled, not yet confirmed
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class UserToken(Base):
    """An API token (`api`) or a dashboard session (`session`): only hashes are kept."""

    __tablename__ = "user_tokens"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)  # the token's public id
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    kind: Mapped[str] = mapped_column(String(8))
    token_hash: Mapped[str] = mapped_column(String(64))  # SHA-256 of the whole token
    csrf_hash: Mapped[str | None] = mapped_column(String(64))  # sessions: their CSRF token
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
