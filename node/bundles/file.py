"""The offline bundle file: one header line, then the zstd-compressed content.

    TIERSYNC-BUNDLE/2\n
    {"direction": "up", "source": ..., "target": ..., "since": ..., "until": ...,
     "records": n, "units": n, "created_at": ..., "sha256": <of the content>,
     "suite": "default", "content_hash": <suite hash of the compressed content>,
     "key": <signer's public key>, "signature": ...}\n
    <zstd(JSON content)>

`signature` is the signer node's own signature (its private key, federation/identity.py) of
the header without `signature`, keys sorted; the receiver verifies it with the key registered
for that node — the parent with the child's, the child with its parent's — and checks
`content_hash` over the compressed bytes before anything is decompressed. A database leak at
either end allows no forgery: the private keys live only at their nodes.

Bootstrap (a node that has never been online, so its key is not registered): the header also
carries `enrolment_mac`, HMAC-SHA256 of the signer's key keyed with the hash of the child's
enrolment code, which both ends know; it is accepted only while no key is registered.
"""

import hashlib
import hmac
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import zstandard

from federation.codec import BodyTooLarge, decompress_bounded
from federation.crypto import Suite
from federation.signing import NodeKey, b64, unb64

MAGIC = b"TIERSYNC-BUNDLE/2\n"
OLD_MAGIC = b"TIERSYNC-BUNDLE/1\n"
MAX_CONTENT = 2 * 1024**3  # refuse to inflate beyond this (a crafted file)


class BundleRefused(Exception):
    """The file is not a bundle this node may apply; the message says why."""


@dataclass(frozen=True)
class Bundle:
    header: dict[str, Any]
    content: dict[str, Any]


def canonical(header: dict[str, Any]) -> bytes:
    """What the signature covers: the header without `signature`, keys sorted."""
    signed = {k: v for k, v in header.items() if k != "signature"}
    return orjson.dumps(signed, option=orjson.OPT_SORT_KEYS)


def enrolment_mac(code_hash: str, key: bytes) -> str:
    return hmac.new(code_hash.encode(), b"tiersync bundle key\n" + key, hashlib.sha256).hexdigest()


def write(
    path: Path,
    header: dict[str, Any],
    content: dict[str, Any],
    *,
    key: NodeKey,
    code_hash: str | None = None,
) -> str:
    """Write a bundle signed with `key`, atomically; returns its content sha256. With
    `code_hash`, the header also carries the bootstrap `enrolment_mac`."""
    raw = orjson.dumps(content)
    digest = hashlib.sha256(raw).hexdigest()
    packed = zstandard.ZstdCompressor(level=9).compress(raw)
    full = {
        **header,
        "sha256": digest,
        "suite": key.suite.name,
        "content_hash": b64(key.suite.hash(packed)),
        "key": b64(key.public),
    }
    if code_hash is not None:
        full["enrolment_mac"] = enrolment_mac(code_hash, key.public)
    full["signature"] = b64(key.sign(canonical(full)))
    tmp = path.with_name(path.name + ".part")
    tmp.write_bytes(MAGIC + orjson.dumps(full) + b"\n" + packed)
    tmp.replace(path)
    return digest


def read_header(path: Path) -> tuple[dict[str, Any], bytes]:
    """The header and the still-compressed content; refuses what is not a bundle."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise BundleRefused(f"cannot read {path}: {exc.strerror or exc}") from exc
    if data.startswith(OLD_MAGIC):
        raise BundleRefused(
            f"{path} is a bundle of the previous format (signed with the credential's hash, "
            "no longer trusted): export it again with this release"
        )
    if not data.startswith(MAGIC):
        raise BundleRefused(f"{path} is not a tiersync bundle")
    line, sep, packed = data[len(MAGIC) :].partition(b"\n")
    try:
        header = orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        raise BundleRefused(f"{path}: damaged header ({exc})") from exc
    if not sep or not isinstance(header, dict):
        raise BundleRefused(f"{path}: damaged header")
    return header, packed


def signer_key(
    path: Path, header: dict[str, Any], *, registered: str | None, code_hash: str
) -> str:
    """The signer's key the receiver may trust: the registered one, or — while none is — the
    one the enrolment MAC vouches for."""
    given = str(header.get("key", ""))
    if registered:
        if not hmac.compare_digest(given, registered):
            raise BundleRefused(
                f"{path} is not signed with the key registered for {header.get('source')}: "
                "it was altered, or it comes from another node"
            )
        return registered
    try:
        key = unb64(given)
    except ValueError:
        key = b""
    mac = str(header.get("enrolment_mac", ""))
    if not key or not hmac.compare_digest(enrolment_mac(code_hash, key), mac):
        raise BundleRefused(
            f"{path}: no key is registered for {header.get('source')} and the bundle does not "
            "carry its enrolment proof: refused"
        )
    return given


def open_bundle(path: Path, *, suite: Suite, public_key: str) -> Bundle:
    """Check the signature and the compressed content's hash, and only then decompress."""
    header, packed = read_header(path)
    if header.get("suite") != suite.name:
        raise BundleRefused(
            f"{path} was signed with the crypto suite {header.get('suite')!r}; this node uses "
            f"{suite.name!r}"
        )
    try:
        signature = unb64(str(header.get("signature", "")))
    except ValueError:
        signature = b""
    if not suite.verify(unb64(public_key), canonical(header), signature):
        raise BundleRefused(
            f"{path} is not signed by {header.get('source')}: it was altered, or it comes "
            "from another node"
        )
    if not hmac.compare_digest(b64(suite.hash(packed)), str(header.get("content_hash", ""))):
        raise BundleRefused(f"{path} is damaged or was altered: content hash mismatch")
    try:
        raw = decompress_bounded(packed, MAX_CONTENT)
    except BodyTooLarge as exc:
        raise BundleRefused(f"{path}: content larger than {MAX_CONTENT:,} bytes") from exc
    except ValueError as exc:
        raise BundleRefused(f"{path} is damaged or was altered (content does not inflate)") from exc
    if hashlib.sha256(raw).hexdigest() != header.get("sha256"):
        raise BundleRefused(f"{path} is damaged or was altered: content checksum mismatch")
    return Bundle(header=header, content=orjson.loads(raw))
