"""Key certificates: the prefecture's CA vouches for a node's signing key, so an ancestor can
trust a descendant's key without trusting the relays between them (docs/decisions/0951).

A key certificate is a small JSON object

    {"node": code, "suite": name, "public_key": base64, "issued_at": ISO time,
     "ca": hex SHA-256 of the CA certificate (DER), "signature": base64}

signed (ECDSA P-256 with SHA-256, the CA's own key: node/tls.py) over the context line
`tiersync key certificate/1\n` and the canonical JSON of every other field. `tiersync ca issue`
makes one with the node's key, `tiersync ca certify` for a key made elsewhere. A node hands its
certificate to its parent at enrolment, and every node sends the keys it knows up with its pushes
(the `keys` push section): any holder of the CA certificate checks it, whoever carried it.
"""

import base64
import binascii
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

CONTEXT = b"tiersync key certificate/1\n"
FIELDS = ("node", "suite", "public_key", "issued_at", "ca")
MAX_CHARS = 2000


class KeyCertRefused(Exception):
    """A key certificate that does not hold; `reason` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class KeyCert:
    node: str
    suite: str
    public_key: str  # base64
    issued_at: str
    ca: str
    signature: str

    def wire(self) -> dict[str, str]:
        return {k: getattr(self, k) for k in (*FIELDS, "signature")}


def fingerprint(ca_pem: bytes) -> str:
    """The hex SHA-256 of a CA certificate's DER form (which CA certified a key)."""
    cert = x509.load_pem_x509_certificate(ca_pem)
    return hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest()


def _message(fields: Mapping[str, str]) -> bytes:
    return CONTEXT + orjson.dumps({k: fields[k] for k in FIELDS}, option=orjson.OPT_SORT_KEYS)


def certify(
    ca_key_pem: bytes, ca_pem: bytes, *, node: str, suite: str, public_key: bytes
) -> KeyCert:
    """The CA's certificate of `node`'s signing key."""
    key = serialization.load_pem_private_key(ca_key_pem, None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise KeyCertRefused("the CA key is not an EC key")
    fields = {
        "node": node,
        "suite": suite,
        "public_key": base64.b64encode(public_key).decode(),
        "issued_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "ca": fingerprint(ca_pem),
    }
    signature = key.sign(_message(fields), ec.ECDSA(hashes.SHA256()))
    return KeyCert(**fields, signature=base64.b64encode(signature).decode())


def parse(value: Any) -> KeyCert:
    """A key certificate from its wire form; KeyCertRefused when malformed."""
    if not isinstance(value, Mapping):
        raise KeyCertRefused("a key certificate is a JSON object")
    fields = {k: value.get(k) for k in (*FIELDS, "signature")}
    bad = [k for k, v in fields.items() if not isinstance(v, str) or not 0 < len(v) <= MAX_CHARS]
    if bad:
        raise KeyCertRefused(f"key certificate field {bad[0]} missing or malformed")
    return KeyCert(**fields)  # type: ignore[arg-type]


def certifies(ca_pem: bytes, cert: KeyCert) -> bool:
    """Whether `ca_pem` is the CA that `cert` names (only that CA can check it)."""
    return fingerprint(ca_pem) == cert.ca


def check(ca_pem: bytes, cert: KeyCert, *, node: str, suite: str, public_key: str | None) -> None:
    """Raise KeyCertRefused unless `ca_pem` signed `cert` for this node, suite and key."""
    if cert.node != node:
        raise KeyCertRefused(f"the key certificate is for node {cert.node}, not {node}")
    if cert.suite != suite:
        raise KeyCertRefused(f"the key certificate is for suite {cert.suite!r}, not {suite!r}")
    if public_key is not None and cert.public_key != public_key:
        raise KeyCertRefused(f"the key certificate of {node} certifies another key")
    if not certifies(ca_pem, cert):
        raise KeyCertRefused(f"the key certificate of {node} names another CA than this node's")
    ca_key = x509.load_pem_x509_certificate(ca_pem).public_key()
    if not isinstance(ca_key, ec.EllipticCurvePublicKey):
        raise KeyCertRefused("the CA certificate holds no EC key")
    try:
        signature = base64.b64decode(cert.signature, validate=True)
        ca_key.verify(signature, _message(cert.wire()), ec.ECDSA(hashes.SHA256()))
    except (InvalidSignature, binascii.Error, ValueError):
        raise KeyCertRefused(f"the key certificate of {node} is not signed by the CA") from None
