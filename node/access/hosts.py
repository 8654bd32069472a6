"""Requests whose Host is not a name of this node are refused (DNS rebinding: a page on a
foreign name that resolves to this node's address must not reach its API); no cross-origin
access unless origins are configured."""

from typing import Any

import orjson
from fastapi import FastAPI
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

from node.access.gate import CSRF_HEADER
from node.settings import Settings


def host_name(value: str) -> str:
    """The name of a Host header without its port ("[::1]:8000" → "::1")."""
    if value.startswith("["):
        return value[1:].split("]", 1)[0].lower()
    return value.rsplit(":", 1)[0].lower() if value.count(":") == 1 else value.lower()


class HostCheck:
    def __init__(self, app: ASGIApp, names: frozenset[str]) -> None:
        self.app = app
        self.names = names

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            raw = dict(scope.get("headers") or ()).get(b"host", b"").decode("latin-1")
            if host_name(raw) not in self.names:
                await _refuse(send, raw)
                return
        await self.app(scope, receive, send)


async def _refuse(send: Send, host: str) -> None:
    body: dict[str, Any] = {
        "error": {
            "code": "bad_request",
            "message": f"host {host[:100]!r} is not a name of this node",
            "details": [{"field": "Host", "reason": "not in TIERSYNC_ALLOWED_HOSTS"}],
        }
    }
    payload = orjson.dumps(body)
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(payload))]
    await send({"type": "http.response.start", "status": 400, "headers": headers})
    await send({"type": "http.response.body", "body": payload})


def install(app: FastAPI, settings: Settings) -> None:
    """The host check outermost, then CORS when configured (bearer tokens only: no cookies)."""
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_credentials=False,
            allow_methods=["GET", "POST", "PUT", "DELETE"],
            allow_headers=["Authorization", "Content-Type", CSRF_HEADER],
        )
    app.add_middleware(HostCheck, names=settings.host_names)
