"""The answer of a reveal request, encrypted to the requester alone (issue 14).

The requester makes a fresh X25519 key pair per request and sends only the public half down
with the request; the owner seals the record to it (ECIES: an ephemeral X25519 key of its own,
HKDF-SHA-256 of the shared secret, AES-256-GCM with the request's id as associated data). The
sealed answer rides a receipt up through the tiers, which store it like any receipt but cannot
open it. When the requester's hold ends it deletes its private key: every copy of the answer,
at every tier and in every backup, is then unreadable (crypto-shredding).

Wire form of a sealed answer: `x25519:` + base64url(ephemeral public (32) ‖ nonce (12) ‖
ciphertext ‖ tag (16)).
"""

import base64
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

PREFIX = "x25519:"
_INFO = b"tiersync reveal v1"
_RAW = serialization.Encoding.Raw, serialization.PublicFormat.Raw


class BoxError(ValueError):
    """A sealed answer that does not open with this key (or is not a sealed answer)."""


def new_keypair() -> tuple[bytes, str]:
    """A fresh private key (32 raw bytes) and its public half as sent (`base64url`)."""
    private = X25519PrivateKey.generate()
    raw = private.private_bytes(
        serialization.Encoding.Raw,
        serialization.PrivateFormat.Raw,
        serialization.NoEncryption(),
    )
    return raw, _b64(private.public_key().public_bytes(*_RAW))


def public_key_valid(public: str) -> bool:
    try:
        return len(base64.urlsafe_b64decode(public)) == 32
    except ValueError:
        return False


def _key(shared: bytes, aad: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO + aad).derive(shared)


def seal_to(public: str, plaintext: bytes, aad: bytes) -> str:
    """`plaintext` sealed so that only the holder of `public`'s private key opens it."""
    try:
        recipient = X25519PublicKey.from_public_bytes(base64.urlsafe_b64decode(public))
    except ValueError as exc:
        raise BoxError(f"not an X25519 public key: {exc}") from None
    ephemeral = X25519PrivateKey.generate()
    nonce = os.urandom(12)
    ciphertext = AESGCM(_key(ephemeral.exchange(recipient), aad)).encrypt(nonce, plaintext, aad)
    return PREFIX + _b64(ephemeral.public_key().public_bytes(*_RAW) + nonce + ciphertext)


def open_with(private: bytes, sealed: str, aad: bytes) -> bytes:
    """The plaintext of a sealed answer (BoxError when it is not for this key)."""
    if not sealed.startswith(PREFIX):
        raise BoxError("not a sealed answer")
    try:
        blob = base64.urlsafe_b64decode(sealed[len(PREFIX) :])
        sender = X25519PublicKey.from_public_bytes(blob[:32])
        key = _key(X25519PrivateKey.from_private_bytes(private).exchange(sender), aad)
        return AESGCM(key).decrypt(blob[32:44], blob[44:], aad)
    except (ValueError, InvalidTag) as exc:
        raise BoxError("the sealed answer does not open with this key") from exc


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode()
