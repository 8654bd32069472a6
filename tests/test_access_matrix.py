"""The authorization matrix: each role against each endpoint family of a real app, on both
engines; every route has a rule; the README's role table is the code's."""

import re
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute

from node.access.rights import ENDPOINTS, ROLE_RIGHTS, Access, Right, Role, rule_for
from node.app import create_app
from node.records.service import create_record
from node.settings import Settings
from schemas.records import RecordCreate
from tests.access_support import bearer, grant
from tests.factories import person
from tests.lifespan import running

VILLAGE, GRID = "632322101201", "632322101201003"
README = Path(__file__).resolve().parent.parent / "README.md"
RECORD = uuid.UUID("0f0c3b4e-8a8e-4d47-9b1a-2b6f7d9e0c11")

# One request per family: (right it needs, method, path, JSON body).
FAMILIES: list[tuple[Right | Access, str, str, Any]] = [
    (Right.records_read, "GET", "/api/v1/records", None),
    (Right.records_read, "GET", f"/api/v1/records/{RECORD}", None),
    (Right.records_write, "POST", "/api/v1/records", person(unit=GRID)),
    (Right.records_write, "DELETE", f"/api/v1/records/{uuid.uuid4()}", None),
    (Right.records_import, "POST", "/api/v1/records/bulk", []),
    (Right.personal_reveal, "POST", f"/api/v1/records/{RECORD}/reveal", {"reason": "audit 7"}),
    (Right.views_read, "GET", "/api/v1/views/summary", None),
    (Right.views_read, "GET", "/api/v1/views/overview", None),
    (Right.directives_read, "GET", "/api/v1/directives", None),
    (Right.directives_issue, "POST", "/api/v1/directives", {"title": "t", "target": {}}),
    (Right.directives_respond, "POST", f"/api/v1/directives/{uuid.uuid4()}/ack", {}),
    (Right.sync_inspect, "GET", "/api/v1/sync/quarantine", None),
    (Right.sync_inspect, "GET", "/api/v1/sync/conflicts", None),
    (Right.users_manage, "GET", "/api/v1/users", None),
    (Right.security_manage, "POST", "/api/v1/users/test-viewer/unlock", None),
    (Right.audit_read, "GET", "/api/v1/audit", None),
    (Access.signed_in, "GET", "/api/v1/auth/me", None),
    (Access.child, "GET", "/api/v1/sync/cursor", None),
    (Access.open, "GET", "/healthz", None),
    (Right.metrics_read, "GET", "/metrics", None),
]


@pytest.fixture
async def village(
    tmp_path: Path, database_url_factory: Callable[[str], str]
) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    settings = Settings(
        code=VILLAGE, data_dir=tmp_path / VILLAGE, database_url=database_url_factory(VILLAGE)
    )
    app = create_app(settings, run_replicator=False)
    async with running(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
            ctx = app.state.ctx
            body = RecordCreate(**person(unit=GRID), id=RECORD)
            create_record(ctx.db, node=ctx.identity, body=body)
            yield app, client


# What the issue asks of each role, written out here (not read from the code under test).
_WORK = {
    "records.read", "records.write", "records.import", "views.read", "directives.read",
    "directives.issue", "directives.respond", "sync.inspect",
}  # fmt: skip
EXPECTED: dict[Role, set[str]] = {
    Role.admin: _WORK | {"users.manage", "metrics.read"},  # no audit.read, no personal.reveal
    Role.security: {"security.manage", "metrics.read"},
    Role.auditor: {"audit.read"},
    Role.operator: _WORK | {"personal.reveal", "metrics.read"},
    Role.viewer: {"views.read"},
    Role.terminal: {"records.read", "records.write", "views.read"},
    Role.metrics: {"metrics.read"},  # Prometheus: /metrics and nothing else
}


def allowed(role: Role, rule: Right | Access) -> bool:
    if rule in (Access.open, Access.signed_in):
        return True
    return rule is not Access.child and rule.value in EXPECTED[role]


@pytest.mark.parametrize("role", list(Role))
async def test_each_role_reaches_exactly_its_rights(
    role: Role, village: tuple[FastAPI, httpx.AsyncClient]
) -> None:
    app, client = village
    ctx = app.state.ctx
    grant(ctx.db, VILLAGE, "viewer")  # the user security unlocks
    units = (GRID,) if role is Role.terminal else ()
    token = grant(ctx.db, VILLAGE, role.value, name=f"as-{role}", units=units)
    seen, expected = {}, {}
    for rule, method, path, body in FAMILIES:
        response = await client.request(method, path, json=body, headers=bearer(token))
        key = f"{method} {path.split('/api/v1/')[-1]}"
        if rule is Access.child:  # a user token is no child credential, whatever the role
            seen[key], expected[key] = response.status_code, 401
        elif allowed(role, rule):
            seen[key], expected[key] = response.status_code not in (401, 403), True
        else:
            error = response.json()["error"]
            seen[key] = (response.status_code, f"lacks the right {rule}" in error["message"])
            expected[key] = (403, True)
    assert seen == expected


async def test_without_a_token_every_operator_endpoint_is_401(
    village: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    _, client = village
    answers = {}
    for rule, method, path, body in FAMILIES:
        if rule is not Access.open:
            answers[f"{method} {path}"] = (
                await client.request(method, path, json=body)
            ).status_code
    assert set(answers.values()) == {401}, answers


async def test_terminal_writes_and_reads_only_its_grids(
    village: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    app, client = village
    token = bearer(grant(app.state.ctx.db, VILLAGE, "terminal", name="grid-3", units=(GRID,)))
    outside = person(unit=VILLAGE)
    refused = await client.post("/api/v1/records", json=outside, headers=token)
    assert refused.status_code == 403
    assert refused.json()["error"]["details"] == [
        {"field": "unit", "reason": f"{VILLAGE} not in {GRID}"}
    ]
    bulk = await client.post(
        "/api/v1/records/bulk", json=[outside, person(unit=GRID)], headers=token
    )
    assert bulk.status_code == 403  # a terminal has no import right…
    inside = await client.post("/api/v1/records", json=person(unit=GRID), headers=token)
    assert inside.status_code == 201  # …but writes in its grid
    other = await client.get("/api/v1/records", params={"unit": VILLAGE}, headers=token)
    assert other.status_code == 403
    mine = await client.get("/api/v1/records", headers=token)
    assert {r["unit"] for r in mine.json()["items"]} == {GRID}
    view = await client.get("/api/v1/views/summary", headers=token)
    assert view.json()["unit"] == GRID


async def test_a_token_of_another_node_or_garbled_is_401_with_one_message(
    village: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    app, client = village
    token = grant(app.state.ctx.db, VILLAGE, "operator")
    node, token_id, secret = token.split("_", 3)[1:]
    variants = {
        "other node": f"tsu_632322101202_{token_id}_{secret}",
        "wrong secret": f"tsu_{node}_{token_id}_{'A' * len(secret)}",
        "unknown id": f"tsu_{node}_nosuchtoken0_{secret}",
        "malformed": "hello",
        "child credential": "tsk_632322101201_" + "x" * 40,
    }
    messages = set()
    for what, value in variants.items():
        response = await client.get("/api/v1/records", headers=bearer(value))
        assert response.status_code == 401, what
        messages.add(response.json()["error"]["message"])
    not_bearer = await client.get("/api/v1/records", headers={"Authorization": f"Basic {token}"})
    assert not_bearer.status_code == 401
    messages.add(not_bearer.json()["error"]["message"])
    assert len(messages) == 1  # no oracle


def test_every_route_of_the_app_has_a_rule(tmp_path: Path) -> None:
    app = create_app(Settings(code=VILLAGE, data_dir=tmp_path))
    unlisted = [
        (method, route.path)
        for route in app.routes
        if isinstance(route, APIRoute)
        for method in route.methods
        if rule_for(method, route.path) is None
    ]
    assert unlisted == []
    assert ("POST", "/api/v1/sync/push") in ENDPOINTS  # node to node: the child credential


def test_an_unlisted_endpoint_is_refused_to_everyone() -> None:
    assert rule_for("POST", "/api/v1/views/summary") is None  # GET only
    assert rule_for("GET", "/api/v1/new-feature") is None


def test_readme_role_table_is_the_code() -> None:
    text = README.read_text()
    header = re.search(r"^\| right \| (.+) \|$", text, re.M)
    assert header, "README has the role table"
    roles = [r.strip().strip("`") for r in header.group(1).split("|")]
    assert roles == [r.value for r in Role]
    table: dict[str, set[str]] = {role: set() for role in roles}
    block = text[header.end() :].split("\n\n", 1)[0]  # the table's own rows
    for right, cells in re.findall(r"^\| `([a-z.]+)` \|(.+)\|$", block, re.M):
        for role, cell in zip(roles, cells.split("|"), strict=True):
            if cell.strip() == "✓":
                table[role].add(right)
    assert table == {r.value: {x.value for x in ROLE_RIGHTS[r]} for r in Role}


def test_openapi_declares_how_each_operation_is_authenticated(tmp_path: Path) -> None:
    document = create_app(Settings(code=VILLAGE, data_dir=tmp_path)).openapi()
    schemes = document["components"]["securitySchemes"]
    assert schemes["userToken"] == {**schemes["userToken"], "type": "http", "scheme": "bearer"}
    assert schemes["dashboardSession"]["name"] == "tiersync_session"
    paths = document["paths"]
    assert paths["/api/v1/records"]["get"]["security"] == [
        {"userToken": []},
        {"dashboardSession": []},
    ]
    assert "records.read" in paths["/api/v1/records"]["get"]["description"]
    assert paths["/api/v1/sync/push"]["post"]["security"] == [{"childCredential": []}]
    assert paths["/healthz"]["get"]["security"] == []
