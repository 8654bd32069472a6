"""Requests between tiers signed with the node's key (HTTP Message Signatures, RFC 9421 style).

A signed request carries three headers:

    Content-Digest: sha-256=:<base64 of the suite's hash of the body>:   (sm3=:…: in the sm suite)
    Signature-Input: ts=("@method" "@path" "@query" "content-digest" "tiersync-node");
        created=<unix s>;nonce="<random>";keyid="<node code>";alg="<suite>"
    Signature: ts=:<base64 signature of the signature base>:

and `Tiersync-Node: <code>`. The signature base is RFC 9421's: one line per covered component,
`"<name>": <value>`, then `"@signature-params": <the inner list with its parameters>`. One
signature per request (a push of 5,000 records is one signature), made over the body as sent
(compressed), so the receiver checks it before it decompresses or parses anything.

The receiver (`verify_request`) refuses — with a reason and no secret — a request that is not
signed, whose digest does not match its body, that is older or newer than the replay window,
whose nonce it has seen within the window (`NonceStore`, bounded), or whose signature does not
verify with the node's registered key.
"""

import base64
import secrets
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

from federation.crypto import KeyPair, Suite

LABEL = "ts"
NODE_HEADER = "tiersync-node"
COVERED = ("@method", "@path", "@query", "content-digest", NODE_HEADER)
DIGEST_NAMES = {"default": "sha-256", "sm": "sm3"}
LINK_TOKEN = 1  # today's link: a bearer token on every request
LINK_SIGNED = 2  # the node's key registered once, every request signed
MAX_HEADER_CHARS = 2000


class SignatureRefused(Exception):
    """A signed request the receiver will not accept; `reason` says why, naming no secret."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def unb64(text: str) -> bytes:
    return base64.b64decode(text.encode(), validate=True)


def content_digest(suite: Suite, body: bytes) -> str:
    return f"{DIGEST_NAMES.get(suite.name, suite.name)}=:{b64(suite.hash(body))}:"


def _params(created: int, nonce: str, keyid: str, alg: str) -> str:
    names = " ".join(f'"{c}"' for c in COVERED)
    return f'({names});created={created};nonce="{nonce}";keyid="{keyid}";alg="{alg}"'


def signature_base(
    *, method: str, path: str, query: str, digest: str, node: str, params: str
) -> bytes:
    values = (method.upper(), path, f"?{query}", digest, node)
    lines = [f'"{name}": {value}' for name, value in zip(COVERED, values, strict=True)]
    lines.append(f'"@signature-params": {params}')
    return "\n".join(lines).encode()


@dataclass(frozen=True)
class NodeKey:
    """A node's signing key and the suite it belongs to."""

    suite: Suite
    private: bytes
    public: bytes

    def sign(self, message: bytes) -> bytes:
        return self.suite.sign(KeyPair(self.private, self.public), message)


def sign_request(
    key: NodeKey,
    *,
    node: str,
    method: str,
    path: str,
    query: str,
    body: bytes,
    now: float | None = None,
    nonce: str | None = None,
) -> dict[str, str]:
    """The headers that sign one request."""
    digest = content_digest(key.suite, body)
    created = int(now if now is not None else time.time())
    params = _params(created, nonce or secrets.token_urlsafe(16), node, key.suite.name)
    base = signature_base(
        method=method, path=path, query=query, digest=digest, node=node, params=params
    )
    return {
        "Content-Digest": digest,
        "Signature-Input": f"{LABEL}={params}",
        "Signature": f"{LABEL}=:{b64(key.sign(base))}:",
        "Tiersync-Node": node,
    }


@dataclass(frozen=True)
class SignedParts:
    node: str
    created: int
    nonce: str
    alg: str
    params: str
    digest: str
    signature: bytes


def is_signed(headers: Mapping[str, str]) -> bool:
    return "signature-input" in headers or "signature" in headers


def parse_signature(headers: Mapping[str, str]) -> SignedParts:
    """The parts of a signed request's headers; SignatureRefused when malformed."""
    given = {
        name: headers.get(name, "")
        for name in ("signature-input", "signature", "content-digest", NODE_HEADER)
    }
    for name, value in given.items():
        if not value:
            raise SignatureRefused(f"missing {name} header")
        if len(value) > MAX_HEADER_CHARS:
            raise SignatureRefused(f"{name} header too long")
    label, _, params = given["signature-input"].partition("=")
    expected_names = "(" + " ".join(f'"{c}"' for c in COVERED) + ")"
    if label != LABEL or not params.startswith(expected_names + ";"):
        raise SignatureRefused(f"Signature-Input must cover {expected_names} under label {LABEL}")
    fields: dict[str, str] = {}
    for item in params[len(expected_names) + 1 :].split(";"):
        name, _, value = item.partition("=")
        fields[name] = value.strip('"')
    sig_label, _, sig_value = given["signature"].partition("=")
    if sig_label != LABEL or not (sig_value.startswith(":") and sig_value.endswith(":")):
        raise SignatureRefused("Signature header is not ts=:<base64>:")
    try:
        signature = unb64(sig_value[1:-1])
        created = int(fields.get("created", ""))
    except ValueError:
        raise SignatureRefused("malformed signature or created time") from None
    nonce, keyid = fields.get("nonce", ""), fields.get("keyid", "")
    if not 16 <= len(nonce) <= 64:
        raise SignatureRefused("nonce missing or of the wrong length")
    if keyid != given[NODE_HEADER]:
        raise SignatureRefused("keyid differs from Tiersync-Node")
    return SignedParts(
        node=keyid,
        created=created,
        nonce=nonce,
        alg=fields.get("alg", ""),
        params=params,
        digest=given["content-digest"],
        signature=signature,
    )


@dataclass
class NonceStore:
    """Nonces seen within the replay window; entries expire past it, and the store is bounded
    (a flood of valid signed requests beyond `capacity` within one window is refused)."""

    window_s: float
    capacity: int = 200_000
    _seen: dict[str, float] = field(default_factory=dict)
    _next_sweep: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def first_use(self, node: str, nonce: str, now: float) -> bool:
        with self._lock:
            return self._first_use(node, nonce, now)

    def _first_use(self, node: str, nonce: str, now: float) -> bool:
        if now >= self._next_sweep or len(self._seen) >= self.capacity:
            horizon = now - 2 * self.window_s
            self._seen = {k: t for k, t in self._seen.items() if t > horizon}
            self._next_sweep = now + self.window_s / 4
        key = f"{node}\x00{nonce}"
        if key in self._seen:
            return False
        if len(self._seen) >= self.capacity:
            raise SignatureRefused("too many signed requests within the replay window; retry")
        self._seen[key] = now
        return True

    def __len__(self) -> int:
        return len(self._seen)


def verify_request(
    parts: SignedParts,
    *,
    suite: Suite,
    public_key: bytes,
    method: str,
    path: str,
    query: str,
    body: bytes,
    window_s: float,
    nonces: NonceStore,
    now: float | None = None,
) -> None:
    """Accept a parsed signed request, or raise SignatureRefused naming the reason."""
    now = time.time() if now is None else now
    if parts.alg != suite.name:
        raise SignatureRefused(f"signed with suite {parts.alg!r}; this node uses {suite.name!r}")
    if abs(now - parts.created) > window_s:
        off = parts.created - now
        raise SignatureRefused(
            f"signature dated {abs(off):,.0f} s {'ahead of' if off > 0 else 'behind'} this "
            f"node's clock, outside the replay window of {window_s:g} s (check both clocks: NTP)"
        )
    if parts.digest != content_digest(suite, body):
        raise SignatureRefused("Content-Digest does not match the body")
    base = signature_base(
        method=method,
        path=path,
        query=query,
        digest=parts.digest,
        node=parts.node,
        params=parts.params,
    )
    if not suite.verify(public_key, base, parts.signature):
        raise SignatureRefused("signature does not verify with the node's registered key")
    if not nonces.first_use(parts.node, parts.nonce, now):
        raise SignatureRefused("nonce already used (a replayed request)")
