"""Batch encoding on the wire: JSON (orjson), zstd-compressed above a small size.

Decoding is bounded: a zstd body is decompressed as a stream and refused (BodyTooLarge) once its
output passes the cap, whatever size the frame declares (python-zstandard's one-shot
`decompress` trusts a declared content size and ignores `max_output_size`).
"""

import io
from dataclasses import dataclass
from typing import Any

import orjson
import zstandard

COMPRESS_ABOVE = 1024
ZSTD_LEVEL = 3
DEFAULT_MAX_DECODED = 256 * 1024 * 1024
_CHUNK = 256 * 1024


class BodyTooLarge(ValueError):
    """A body whose decoded size passes the cap: the caller answers 413."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"decompressed body larger than this node accepts ({limit:,} bytes)")
        self.limit = limit


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


def decode_body(
    body: bytes, content_encoding: str | None, *, max_size: int = DEFAULT_MAX_DECODED
) -> bytes:
    """The JSON bytes of a request body, decompressed if needed, at most `max_size` of them.

    Raises BodyTooLarge past the cap, ValueError for an unknown encoding or a corrupt body.
    """
    encoding = (content_encoding or "identity").strip().lower()
    if encoding == "identity":
        if len(body) > max_size:
            raise BodyTooLarge(max_size)
        return body
    if encoding != "zstd":
        raise ValueError(f"unsupported Content-Encoding {encoding!r} (use zstd or none)")
    return decompress_bounded(body, max_size)


def decompress_bounded(packed: bytes, max_size: int) -> bytes:
    """Decompress zstd frames as a stream, counting the output: BodyTooLarge past `max_size`."""
    out = bytearray()
    try:
        with zstandard.ZstdDecompressor().stream_reader(
            io.BytesIO(packed), read_across_frames=True
        ) as reader:
            while chunk := reader.read(min(_CHUNK, max_size + 1 - len(out))):
                out += chunk
                if len(out) > max_size:
                    raise BodyTooLarge(max_size)
    except zstandard.ZstdError as exc:
        raise ValueError(f"corrupt zstd body: {exc}") from exc
    return bytes(out)
