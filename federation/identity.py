"""A node's identity: its signing key (a file in its data directory, 0600) and, at a child, the
registration of that key at its parent — and the httpx.Auth that uses them.

`NodeAuth` is the credential of every request a child makes to its parent:
- not yet registered: it first exchanges the enrolment code (TIERSYNC_PARENT_TOKEN) once for a
  registration of its public key (`POST /api/v1/sync/enrol`), then signs;
- registered: it signs every request (federation/signing.py); the code is spent;
- a parent that does not know enrolment yet (404: today's release) is spoken to with the code
  as a bearer token, as before, and enrolment is tried again after `RETRY_ENROL_S`.
Rotating the key (`rotate`) has the old key endorse the new one.
"""

import hashlib
import json
import logging
import os
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from federation.crypto import KeyPair, Suite, suite
from federation.signing import LINK_SIGNED, LINK_TOKEN, NodeKey, b64, sign_request, unb64

ENROL_PATH = "/api/v1/sync/enrol"
KEY_PATH = "/api/v1/sync/key"
KEY_FILE = "node.key"
NEXT_KEY_FILE = "node.key.next"
REGISTRATION_FILE = "registration.json"
REVOKED_FILE = "revoked.json"
KEY_CERT_FILE = "key-cert.json"
ISSUED_KEY_FILE = "identity.key"  # in a directory the CA issued (node/tls.py)
RETRY_ENROL_S = 300.0
ROTATION_CONTEXT = b"tiersync key rotation\n"
log = logging.getLogger("tiersync.identity")


class IdentityError(Exception):
    """The node's key files are unusable (another suite, unreadable); the message says which."""


def code_hash(token: str | None) -> str:
    """What a registration remembers of the code it was made with (never the code)."""
    return hashlib.sha256((token or "").encode()).hexdigest()


def rotation_message(node: str, new_public: bytes) -> bytes:
    """What the old key signs to endorse the new one."""
    return ROTATION_CONTEXT + node.encode() + b"\n" + new_public


def _write_private(path: Path, data: dict[str, Any], *, replace: bool) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump(data, out)
        out.flush()
        os.fsync(out.fileno())
    if replace:
        os.replace(tmp, path)
        return
    try:
        os.link(tmp, path)  # never overwrites: two processes creating at once keep one key
    except FileExistsError:
        pass
    finally:
        tmp.unlink()


def _read_key(path: Path, expected: Suite) -> NodeKey:
    try:
        data = json.loads(path.read_text())
        found = data["suite"]
        private, public = unb64(data["private"]), unb64(data["public"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        reason = exc.__class__.__name__
        raise IdentityError(f"the node key {path} is unreadable: {reason}") from None
    if found != expected.name:
        raise IdentityError(
            f"the node key {path} belongs to crypto suite {found!r} but TIERSYNC_CRYPTO is "
            f"{expected.name!r}; a node keeps one suite"
        )
    return NodeKey(expected, private, public)


def key_file_record(key: KeyPair, suite_name: str) -> dict[str, Any]:
    """A key file's content (identity/node.key; a CA-issued identity.key, node/tls.py)."""
    return _key_record(key, suite_name)


def _key_record(key: KeyPair, suite_name: str) -> dict[str, Any]:
    return {"suite": suite_name, "private": b64(key.private), "public": b64(key.public)}


@dataclass
class Identity:
    """The key files under `directory` (the data dir's `identity/`)."""

    directory: Path
    suite: Suite

    @classmethod
    def of(cls, data_dir: Path, suite_name: str) -> "Identity":
        return cls(Path(data_dir) / "identity", suite(suite_name))

    @property
    def key_path(self) -> Path:
        return self.directory / KEY_FILE

    def key(self) -> NodeKey:
        """This node's key, created on first use."""
        if not self.key_path.exists():
            pair = self.suite.generate_signing_key()
            _write_private(self.key_path, _key_record(pair, self.suite.name), replace=False)
        return _read_key(self.key_path, self.suite)

    def next_key(self) -> NodeKey:
        """The key a rotation under way moves to (kept until the parent took it)."""
        path = self.directory / NEXT_KEY_FILE
        if not path.exists():
            pair = self.suite.generate_signing_key()
            _write_private(path, _key_record(pair, self.suite.name), replace=False)
        return _read_key(path, self.suite)

    def finish_rotation(self) -> None:
        os.replace(self.directory / NEXT_KEY_FILE, self.key_path)
        (self.directory / KEY_CERT_FILE).unlink(missing_ok=True)  # it certified the old key

    def adopt(self, issued: Path) -> None:
        """Take the signing key and key certificate the CA issued into `issued` (the directory
        of TIERSYNC_TLS_CERT): the key only while this node has none, the certificate only when
        it certifies this node's key (a rotated key needs `tiersync ca certify`)."""
        given = issued / ISSUED_KEY_FILE
        if not self.key_path.exists() and given.is_file():
            record = json.loads(given.read_text())
            _write_private(self.key_path, record, replace=False)
        cert_file = issued / KEY_CERT_FILE
        if not cert_file.is_file():
            return
        try:
            cert = json.loads(cert_file.read_text())
        except (OSError, ValueError):
            log.warning("the key certificate %s is unreadable: not adopted", cert_file)
            return
        if isinstance(cert, dict) and cert.get("public_key") == b64(self.key().public):
            if cert != self.certificate():  # certified again (a new CA): the newest counts
                _write_private(self.directory / KEY_CERT_FILE, cert, replace=True)
        else:
            log.warning("the key certificate %s certifies another key: not adopted", cert_file)

    def certificate(self) -> dict[str, Any] | None:
        """The CA's certificate of this node's current key, if it has one."""
        try:
            data = json.loads((self.directory / KEY_CERT_FILE).read_text())
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) else None

    def save_certificate(self, cert: dict[str, Any]) -> None:
        _write_private(self.directory / KEY_CERT_FILE, cert, replace=True)

    def registration(self) -> dict[str, Any] | None:
        try:
            data = json.loads((self.directory / REGISTRATION_FILE).read_text())
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) else None

    def registered_with(self, token: str | None) -> bool:
        """Whether this node's key is registered at its parent with this enrolment code (a
        new code from `child add` means the parent forgot the key: enrol again)."""
        registration = self.registration()
        return registration is not None and registration.get("code_hash") == code_hash(token)

    def save_registration(self, data: dict[str, Any]) -> None:
        _write_private(self.directory / REGISTRATION_FILE, data, replace=True)

    def revoked(self) -> dict[str, Any] | None:
        try:
            data = json.loads((self.directory / REVOKED_FILE).read_text())
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) else None

    def mark_revoked(self, reason: str) -> None:
        _write_private(
            self.directory / REVOKED_FILE, {"reason": reason, "at": time.time()}, replace=True
        )

    def clear_revoked(self) -> None:
        (self.directory / REVOKED_FILE).unlink(missing_ok=True)


class NodeAuth(httpx.Auth):
    """A child's credential at its parent: its key once registered, the code until then."""

    requires_request_body = True
    requires_response_body = True

    def __init__(
        self,
        identity: Identity,
        *,
        node: str,
        token: str | None,
        hash_key_id: str | None = None,
        clock_ms: Callable[[], int] | None = None,
    ) -> None:
        self.identity = identity
        # The node's wall clock (its HLC's, simulated under tests/sim): a signature's created
        # time is the one the node reads everywhere else, not a second clock.
        self.clock_ms = clock_ms
        self.node = node
        self.token = token
        self.hash_key_id = hash_key_id  # told at enrolment: a parent with another key refuses
        self._key: NodeKey | None = None
        self._registered = identity.registered_with(token)
        self._retry_enrol_at = 0.0
        self._marked_revoked = identity.revoked() is not None

    @property
    def link(self) -> int:
        """The link protocol in use: 2 signed, 1 bearer token (a parent of today's release)."""
        return LINK_SIGNED if self._registered else LINK_TOKEN

    def node_key(self) -> NodeKey:
        if self._key is None:
            self._key = self.identity.key()
        return self._key

    def sign(self, request: httpx.Request, key: NodeKey | None = None) -> None:
        headers = sign_request(
            key or self.node_key(),
            node=self.node,
            method=request.method,
            path=request.url.path,
            query=request.url.query.decode("ascii"),
            body=request.content,
            now=None if self.clock_ms is None else self.clock_ms() / 1000,
        )
        request.headers.pop("Authorization", None)
        request.headers.update(headers)

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        if not self._registered and time.monotonic() >= self._retry_enrol_at:
            response = yield self._enrol_request(request)
            if response.status_code == 404:  # a parent of today's release: no enrolment yet
                self._retry_enrol_at = time.monotonic() + RETRY_ENROL_S
                log.warning("the parent does not take key enrolment yet: using the token")
            elif response.status_code == 200:
                self._accept_registration(response)
            else:
                self._note_refusal(response)
                return  # the refusal is the answer (its reason reaches the operator)
        if self._registered:
            self.sign(request)
        elif self.token:
            request.headers["Authorization"] = f"Bearer {self.token}"
        response = yield request
        if self._registered and self.token and _error_code(response) == KEY_NOT_REGISTERED:
            # The parent was rebuilt and holds this node's enrolment but not its key: register
            # the same key again with the code, once, and resend (docs/protocol.md, Keys).
            enrolled = yield self._enrol_request(request)
            if enrolled.status_code == 200:
                self._accept_registration(enrolled)
                self.sign(request)
                response = yield request
        self._note_refusal(response)

    def _enrol_request(self, request: httpx.Request) -> httpx.Request:
        body: dict[str, Any] = {"node": self.node, "suite": self.identity.suite.name}
        body["public_key"] = b64(self.node_key().public)
        if self.hash_key_id is not None:
            body["hash_key_id"] = self.hash_key_id
        certificate = self.identity.certificate()
        if certificate is not None:  # the CA vouches for the key (federation/keycert.py)
            body["certificate"] = certificate
        return httpx.Request(
            "POST",
            request.url.copy_with(path=ENROL_PATH, query=None),
            json=body,
            headers={
                "Authorization": f"Bearer {self.token or ''}",
                "X-Tiersync-Protocol": request.headers.get("X-Tiersync-Protocol", "1"),
            },
            extensions=request.extensions,  # the request's timeouts bound the enrolment too
        )

    def _accept_registration(self, response: httpx.Response) -> None:
        answer = response.json()
        self.identity.save_registration(
            {
                "node": self.node,
                "parent": answer.get("parent"),
                "parent_key": answer.get("parent_key"),
                "suite": answer.get("suite"),
                "code_hash": code_hash(self.token),
                "at": time.time(),
            }
        )
        self._registered = True
        log.info("key registered at the parent; requests are signed from now on")

    def _note_refusal(self, response: httpx.Response) -> None:
        """Revocation travels down, any number of levels: a node revoked by its parent
        (`revoked`), or whose parent says an ancestor of it was (`parent_revoked`), records it
        and tells its own children in turn (node/sync/routes.py); the parent's next acceptance
        clears the record (the node, or its ancestor, was enrolled again)."""
        code = _error_code(response)
        if code in ("revoked", PARENT_REVOKED):
            message = str(response.json()["error"].get("message", code))[:300]
            self.identity.mark_revoked(message)
            self._marked_revoked = True
        elif self._marked_revoked and response.is_success:
            self.identity.clear_revoked()
            self._marked_revoked = False
            log.info("the parent accepts this node again: its revocation is lifted")


PARENT_REVOKED = "parent_revoked"
"""A parent's refusal when it, or one of its ancestors, was revoked above it."""
KEY_NOT_REGISTERED = "key_not_registered"
"""The parent's refusal of a signed request whose key it does not hold (it was rebuilt)."""


def _error_code(response: httpx.Response) -> str | None:
    """The error code of a 401/403 answer, if it has one."""
    if response.status_code not in (401, 403):
        return None
    try:
        error = response.json().get("error", {})
    except ValueError:
        return None
    code = error.get("code") if isinstance(error, dict) else None
    return code if isinstance(code, str) else None


def rotation_request(auth: NodeAuth) -> tuple[str, str]:
    """The next key (made, not yet in use) and the current key's endorsement of it."""
    current, new = auth.node_key(), auth.identity.next_key()
    endorsement = current.sign(rotation_message(auth.node, new.public))
    return b64(new.public), b64(endorsement)


def rotation_done(auth: NodeAuth) -> None:
    """The parent took the next key: it becomes this node's key."""
    auth.identity.finish_rotation()
    auth._key = None
