"""Managing users: add, role, enable/disable, password, token rotation, unlock, TOTP. Each
change and its audit entry commit in one transaction; `actor` is who makes it (`os:USER` for
the CLI, `user:NAME` over the API)."""

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Row

from node.access import passwords, repository, tokens
from node.access.rights import CONFINED_ROLES, Role
from node.audit import service as audit
from node.db import Database, WriteTxn, as_utc
from node.errors import Conflict, FieldError, Invalid, NotFound
from schemas.access import UserAdded, UserRead
from schemas.codes import check_code, is_within


def _role(value: str) -> Role:
    try:
        return Role(value)
    except ValueError:
        choices = ", ".join(r.value for r in Role)
        raise Invalid(
            f"unknown role {value!r}", [FieldError("role", f"one of {choices}")]
        ) from None


def _units(node: str, role: Role, units: list[str]) -> list[str]:
    checked: list[str] = []
    for i, unit in enumerate(units):
        try:
            code = check_code(unit)
        except ValueError as exc:
            raise Invalid(f"invalid unit {unit!r}", [FieldError(f"units.{i}", str(exc))]) from None
        if not is_within(code, node):
            raise Invalid(
                f"unit {code} is not in this node's subtree ({node})",
                [FieldError(f"units.{i}", f"not in the subtree of {node}")],
            )
        checked.append(code)
    if role in CONFINED_ROLES and not checked:
        raise Invalid(
            f"a {role} user needs the units it works in",
            [FieldError("units", "give at least one --unit (e.g. its grids)")],
        )
    return sorted(set(checked))


def _user(conn: Connection, name: str) -> Row[Any]:
    row = repository.get_user(conn, name)
    if row is None:
        raise NotFound(f"no user {name!r}", [FieldError("name", "no such user")])
    return row


def to_read(row: Row[Any], api_tokens: int = 0) -> UserRead:
    return UserRead(
        name=row.name,
        role=row.role,
        units=list(row.units or []),
        enabled=row.enabled,
        password=row.password_hash is not None,
        totp=row.totp_secret is not None,
        locked_until=as_utc(row.locked_until),
        api_tokens=api_tokens,
        created_at=as_utc(row.created_at),
    )


def issue_token(
    txn: WriteTxn, *, node: str, user_id: int, kind: str, ttl: timedelta, csrf: str | None = None
) -> tuple[str, datetime]:
    """A new token of `kind` for the user: the token (shown once) and when it expires."""
    token_id = tokens.new_id()
    token = tokens.make(node, token_id)
    expires = txn.now + ttl
    repository.add_token(
        txn.conn,
        id=token_id,
        user_id=user_id,
        kind=kind,
        token_hash=tokens.digest(token),
        csrf_hash=tokens.digest(csrf) if csrf else None,
        created_at=txn.now,
        expires_at=expires,
    )
    return token, expires


def add_user(
    db: Database,
    *,
    node: str,
    name: str,
    role: str,
    units: list[str],
    actor: str,
    token_ttl: timedelta,
    password: str | None = None,
) -> UserAdded:
    """Create a user and its first API token."""
    checked_role = _role(role)
    checked_units = _units(node, checked_role, units)
    password_hash = passwords.hash_password(password) if password is not None else None
    with db.write(notify=False) as txn:
        if repository.get_user(txn.conn, name) is not None:
            raise Conflict(f"user {name!r} exists", [FieldError("name", "already taken")])
        user_id = repository.add_user(
            txn.conn,
            name=name,
            role=checked_role.value,
            units=checked_units,
            password_hash=password_hash,
            enabled=True,
            failed_logins=0,
            created_at=txn.now,
            updated_at=txn.now,
        )
        token, expires = issue_token(txn, node=node, user_id=user_id, kind="api", ttl=token_ttl)
        scope = f" in {', '.join(checked_units)}" if checked_units else ""
        audit.in_txn(txn, actor=actor, action="user.add", detail=f"{name} as {role}{scope}")
        row = _user(txn.conn, name)
    return UserAdded(user=to_read(row, 1), token=token, expires_at=expires)


def list_users(db: Database, *, now: datetime) -> list[UserRead]:
    with db.read() as conn:
        counts = repository.live_token_counts(conn, now=now)
        return [to_read(r, counts.get(r.id, 0)) for r in repository.list_users(conn)]


def set_role(
    db: Database, *, node: str, name: str, role: str, units: list[str], actor: str
) -> UserRead:
    checked_role = _role(role)
    checked_units = _units(node, checked_role, units)
    with db.write(notify=False) as txn:
        row = _user(txn.conn, name)
        repository.update_user(
            txn.conn, row.id, role=checked_role.value, units=checked_units, updated_at=txn.now
        )
        scope = f" in {', '.join(checked_units)}" if checked_units else ""
        detail = f"{name}: {row.role} → {role}{scope}"
        audit.in_txn(txn, actor=actor, action="user.role", detail=detail)
        return to_read(_user(txn.conn, name))


def set_enabled(db: Database, *, name: str, enabled: bool, actor: str) -> UserRead:
    """Disabling also revokes every token and session of the user."""
    with db.write(notify=False) as txn:
        row = _user(txn.conn, name)
        repository.update_user(txn.conn, row.id, enabled=enabled, updated_at=txn.now)
        revoked = [] if enabled else repository.revoke_tokens(txn.conn, row.id, at=txn.now)
        action = "user.enable" if enabled else "user.disable"
        detail = name + (f" ({len(revoked)} token(s) revoked)" if revoked else "")
        audit.in_txn(txn, actor=actor, action=action, detail=detail)
        return to_read(_user(txn.conn, name))


def set_password(db: Database, *, name: str, password: str, actor: str) -> None:
    """A new password ends the user's dashboard sessions."""
    password_hash = passwords.hash_password(password)
    with db.write(notify=False) as txn:
        row = _user(txn.conn, name)
        repository.update_user(txn.conn, row.id, password_hash=password_hash, updated_at=txn.now)
        repository.revoke_tokens(txn.conn, row.id, at=txn.now, kind="session")
        audit.in_txn(txn, actor=actor, action="user.passwd", detail=name)


def rotate_token(
    db: Database, *, node: str, name: str, actor: str, token_ttl: timedelta
) -> tuple[str, datetime]:
    """Revoke the user's API tokens and issue a new one."""
    with db.write(notify=False) as txn:
        row = _user(txn.conn, name)
        revoked = repository.revoke_tokens(txn.conn, row.id, at=txn.now, kind="api")
        token, expires = issue_token(txn, node=node, user_id=row.id, kind="api", ttl=token_ttl)
        detail = f"{name}: new token, {len(revoked)} revoked"
        audit.in_txn(txn, actor=actor, action="user.token", detail=detail)
    return token, expires


def unlock(db: Database, *, name: str, actor: str) -> UserRead:
    with db.write(notify=False) as txn:
        row = _user(txn.conn, name)
        repository.update_user(
            txn.conn, row.id, failed_logins=0, locked_until=None, updated_at=txn.now
        )
        audit.in_txn(txn, actor=actor, action="user.unlock", detail=name)
        return to_read(_user(txn.conn, name))


def enrol_totp(db: Database, *, node: str, name: str, actor: str) -> str:
    """A new TOTP secret, pending until confirmed with a code from it: its otpauth:// URI."""
    secret = passwords.new_totp_secret()
    with db.write(notify=False) as txn:
        row = _user(txn.conn, name)
        repository.update_user(txn.conn, row.id, totp_pending=secret, updated_at=txn.now)
        audit.in_txn(txn, actor=actor, action="user.totp", outcome="pending", detail=name)
    return passwords.totp_uri(secret, user=name, node=node)


def confirm_totp(db: Database, *, name: str, code: str, actor: str) -> None:
    """The pending secret becomes the user's second factor once a code from it checks."""
    with db.write(notify=False) as txn:
        row = _user(txn.conn, name)
        if row.totp_pending is None:
            raise Conflict(
                f"no TOTP enrolment pending for {name}",
                [FieldError("name", "run `tiersync user totp NAME` first")],
            )
        ok = passwords.verify_totp(row.totp_pending, code)
        if ok:
            repository.update_user(
                txn.conn,
                row.id,
                totp_secret=row.totp_pending,
                totp_pending=None,
                updated_at=txn.now,
            )
        outcome = "ok" if ok else "failed"
        audit.in_txn(txn, actor=actor, action="user.totp", outcome=outcome, detail=name)
    if not ok:
        raise Invalid("wrong TOTP code", [FieldError("code", "does not match the new secret")])
