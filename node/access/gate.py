"""The gate every routed request passes (a dependency added where node/wiring.py's routers are
included): it finds what the endpoint needs (node/access/rights.py), who is asking (an API
token in `Authorization: Bearer`, or the dashboard's session cookie with its CSRF token on
every state-changing request), and puts that principal on the request.

Checked tokens are trusted for `auth_cache_s` seconds without a database read, so the check
costs a hash and a dict lookup. A revocation made through this process clears the cache at
once; one made by another process (the CLI) is seen within `auth_cache_s`.
"""

import time
from datetime import UTC, datetime
from typing import Any

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from node.access import login, tokens
from node.access.login import Verified
from node.access.rights import Access, rule_for
from node.errors import FieldError, Forbidden, Unauthorized
from node.principal import Principal
from node.settings import Settings

SESSION_COOKIE = "tiersync_session"
CSRF_COOKIE = "tiersync_csrf"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CACHE_MAX = 10_000


class Gate:
    """One node's gate and its cache of checked tokens."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._cache: dict[str, tuple[float, Verified]] = {}

    def forget(self) -> None:
        """Drop every cached check (a token, user or role changed here)."""
        self._cache.clear()

    async def __call__(self, request: Request) -> None:
        route: Any = request.scope.get("route")
        path = getattr(route, "path", request.url.path)
        rule = rule_for(request.method, path)
        if rule is None:  # deny by default: an endpoint nobody gave a right to
            raise Forbidden(f"no right is defined for {request.method} {path}")
        if rule in (Access.open, Access.child):
            return
        principal = await self.principal_of(request)
        if rule is not Access.signed_in and rule not in principal.rights:
            raise Forbidden(
                f"role {principal.role} lacks the right {rule}",
                [FieldError("right", f"{rule} needed")],
            )
        request.state.principal = principal

    async def principal_of(self, request: Request) -> Principal:
        header = request.headers.get("authorization")
        if header is not None:
            scheme, _, token = header.partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                raise Unauthorized(login.REFUSED)
            verified = await self.verify(request, token.strip(), "api")
            request.state.via = "token"
        else:
            cookie = request.cookies.get(SESSION_COOKIE)
            if not cookie:
                raise Unauthorized(
                    "sign in, or send Authorization: Bearer <token>",
                    [FieldError("Authorization", "missing")],
                )
            verified = await self.verify(request, cookie, "session")
            if request.method not in SAFE_METHODS:
                self._check_csrf(request, verified)
            request.state.via = "session"
        request.state.token_id = verified.token_id
        return verified.principal

    async def verify(self, request: Request, token: str, kind: str) -> Verified:
        key = tokens.digest(token)
        now = datetime.now(UTC)
        cached = self._cache.get(key)
        ttl = self.settings.auth_cache_s
        fresh = cached is not None and time.monotonic() - cached[0] < ttl
        if cached is not None and fresh and cached[1].kind == kind and cached[1].expires_at > now:
            return cached[1]
        self._cache.pop(key, None)
        verified = await run_in_threadpool(
            login.verify_token,
            request.app.state.ctx.db,
            node=self.settings.code,
            token=token,
            kind=kind,
            now=now,
        )
        if ttl > 0:
            if len(self._cache) >= CACHE_MAX:
                self._cache.clear()
            self._cache[key] = (time.monotonic(), verified)
        return verified

    def _check_csrf(self, request: Request, verified: Verified) -> None:
        """Double submit, bound to the session: the header must carry the session's token."""
        given = request.headers.get(CSRF_HEADER, "")
        if not given or verified.csrf_hash is None:
            raise Forbidden(
                f"missing CSRF token: send the {CSRF_COOKIE} cookie's value in {CSRF_HEADER}",
                [FieldError(CSRF_HEADER, "missing")],
            )
        if not tokens.same(tokens.digest(given), verified.csrf_hash):
            raise Forbidden("wrong CSRF token", [FieldError(CSRF_HEADER, "does not match")])
        origin = request.headers.get("origin")
        if origin is not None and origin_host(origin) not in self.settings.host_names:
            raise Forbidden("cross-origin request refused", [FieldError("Origin", origin[:100])])


def origin_host(origin: str) -> str:
    rest = origin.split("://", 1)[-1]
    host = rest[1:].split("]", 1)[0] if rest.startswith("[") else rest.split(":", 1)[0]
    return host.lower()
