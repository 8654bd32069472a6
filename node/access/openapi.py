"""The OpenAPI document declares how each operation is authenticated, from the same rights
table the gate enforces: a user's bearer token or the dashboard's session cookie (and which
right), a child node's credential, or nothing."""

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI

from node.access.gate import CSRF_HEADER, SESSION_COOKIE
from node.access.rights import Access, rule_for

USER = "userToken"
SESSION = "dashboardSession"
CHILD = "childCredential"
SCHEMES: dict[str, dict[str, Any]] = {
    USER: {
        "type": "http",
        "scheme": "bearer",
        "description": "A user's API token, tsu_… (from `tiersync user add` or `user token`)",
    },
    SESSION: {
        "type": "apiKey",
        "in": "cookie",
        "name": SESSION_COOKIE,
        "description": "The dashboard's session (POST /api/v1/auth/login); state-changing "
        f"requests also send the CSRF token in {CSRF_HEADER}",
    },
    CHILD: {
        "type": "http",
        "scheme": "bearer",
        "description": "A child node's credential, tsk_… (from `tiersync child add` here)",
    },
}


def declare(document: dict[str, Any]) -> dict[str, Any]:
    document.setdefault("components", {}).setdefault("securitySchemes", {}).update(SCHEMES)
    for path, operations in document.get("paths", {}).items():
        for method, operation in operations.items():
            rule = rule_for(method.upper(), path)
            if rule is None or rule is Access.open:
                operation["security"] = []
            elif rule is Access.child:
                operation["security"] = [{CHILD: []}]
            else:
                operation["security"] = [{USER: []}, {SESSION: []}]
                _answers(operation)
                need = "any signed-in user" if rule is Access.signed_in else f"right `{rule}`"
                note = f"Needs {need} (README, Operator access)."
                described = operation.get("description")
                operation["description"] = f"{described}\n\n{note}" if described else note
    return document


ERROR = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}


def _answers(operation: dict[str, Any]) -> None:
    """What every operation behind the gate may answer besides its own statuses."""
    responses = operation.setdefault("responses", {})
    responses["401"] = {
        "description": "No valid token or session (one message for every reason)",
        "content": ERROR,
    }
    responses["403"] = {
        "description": "The role lacks the right, or the unit is outside this node's "
        "jurisdiction or the user's units, or a session request lacks its CSRF token",
        "content": ERROR,
    }


def install(app: FastAPI) -> None:
    """Wrap the app's document generator (built once, then cached by FastAPI)."""
    generate: Callable[[], dict[str, Any]] = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = declare(generate())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
