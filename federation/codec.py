"""Batch encoding on the wire: JSON (orjson), zstd-compressed above a small size."""

from dataclasses import dataclass
from typing import Any

import orjson
import zstandard

COMPRESS_ABOVE = 1024
ZSTD_LEVEL = 3


@dataclass(frozen=True)
class Encoded:
    body: bytes
    headers: dict[str, str]
    raw_size: int


def encode(payload: dict[str, Any]) -> Encoded:
    """Body and headers for a JSON payload; compressed when that pays."""
    raw = orjson.dumps(payload)
    if len(raw) <= COMPRESS_ABOVE:
        return Encoded(raw, {}, len(raw))
    body = zstandard.ZstdCompressor(level=ZSTD_LEVEL).compress(raw)
    return Encoded(body, {"Content-Encoding": "zstd"}, len(raw))


def decode_body(body: bytes, content_encoding: str | None) -> bytes:
    """The JSON bytes of a request body, decompressed if needed. Raises ValueError."""
    encoding = (content_encoding or "identity").strip().lower()
    if encoding == "identity":
        return body
    if encoding != "zstd":
        raise ValueError(f"unsupported Content-Encoding {encoding!r} (use zstd or none)")
    try:
        # max_output_size guards against a decompression bomb from a misbehaving peer.
        return zstandard.ZstdDecompressor().decompress(body, max_output_size=256 * 1024 * 1024)
    except zstandard.ZstdError as exc:
        raise ValueError(f"corrupt zstd body: {exc}") from exc
