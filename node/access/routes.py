"""Operator access over HTTP: sign in and out, who am I, users, the audit log, revealing one
record's personal data, and the login page. What each needs is in node/access/rights.py."""

import uuid
from datetime import UTC, datetime, timedelta
from functools import cache
from importlib import resources
from typing import Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import HTMLResponse
from starlette.concurrency import run_in_threadpool

from node.access import login, users
from node.access.gate import CSRF_COOKIE, SESSION_COOKIE, Gate
from node.audit import service as audit
from node.deps import ContextDep, PrincipalDep
from node.records import service as records
from node.records.routes import ERRORS
from schemas.access import LoginIn, Me, RevealIn, SessionOut, UserName, UserRead
from schemas.ops import AuditRead
from schemas.records import RecordRead

router = APIRouter(responses=ERRORS | {401: {}})
auth = APIRouter(prefix="/api/v1/auth", tags=["access"])
admin = APIRouter(prefix="/api/v1", tags=["access"])
page = APIRouter(include_in_schema=False)


def _gate(request: Request) -> Gate:
    gate: Gate = request.app.state.gate
    return gate


def _me(request: Request, ctx: ContextDep, by: Any) -> Me:
    name = by.actor.removeprefix("user:")
    return Me(
        name=name,
        role=by.role,
        rights=sorted(by.rights),
        units=list(by.units),
        node=ctx.identity.code,
        via=getattr(request.state, "via", "token"),
    )


def _secure(request: Request, ctx: ContextDep) -> bool:
    return ctx.settings.tls_enabled or request.url.scheme == "https"


@auth.post("/login", summary="Sign in to the dashboard: sets the session and CSRF cookies")
async def sign_in(
    body: LoginIn, request: Request, ctx: ContextDep, response: Response
) -> SessionOut:
    session = await run_in_threadpool(
        login.login,
        ctx.db,
        settings=ctx.settings,
        name=body.name,
        password=body.password,
        totp=body.totp,
    )
    max_age = int(timedelta(hours=ctx.settings.session_ttl_h).total_seconds())
    secure = _secure(request, ctx)
    response.set_cookie(
        SESSION_COOKIE, session.token, max_age=max_age, httponly=True, secure=secure,
        samesite="strict", path="/",
    )  # fmt: skip
    # Readable by the page's script, which echoes it in X-CSRF-Token.
    response.set_cookie(
        CSRF_COOKIE, session.csrf, max_age=max_age, httponly=False, secure=secure,
        samesite="strict", path="/",
    )  # fmt: skip
    request.state.via = "session"
    me = _me(request, ctx, session.principal)
    return SessionOut(**me.model_dump(), csrf_token=session.csrf, expires_at=session.expires_at)


@auth.post("/logout", status_code=204, summary="End this dashboard session")
async def sign_out(request: Request, ctx: ContextDep, by: PrincipalDep) -> Response:
    if getattr(request.state, "via", None) == "session":
        await run_in_threadpool(
            login.logout, ctx.db, token_id=request.state.token_id, actor=by.actor
        )
        _gate(request).forget()
    response = Response(status_code=204)
    response.delete_cookie(SESSION_COOKIE, path="/")
    response.delete_cookie(CSRF_COOKIE, path="/")
    return response


@auth.get("/me", summary="Who this credential belongs to: name, role, rights, units")
def who(request: Request, ctx: ContextDep, by: PrincipalDep) -> Me:
    return _me(request, ctx, by)


@admin.get("/users", summary="The node's users (no secrets)")
def list_users(ctx: ContextDep) -> list[UserRead]:
    return users.list_users(ctx.db, now=datetime.now(UTC))


@admin.post("/users/{name}/unlock", summary="End a user's lockout after failed logins")
def unlock(name: UserName, request: Request, ctx: ContextDep, by: PrincipalDep) -> UserRead:
    unlocked = users.unlock(ctx.db, name=name, actor=by.actor)
    _gate(request).forget()
    return unlocked


@admin.get("/audit", summary="The audit log, newest first")
def audit_log(
    ctx: ContextDep,
    limit: int = Query(100, ge=1, le=10_000),
    action: str | None = Query(None, max_length=64, description="only this action"),
) -> list[AuditRead]:
    return audit.entries(ctx.db, limit=limit, action=action)


@admin.post(
    "/records/{record_id}/reveal",
    summary="One record with its personal data in clear; audited with who, when and why",
    tags=["records"],
)
def reveal(record_id: uuid.UUID, body: RevealIn, ctx: ContextDep, by: PrincipalDep) -> RecordRead:
    record = records.get_record(ctx.db, record_id=record_id, by=by)
    what = f"{record_id} ({record.kind} at {record.unit})"
    audit.reveal(ctx.db, actor=by.actor, what=what, reason=body.reason)
    return record


@cache
def _login_page() -> str:
    return resources.files("node.access").joinpath("login.html").read_text(encoding="utf-8")


@page.get("/login", response_class=HTMLResponse)
def login_page() -> HTMLResponse:
    headers = {
        "Cache-Control": "no-cache",
        "Content-Security-Policy": "default-src 'self'; script-src 'unsafe-inline'; "
        "style-src 'unsafe-inline'; frame-ancestors 'none'",
        "X-Frame-Options": "DENY",
    }
    return HTMLResponse(_login_page(), headers=headers)


router.include_router(auth)
router.include_router(admin)
router.include_router(page)
