"""One JSON error shape everywhere: {"error": {"code", "message", "details": [{field, reason}]}}."""

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException

from node.db import storage_full
from node.errors import FieldError, StorageFull, TiersyncError, Unavailable
from node.supervisor import describe
from schemas.errors import clip, error_location

HTTP_CODES = {
    400: "bad_request",  # e.g. a body that is not JSON
    404: "not_found",
    405: "method_not_allowed",
    413: "too_large",
}
MAX_DETAILS = 50
"""An error lists at most this many problems (a body of 10,000 bad rows is still one answer)."""


def error_response(
    status: int,
    code: str,
    message: str,
    details: list[FieldError],
    extra: dict[str, Any] | None = None,
) -> JSONResponse:
    body = {
        "error": {
            "code": code,
            "message": clip(message),
            "details": [
                {"field": None if d.field is None else clip(d.field), "reason": clip(d.reason)}
                for d in details[:MAX_DETAILS]
            ],
            **(extra or {}),
        }
    }
    return JSONResponse(body, status_code=status)


def _field_path(loc: tuple[Any, ...]) -> str:
    # Drop FastAPI's location prefix ("body", "query", "path"): users name the field itself.
    parts = [str(p) for p in loc[1:]] if loc and loc[0] in {"body", "query", "path"} else loc
    return ".".join(str(p) for p in parts) or str(loc[0])


def _reason(err: Any) -> str:
    return str(err["msg"]).removeprefix("Value error, ")


def install(app: FastAPI) -> None:
    @app.exception_handler(TiersyncError)
    async def _tiersync(_: Request, exc: TiersyncError) -> JSONResponse:
        return error_response(exc.status_code, exc.code, exc.message, exc.details, exc.extra)

    @app.exception_handler(OperationalError)
    async def _database(_: Request, exc: OperationalError) -> JSONResponse:
        # The transaction rolled back: nothing of the request was stored. A full disk is the
        # operator's to fix (507); a locked, restarting or unreachable database passes (503).
        if storage_full(exc):
            refused: TiersyncError = StorageFull()
        else:
            refused = Unavailable(f"database unavailable: {describe(exc)}; nothing was stored")
        return error_response(refused.status_code, refused.code, refused.message, [])

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        details = [FieldError(_field_path(error_location(e)), _reason(e)) for e in exc.errors()]
        return error_response(422, "invalid", "request failed validation", details)

    @app.exception_handler(HTTPException)
    async def _http(_: Request, exc: HTTPException) -> JSONResponse:
        code = HTTP_CODES.get(exc.status_code, f"http_{exc.status_code}")
        return error_response(exc.status_code, code, str(exc.detail), [])
