"""The unit registry (every unit of this subtree) and enrolment of child nodes."""

import hashlib
import hmac
import secrets

from node.db import Database, WriteTxn
from node.errors import FieldError, Forbidden, Invalid, Unauthorized
from node.units import repository
from schemas.codes import NODE_LEVELS, is_within, level_of, parent_of
from schemas.units import ChildEnrolled, UnitRead

TOKEN_PREFIX = "tsk"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def register_unit(txn: WriteTxn, *, code: str, name: str) -> UnitRead:
    """Add or rename a unit in the registry; the change travels up with the records."""
    hlc = txn.tick()
    row = {
        "code": code,
        "name": name or code,
        "level": level_of(code).value,
        "parent": parent_of(code),
        "hlc": hlc,
        "seq": txn.tick(),
    }
    repository.upsert_unit(txn.conn, row)
    return UnitRead(code=code, name=row["name"], level=level_of(code), parent=row["parent"])


def ensure_own_unit(db: Database, *, code: str, name: str) -> None:
    """Register this node's own unit; rename it only when a real name is configured.

    Settings fall back to the code as the name, and that fallback must not overwrite (and
    replicate upwards) a name the unit already has.
    """
    with db.write() as txn:
        current = repository.get_unit(txn.conn, code)
        renamed = name and name != code and (current is None or current.name != name)
        if current is None or renamed:
            register_unit(txn, code=code, name=name)


def enrol_child(db: Database, *, node_code: str, code: str, name: str) -> ChildEnrolled:
    """Register a direct child unit that runs its own node and issue its credential.

    Enrolling again issues a fresh credential and revokes the old one.
    """
    if not is_within(code, node_code) or code == node_code:
        raise Forbidden(
            f"unit {code} is not below this node ({node_code})",
            [FieldError("code", f"not in the subtree of {node_code}")],
        )
    if parent_of(code) != node_code or level_of(code) not in NODE_LEVELS:
        raise Invalid(
            f"unit {code} is not a direct child node of {node_code}",
            [FieldError("code", f"expected a {len(node_code)}+digit child code of {node_code}")],
        )
    token = f"{TOKEN_PREFIX}_{code}_{secrets.token_urlsafe(32)}"
    with db.write() as txn:
        current = repository.get_unit(txn.conn, code)
        if current is not None and not name:
            name = current.name  # re-enrolling without a name keeps the unit's name
        unit = register_unit(txn, code=code, name=name)
        repository.put_credential(
            txn.conn, code=code, token_hash=hash_token(token), at=txn.now, seq=txn.tick()
        )
    return ChildEnrolled(unit=unit, token=token)


def authenticate_child(db: Database, token: str | None) -> str:
    """The child code a bearer token belongs to; Unauthorized when unknown, wrong or revoked."""
    if not token or not token.startswith(TOKEN_PREFIX + "_"):
        raise Unauthorized("missing or malformed credential")
    code = token.split("_", 2)[1]
    with db.read() as conn:
        row = repository.get_credential(conn, code)
    if row is None or row.revoked or not hmac.compare_digest(row.token_hash, hash_token(token)):
        raise Unauthorized("unknown, wrong or revoked credential")
    return code
