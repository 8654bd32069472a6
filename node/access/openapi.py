"""The OpenAPI document declares how each operation is authenticated, from the same rights
table the gate enforces: a user's bearer token or the dashboard's session cookie (and which
right), a child node's credential, or nothing."""

import copy
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI

from node.access.gate import CSRF_HEADER, SESSION_COOKIE
from node.access.rights import Access, rule_for
from schemas.personal import PERSONAL, Rule

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
        "description": "A child node's credential: its enrolment code tsk_… (from `tiersync "
        "child add` here) as a bearer token until it registers its key (POST "
        "/api/v1/sync/enrol); after that every request is signed with the key instead "
        "(Signature-Input, Signature, Content-Digest, Tiersync-Node: docs/protocol.md)",
    },
}


def _shown(schema: dict[str, Any], rules: dict[str, Rule]) -> dict[str, Any]:
    """A kind's payload schema as the API shows it: masked fields are any string, withheld
    fields may be absent (schemas/personal.py)."""
    shown = copy.deepcopy(schema)
    properties = shown.get("properties", {})
    for field, rule in rules.items():
        if "[]" in field or field not in properties:
            continue  # nested fields (members[].phone) are plain strings already
        if rule == "withheld":
            shown["required"] = [r for r in shown.get("required", []) if r != field]
            properties[field]["description"] = (
                properties[field].get("description", "") + " (left out unless revealed)"
            ).strip()
        else:
            example = MASK_EXAMPLES[rule]
            properties[field] = {
                "anyOf": [{"type": "string"}, {"type": "null"}],
                "description": f"{properties[field].get('description', '')}, masked "
                f"({example}) unless revealed".lstrip(", "),
            }
    return shown


MASK_EXAMPLES = {"id": "632322********0035", "phone": "138****0001"}


def _reads_as_shown(schemas: dict[str, Any]) -> None:
    """Records read back carry personal data masked: their `data` has schemas of its own."""
    for name, variant in list(schemas.items()):
        if not name.endswith("ReadRecord"):
            continue
        kind = variant.get("properties", {}).get("kind", {}).get("const")
        data = variant.get("properties", {}).get("data", {})
        ref = data.get("$ref", "")
        rules = PERSONAL.get(str(kind))
        if not rules or not ref:
            continue
        model = ref.rsplit("/", 1)[1]
        schemas.setdefault(f"{model}Shown", _shown(schemas[model], rules))
        data["$ref"] = f"#/components/schemas/{model}Shown"


def declare(document: dict[str, Any]) -> dict[str, Any]:
    document.setdefault("components", {}).setdefault("securitySchemes", {}).update(SCHEMES)
    _reads_as_shown(document["components"].setdefault("schemas", {}))
    for path, operations in document.get("paths", {}).items():
        for method, operation in operations.items():
            for status, answer in operation.get("responses", {}).items():
                if status.isdigit() and int(status) >= 400 and not answer.get("content"):
                    answer["content"] = ERROR
                    answer.setdefault("description", "Error")
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
