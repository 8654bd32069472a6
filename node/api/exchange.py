"""Bodies of the operator exchanges (docs/protocol.md, "Operator exchanges"): read zstd or plain
JSON in, answer zstd when the caller accepts it. Shared by the digests' and the ops' routes."""

from typing import Annotated, TypeVar

import zstandard
from fastapi import Header, Request, Response
from pydantic import BaseModel, ValidationError

from federation.codec import COMPRESS_ABOVE, ZSTD_LEVEL, BodyTooLarge, decode_body
from node.errors import FieldError, Invalid, TooLarge
from schemas.errors import details_from_validation_error

AcceptEncoding = Annotated[str | None, Header()]
M = TypeVar("M", bound=BaseModel)


def reply(model: BaseModel, accept_encoding: str | None) -> Response:
    """JSON, zstd-compressed when the caller accepts it and it pays."""
    body = model.model_dump_json().encode()
    if "zstd" in (accept_encoding or "") and len(body) > COMPRESS_ABOVE:
        packed = zstandard.ZstdCompressor(level=ZSTD_LEVEL).compress(body)
        return Response(packed, media_type="application/json", headers={"Content-Encoding": "zstd"})
    return Response(body, media_type="application/json")


def body_doc(model: type[BaseModel]) -> dict[str, object]:
    """The request body in the OpenAPI document (bodies are parsed by hand: may be zstd)."""
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    schema.pop("$defs", None)
    return {"requestBody": {"content": {"application/json": {"schema": schema}}, "required": True}}


async def parse_body(request: Request, model: type[M]) -> M:
    try:
        limit = request.app.state.ctx.settings.max_body_bytes
        encoding = request.headers.get("content-encoding")
        raw = decode_body(await request.body(), encoding, max_size=limit)
        return model.model_validate_json(raw)
    except BodyTooLarge as exc:
        raise TooLarge(str(exc)) from exc
    except ValidationError as exc:
        details = [FieldError(d.field, d.reason) for d in details_from_validation_error(exc)]
        raise Invalid(f"invalid {model.__name__} body", details[:20]) from exc
    except ValueError as exc:
        raise Invalid("unreadable body", [FieldError(None, str(exc))]) from exc
