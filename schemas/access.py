"""Operator access on the wire: sign-in, who am I, users (README "Operator access")."""

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

UserName = Annotated[
    str,
    StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.@-]*$"),
]


class _Inbound(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LoginIn(_Inbound):
    """Body of `POST /api/v1/auth/login` (JSON only: a cross-site form cannot send it)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"name": "zhuoma", "password": "…", "totp": "123456"}]},
    )

    name: str = Field(max_length=64, description="User name")
    password: str = Field(max_length=1024, description="Password")
    totp: str | None = Field(
        default=None, max_length=16, description="Current TOTP code (required for admin, security)"
    )


class Me(BaseModel):
    """Who the request's credential belongs to."""

    name: str
    role: str
    rights: list[str] = Field(description="What this role may do (README's role table)")
    units: list[str] = Field(description="Subtrees the user is confined to; empty: all")
    node: str = Field(description="This node's unit code")
    via: str = Field(description="`token` (Authorization header) or `session` (cookie)")


class SessionOut(Me):
    """A signed-in dashboard session: the cookie is set; echo `csrf_token` in X-CSRF-Token."""

    csrf_token: str = Field(description="Also in the tiersync_csrf cookie")
    expires_at: datetime


class UserRead(BaseModel):
    name: str
    role: str
    units: list[str]
    enabled: bool
    password: bool = Field(description="Whether a password is set (dashboard login)")
    totp: bool = Field(description="Whether a TOTP second factor is confirmed")
    locked_until: datetime | None
    api_tokens: int = Field(description="Live API tokens")
    created_at: datetime


class UserAdded(BaseModel):
    user: UserRead
    token: str = Field(description="The API token, shown once")
    expires_at: datetime


class RevealIn(_Inbound):
    """Why the personal data of one record is needed in clear (kept in the audit log)."""

    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=5)] = Field(
        max_length=500, description="Why this record is needed in clear (at least 5 characters)"
    )
