"""Who a token belongs to, and signing in and out of the dashboard.

Every refused token gets the same 401 message (no oracle telling a wrong secret from an
expired, revoked or foreign token). A login that fails is counted and audited in its own
committed transaction before the 401 is raised; after `login_max_failures` failures the
account is locked for `lockout_minutes`, and that lockout is audited too.
"""

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from node.access import passwords, repository, tokens
from node.access.rights import SECOND_FACTOR_ROLES, rights_of
from node.access.users import issue_token
from node.audit import service as audit
from node.db import Database, as_utc
from node.errors import FieldError, Unauthorized
from node.principal import Principal
from node.settings import Settings

REFUSED = "missing, malformed, unknown, expired or revoked token"
WRONG_LOGIN = "wrong user name or password"
TOUCH_EVERY = timedelta(minutes=1)  # last-used time is written at most this often


@dataclass(frozen=True)
class Verified:
    """A token that checked: whose it is, and what a cache needs to keep it."""

    principal: Principal
    token_id: str
    kind: str
    expires_at: datetime
    csrf_hash: str | None


@dataclass(frozen=True)
class Session:
    token: str
    csrf: str
    expires_at: datetime
    principal: Principal


def principal_of(name: str, role: str, units: list[str] | None) -> Principal:
    return Principal(
        actor=f"user:{name}", role=role, rights=rights_of(role), units=tuple(units or ())
    )


def verify_token(db: Database, *, node: str, token: str, kind: str, now: datetime) -> Verified:
    """The token's holder, or Unauthorized (one message for every reason)."""
    parsed = tokens.parse(token)
    if parsed is None or parsed.node != node:
        raise Unauthorized(REFUSED)
    with db.read() as conn:
        row = repository.token_with_user(conn, parsed.token_id)
    if (
        row is None
        or not tokens.same(row.token_hash, tokens.digest(token))
        or row.kind != kind
        or row.revoked_at is not None
        or as_utc(row.expires_at) <= now  # type: ignore[operator]
        or not row.enabled
    ):
        raise Unauthorized(REFUSED)
    last_used = as_utc(row.last_used_at)
    if last_used is None or now - last_used > TOUCH_EVERY:
        with db.write(notify=False) as txn:
            repository.touch_token(txn.conn, row.id, at=now)
    return Verified(
        principal=principal_of(row.name, row.role, row.units),
        token_id=row.id,
        kind=row.kind,
        expires_at=as_utc(row.expires_at),  # type: ignore[arg-type]
        csrf_hash=row.csrf_hash,
    )


def _refuse(db: Database, *, name: str, reason: str, settings: Settings | None = None) -> None:
    """Audit a refused login; with `settings`, count it as a failure and lock the account at
    the limit (audited too). Committed: the caller raises the 401 afterwards."""
    with db.write(notify=False) as txn:
        row = repository.get_user(txn.conn, name)
        actor = f"user:{name}" if row is not None else "anonymous"
        audit.in_txn(
            txn, actor=actor, action="auth.login", outcome="failed", detail=f"{name}: {reason}"
        )
        if row is None or settings is None:
            return
        failures = row.failed_logins + 1
        if failures >= settings.login_max_failures:
            until = txn.now + timedelta(minutes=settings.lockout_minutes)
            repository.update_user(txn.conn, row.id, failed_logins=0, locked_until=until)
            detail = f"{name}: {failures} failed logins, locked until {until.isoformat()}"
            audit.in_txn(txn, actor=actor, action="auth.lockout", outcome="locked", detail=detail)
        else:
            repository.update_user(txn.conn, row.id, failed_logins=failures)


def login(
    db: Database, *, settings: Settings, name: str, password: str, totp: str | None
) -> Session:
    """Check name, password and (where required or enrolled) the TOTP code; open a session."""
    with db.read() as conn:
        row = repository.get_user(conn, name)
    locked_until = as_utc(row.locked_until) if row is not None else None
    if locked_until is not None and locked_until > datetime.now(UTC):
        _refuse(db, name=name, reason="account locked")
        raise Unauthorized(
            f"too many failed logins: account locked until {locked_until.isoformat()}",
            [FieldError("name", "locked; wait, or ask a security administrator to unlock")],
        )
    # Verified also for an unknown name (against a dummy hash): the same time either way.
    good = passwords.verify_password(row.password_hash if row else None, password)
    if row is None or not good or not row.enabled:
        _refuse(db, name=name, reason="wrong password or unknown user", settings=settings)
        raise Unauthorized(WRONG_LOGIN)
    if row.totp_secret is None and row.role in SECOND_FACTOR_ROLES:
        _refuse(db, name=name, reason="no TOTP enrolled")
        raise Unauthorized(
            f"role {row.role} needs a TOTP second factor; enrol it: tiersync user totp {name}",
            [FieldError("totp", "not enrolled")],
        )
    if row.totp_secret is not None:
        if not totp:
            _refuse(db, name=name, reason="TOTP code missing")
            raise Unauthorized(
                "a TOTP code is required", [FieldError("totp", "required for this user")]
            )
        if not passwords.verify_totp(row.totp_secret, totp):
            _refuse(db, name=name, reason="wrong TOTP code", settings=settings)
            raise Unauthorized("wrong TOTP code", [FieldError("totp", "wrong or expired code")])
    csrf = secrets.token_urlsafe(32)
    ttl = timedelta(hours=settings.session_ttl_h)
    with db.write(notify=False) as txn:
        repository.update_user(txn.conn, row.id, failed_logins=0, locked_until=None)
        token, expires = issue_token(
            txn, node=settings.code, user_id=row.id, kind="session", ttl=ttl, csrf=csrf
        )
        audit.in_txn(txn, actor=f"user:{name}", action="auth.login", detail=f"{name}: session")
    return Session(token, csrf, expires, principal_of(row.name, row.role, row.units))


def logout(db: Database, *, token_id: str, actor: str) -> None:
    with db.write(notify=False) as txn:
        repository.revoke_token(txn.conn, token_id, at=txn.now)
        audit.in_txn(txn, actor=actor, action="auth.logout", detail=f"session {token_id}")
