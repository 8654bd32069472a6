"""The offline bundle file: one header line, then the zstd-compressed content.

    TIERSYNC-BUNDLE/1\n
    {"direction": "up", "source": ..., "target": ..., "since": ..., "until": ...,
     "records": n, "units": n, "created_at": ..., "sha256": <of the content>, "hmac": ...}\n
    <zstd(JSON content)>

`sha256` is over the uncompressed content: a damaged or edited file is refused. `hmac` is
HMAC-SHA256 over the header (without `hmac`, keys sorted) keyed with sha256(child token) as
hex — exactly what the parent keeps of the credential — so the parent can check an up-bundle
came from that child and the child a down-bundle from its parent.
"""

import hashlib
import hmac
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import zstandard

from federation.codec import BodyTooLarge, decompress_bounded

MAGIC = b"TIERSYNC-BUNDLE/1\n"
MAX_CONTENT = 2 * 1024**3  # refuse to inflate beyond this (a crafted file)


class BundleRefused(Exception):
    """The file is not a bundle this node may apply; the message says why."""


@dataclass(frozen=True)
class Bundle:
    header: dict[str, Any]
    content: dict[str, Any]


def _mac(header: dict[str, Any], key_hex: str) -> str:
    signed = {k: v for k, v in header.items() if k != "hmac"}
    message = orjson.dumps(signed, option=orjson.OPT_SORT_KEYS)
    return hmac.new(key_hex.encode(), message, hashlib.sha256).hexdigest()


def write(path: Path, header: dict[str, Any], content: dict[str, Any], *, key_hex: str) -> str:
    """Write a bundle atomically; returns its content sha256."""
    raw = orjson.dumps(content)
    digest = hashlib.sha256(raw).hexdigest()
    full = {**header, "sha256": digest}
    full["hmac"] = _mac(full, key_hex)
    packed = zstandard.ZstdCompressor(level=9).compress(raw)
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


def open_bundle(path: Path, *, key_hex: str) -> Bundle:
    """Check integrity (sha256) and authenticity (HMAC), then decode the content."""
    header, packed = read_header(path)
    try:
        raw = decompress_bounded(packed, MAX_CONTENT)
    except BodyTooLarge as exc:
        raise BundleRefused(f"{path}: content larger than {MAX_CONTENT:,} bytes") from exc
    except ValueError as exc:
        raise BundleRefused(f"{path} is damaged or was altered (content does not inflate)") from exc
    if hashlib.sha256(raw).hexdigest() != header.get("sha256"):
        raise BundleRefused(f"{path} is damaged or was altered: content checksum mismatch")
    if not hmac.compare_digest(_mac(header, key_hex), str(header.get("hmac", ""))):
        raise BundleRefused(
            f"{path} is not signed with the credential of {header.get('source')}: "
            "it was altered, or it comes from another unit"
        )
    return Bundle(header=header, content=orjson.loads(raw))
