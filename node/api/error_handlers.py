"""One JSON error shape everywhere: {"error": {"code", "message", "details": [{field, reason}]}}."""

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from node.errors import FieldError, TiersyncError


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
            "message": message,
            "details": [{"field": d.field, "reason": d.reason} for d in details],
            **(extra or {}),
        }
    }
    return JSONResponse(body, status_code=status)


def _field_path(loc: tuple[Any, ...]) -> str:
    # Drop FastAPI's location prefix ("body", "query", "path"): users name the field itself.
    parts = [str(p) for p in loc[1:]] if loc and loc[0] in {"body", "query", "path"} else loc
    return ".".join(str(p) for p in parts) or str(loc[0])


def install(app: FastAPI) -> None:
    @app.exception_handler(TiersyncError)
    async def _tiersync(_: Request, exc: TiersyncError) -> JSONResponse:
        return error_response(exc.status_code, exc.code, exc.message, exc.details, exc.extra)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        details = [FieldError(_field_path(tuple(e["loc"])), e["msg"]) for e in exc.errors()]
        return error_response(422, "invalid", "request failed validation", details)

    @app.exception_handler(HTTPException)
    async def _http(_: Request, exc: HTTPException) -> JSONResponse:
        return error_response(exc.status_code, f"http_{exc.status_code}", str(exc.detail), [])
