"""At a parent: who a child is — its enrolment code exchanged once for its key, every request
after that signed (federation/signing.py), key rotation and revocation.

Links (docs/protocol.md "Enrolment, keys and signatures"):
- link 2: the child registered its public key (`enrol`); every request is signed; the
  enrolment code is spent (refused as a bearer token and for a second enrolment with another key).
- link 1 (today's release): the code as a bearer token on every request; accepted while the
  child has registered no key and `accept_child_tokens` is on (the rolling upgrade).
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from federation.crypto import Suite
from federation.identity import KEY_NOT_REGISTERED, rotation_message
from federation.keycert import KeyCertRefused
from federation.signing import (
    LINK_SIGNED,
    LINK_TOKEN,
    NonceStore,
    SignatureRefused,
    b64,
    parse_signature,
    unb64,
    verify_request,
)
from node.db import Database, WriteTxn
from node.errors import Conflict, FieldError, Forbidden, Invalid, Unauthorized
from node.units import keys as descendant_keys
from node.units import repository
from node.units.service import check_token


class Revoked(Unauthorized):
    code = "revoked"


class SuiteMismatch(Conflict):
    code = "suite_mismatch"


class HashKeyRefused(Conflict):
    code = "hash_key_mismatch"


def _revoked(code: str, at: datetime | None) -> Revoked:
    when = f" at {at.isoformat(timespec='seconds')}" if at else ""
    return Revoked(
        f"node {code}'s registration here was revoked{when}; it is no longer trusted "
        "(enrol it again with `tiersync child add` once it is safe)"
    )


@dataclass
class ChildTrust:
    """A parent's check of its children's requests (cheap to build; the nonces are the node's)."""

    db: Database
    suite: Suite
    window_s: float
    accept_tokens: bool
    nonces: NonceStore  # the node's one store (NodeContext.nonces)
    # The prefecture's CA certificate, to check key certificates: read from disk only by what
    # checks one (enrolment, rotation), not for every signed request.
    ca: Callable[[], bytes | None] = lambda: None

    # --- every request ------------------------------------------------------------------------

    def signed(
        self, *, headers: Mapping[str, str], method: str, path: str, query: str, body: bytes
    ) -> str:
        """The child a signed request comes from; Unauthorized with the reason otherwise."""
        try:
            parts = parse_signature(headers)
        except SignatureRefused as exc:
            raise Unauthorized(f"signature refused: {exc.reason}") from None
        with self.db.read() as conn:
            row = repository.get_credential(conn, parts.node)
        if row is None:
            raise Unauthorized(f"signature refused: no node {parts.node} is enrolled here")
        if row.revoked:
            raise _revoked(parts.node, row.revoked_at)
        if not row.public_key:
            raise KeyNotRegistered(
                f"signature refused: node {parts.node} has registered no key here; it enrols "
                "with its code first"
            )
        try:
            verify_request(
                parts,
                suite=self.suite,
                public_key=unb64(row.public_key),
                method=method,
                path=path,
                query=query,
                body=body,
                window_s=self.window_s,
                nonces=self.nonces,
                now=self.db.clock() / 1000,  # the node's clock, as everywhere else
            )
        except SignatureRefused as exc:
            raise Unauthorized(f"signature refused: {exc.reason}") from None
        return parts.node

    def bearer(self, token: str | None) -> str:
        """The child of a bearer token (link 1), while that is still allowed for it."""
        row = check_token(self.db, token)
        if row.revoked:
            raise _revoked(row.code, row.revoked_at)
        if row.public_key:
            raise Unauthorized(
                "this enrolment code is spent: the node registered its key and must sign "
                "its requests"
            )
        if not self.accept_tokens:
            raise Unauthorized(
                "this parent accepts only signed requests (accept_child_tokens is off): "
                "upgrade the child node"
            )
        return str(row.code)

    # --- enrolment, rotation ------------------------------------------------------------------

    def enrol(
        self,
        token: str | None,
        body: dict[str, Any],
        *,
        parent: str,
        key: bytes,
        hash_key_id: str | None = None,
    ) -> dict:
        """Exchange an enrolment code for the registration of the child's key (once); a
        child that tells another hash key than this node's (`hash_key_id`) is refused."""
        row = check_token(self.db, token)
        if row.revoked:
            raise _revoked(row.code, row.revoked_at)
        node, suite_name = body.get("node"), body.get("suite")
        if node != row.code:
            raise Invalid(
                "the enrolment code belongs to another node",
                [FieldError("node", f"expected {row.code}")],
            )
        if suite_name != self.suite.name:
            raise SuiteMismatch(
                f"this prefecture uses the crypto suite {self.suite.name!r} but node {node} is "
                f"set up with {suite_name!r}: set TIERSYNC_CRYPTO={self.suite.name} at the child",
                [FieldError("suite", f"expected {self.suite.name}")],
            )
        theirs = body.get("hash_key_id")
        if isinstance(theirs, str) and hash_key_id is not None and theirs != hash_key_id:
            raise HashKeyRefused(
                f"node {node} holds another hash key than this node ({parent}): its keyed "
                "hashes would not match the prefecture's; give it the key `tiersync child add` "
                "printed (TIERSYNC_HASH_KEY) and start it again",
                [FieldError("hash_key_id", "differs from this node's")],
            )
        public = _public_key(body.get("public_key"))
        given = b64(public)
        cert, certified = self._certificate(row.code, given, body.get("certificate"))
        with self.db.write() as txn:
            current = repository.get_credential(txn.conn, row.code)
            if current is None or current.token_hash != row.token_hash:
                raise Unauthorized("unknown, wrong or revoked credential")
            if current.public_key and current.public_key != given:
                raise Unauthorized(
                    "this enrolment code is spent (a key is registered for the node); issue a "
                    "new one with `tiersync child add` at the parent"
                )
            if not current.public_key:
                repository.register_key(
                    txn.conn, code=row.code, public_key=given, suite=self.suite.name, at=txn.now
                )
            self._remember(txn, row.code, given, cert, certified)
        return {
            "node": row.code,
            "suite": self.suite.name,
            "link": LINK_SIGNED,
            "parent": parent,
            "parent_key": b64(key),
        }

    def rotate(self, child: str, body: dict[str, Any]) -> dict:
        """Register the child's new key, endorsed by its current one (the request is signed
        with the current key too)."""
        public = _public_key(body.get("public_key"))
        try:
            endorsement = unb64(str(body.get("endorsement", "")))
        except ValueError:
            endorsement = b""
        cert, certified = self._certificate(child, b64(public), body.get("certificate"))
        with self.db.write() as txn:
            current = repository.get_credential(txn.conn, child)
            if current is None or not current.public_key:
                raise Unauthorized(f"node {child} has no key registered here")
            if current.public_key == b64(public):  # retried after success, or certified now
                if cert is not None:
                    self._remember(txn, child, b64(public), cert, certified)
                return {"node": child, "rotated": False, "certified": certified}
            old = unb64(current.public_key)
            if not self.suite.verify(old, rotation_message(child, public), endorsement):
                raise Invalid(
                    "the new key is not endorsed by the registered one",
                    [FieldError("endorsement", "does not verify with the registered key")],
                )
            repository.register_key(
                txn.conn, code=child, public_key=b64(public), suite=self.suite.name, at=txn.now
            )
            self._remember(txn, child, b64(public), cert, certified)
        return {"node": child, "rotated": True, "certified": certified}

    # --- key certificates (node/units/keys.py) ------------------------------------------------

    def _certificate(self, child: str, public: str, given: Any) -> tuple[str | None, bool]:
        try:
            return descendant_keys.check_key(
                self.ca(), code=child, suite=self.suite.name, public_key=public, certificate=given
            )
        except KeyCertRefused as exc:
            raise Forbidden(
                f"key certificate refused: {exc.reason}",
                [FieldError("certificate", "does not verify with the prefecture's CA")],
            ) from None

    def _remember(
        self, txn: WriteTxn, child: str, public: str, cert: str | None, certified: bool
    ) -> None:
        descendant_keys.remember(
            txn,
            code=child,
            via=child,
            public_key=public,
            suite=self.suite.name,
            certificate=cert,
            certified=certified,
        )


def _public_key(value: Any) -> bytes:
    try:
        public = unb64(str(value or ""))
    except ValueError:
        public = b""
    if not 32 <= len(public) <= 100:
        raise Invalid("public_key is not a key", [FieldError("public_key", "base64 key")])
    return public


def link_of(row: Any) -> int:
    """The link protocol a child is on, as `status` shows it."""
    return LINK_SIGNED if row.public_key else LINK_TOKEN


def revoke_child(db: Database, code: str) -> bool:
    """Revoke a child: its key and code are refused from now on. False when not enrolled."""
    with db.write() as txn:
        if repository.get_credential(txn.conn, code) is None:
            return False
        seq = txn.tick()  # the revocation goes up with the next push (its enrolments)
        repository.revoke_credential(txn.conn, code, at=txn.now, seq=seq)
        repository.touch_unit(txn.conn, code, seq)
    return True


class KeyNotRegistered(Unauthorized):
    """A signed request from an enrolled node whose key this node does not hold (this node was
    rebuilt from its parent: enrolments come back with it, keys do not): the child enrols its
    key again with its code (federation/identity.py, NodeAuth)."""

    code = KEY_NOT_REGISTERED
