"""The OpenAPI document is one a client generator can use (issue 17), and the app keeps to it:
schemathesis fuzzes every operation against the ASGI app (bounded: a few examples each) and
finds no server error and no answer that breaks the document."""

import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from node.access.rights import Access, rule_for
from node.app import create_app
from node.settings import Settings
from node.units.service import enrol_child
from schemas.kinds import BASE_KINDS, Kind
from tests.access_support import bearer, grant
from tests.factories import household, person

TOWNSHIP, VILLAGE = "632322101", "632322101201"
TESTSERVER = "testserver"  # the Host Starlette's TestClient sends
METHODS = {"get", "post", "put", "delete", "patch"}


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, str]]:
    """A township node with a child credential and a few records; its lifespan entered."""
    data = tmp_path_factory.mktemp("openapi")
    app = create_app(
        Settings(code=TOWNSHIP, name="Kangyang Town", data_dir=data, allowed_hosts=[TESTSERVER]),
        run_replicator=False,
    )
    with TestClient(app) as client:
        client.headers.update(bearer(grant(app.state.ctx.db, TOWNSHIP)))
        # Written while the township still holds the village (no node of its own yet).
        for body in (person(), household(), person(unit=VILLAGE + "003")):
            assert client.post("/api/v1/records", json=body).status_code == 201
        token = enrol_child(app.state.ctx.db, node_code=TOWNSHIP, code=VILLAGE, name="Dongmen")
        yield app, token.token


def document(app: Any) -> dict[str, Any]:
    result: dict[str, Any] = app.openapi()
    return result


def operations(doc: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, items in doc["paths"].items():
        for method, operation in items.items():
            if method in METHODS:
                yield method, path, operation


def test_every_operation_has_a_summary_a_description_and_its_statuses(
    served: tuple[Any, str],
) -> None:
    doc = document(served[0])
    for method, path, op in operations(doc):
        assert op.get("summary") and op.get("description"), (method, path)
        statuses = set(op["responses"])
        assert statuses & {"200", "201", "204"}, (method, path)
        if path.startswith("/api/v1/"):
            assert {"422", "503"} <= statuses, (method, path, statuses)
        if path.startswith(("/api/v1/ops/", "/api/v1/sync/push")):
            assert {"400", "401", "403", "409"} <= statuses, (method, path)
            assert op["security"], (method, path)
        if "requestBody" in op:
            assert "413" in statuses, (method, path)
        for status, answer in op["responses"].items():
            if int(status) >= 400:
                schema = answer["content"]["application/json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/ErrorBody"}
    put = doc["paths"]["/api/v1/records/{record_id}"]["put"]["responses"]
    assert {"200", "201"} <= set(put)


def test_record_data_is_typed_per_kind_by_a_discriminated_union(
    served: tuple[Any, str],
) -> None:
    schemas = document(served[0])["components"]["schemas"]
    for name, kinds, payload in (
        ("RecordCreate", BASE_KINDS, "Person"),
        ("RecordIn", BASE_KINDS, "Person"),
        ("RecordRead", tuple(Kind), "PersonShown"),  # personal data masked (issue 12)
    ):
        union = schemas[name]
        assert union["discriminator"]["propertyName"] == "kind"
        assert set(union["discriminator"]["mapping"]) == {k.value for k in kinds}
        person_ref = union["discriminator"]["mapping"]["person"].rsplit("/", 1)[1]
        variant = schemas[person_ref]
        assert variant["properties"]["data"] == {
            "$ref": f"#/components/schemas/{payload}",
            "description": "The `person` payload",
        }
    assert "masked" in schemas["PersonShown"]["properties"]["id_number"]["description"]
    assert {"id_number", "name", "sex", "birth_date"} <= set(schemas["Person"]["required"])
    read = schemas["PersonReadRecord"]["properties"]["updated_at"]
    assert read["format"] == "date-time"


def test_the_push_and_bulk_bodies_are_described(served: tuple[Any, str]) -> None:
    paths = document(served[0])["paths"]
    push = paths["/api/v1/sync/push"]["post"]["requestBody"]["content"]
    assert push["application/json"]["schema"] == {"$ref": "#/components/schemas/PushBatch"}
    bulk = paths["/api/v1/records/bulk"]["post"]["requestBody"]["content"]
    assert bulk["application/json"]["schema"]["items"] == {
        "$ref": "#/components/schemas/RecordCreate"
    }


def test_timestamps_carry_their_offset(served: tuple[Any, str]) -> None:
    app, _ = served
    with TestClient(app) as client:
        client.headers.update(bearer(grant(app.state.ctx.db, TOWNSHIP, name="lister")))
        items = client.get("/api/v1/records").json()["items"]
    assert items
    for item in items:
        assert item["updated_at"].endswith(("Z", "+00:00")), item["updated_at"]


def test_docs_and_redoc_use_only_assets_shipped_in_the_package(served: tuple[Any, str]) -> None:
    app, _ = served
    with TestClient(app) as client:
        for page in ("/docs", "/redoc"):
            html = client.get(page).text
            assert "http://" not in html.replace("http://www.w3.org", "")
            assert "https://" not in html, page
            for asset in ("/static/vendor/",):
                assert asset in html
        for asset in (
            "/static/vendor/swagger-ui/swagger-ui-bundle.js",
            "/static/vendor/swagger-ui/swagger-ui.css",
            "/static/vendor/redoc/redoc.standalone.js",
        ):
            answer = client.get(asset)
            assert answer.status_code == 200 and len(answer.content) > 100_000, asset
    vendor = Path(__file__).parents[1] / "node" / "static" / "vendor"
    assert (vendor / "swagger-ui" / "LICENSE").is_file() and (
        vendor / "redoc" / "LICENSE"
    ).is_file()


# --- schemathesis over the whole document -----------------------------------------------------

# The app is built at import, as schemathesis reads its document then; its lifespan (and so its
# database) starts in the fixture.
_FUZZ_DIR = Path(tempfile.mkdtemp(prefix="tiersync-fuzz-"))
_fuzz_app = create_app(
    Settings(code=TOWNSHIP, name="Kangyang Town", data_dir=_FUZZ_DIR, allowed_hosts=[TESTSERVER]),
    run_replicator=False,
)
# The live feed streams until the client leaves: tests/test_live*.py drive it; not fuzzed here.
schema = schemathesis.openapi.from_asgi("/openapi.json", _fuzz_app).exclude(
    path="/api/v1/live/incidents"
)


@pytest.fixture(scope="module")
def fuzz_app() -> Iterator[dict[str, str]]:
    """The node schemathesis calls, running, with the credential each operation takes: a
    child's for the node-to-node ones, an operator's for the rest."""
    try:
        with TestClient(_fuzz_app):
            db = _fuzz_app.state.ctx.db
            child = enrol_child(db, node_code=TOWNSHIP, code=VILLAGE, name="Dongmen").token
            yield {"child": child, "user": grant(db, TOWNSHIP)}
    finally:
        shutil.rmtree(_FUZZ_DIR, ignore_errors=True)


@schema.parametrize()
@settings(
    max_examples=8,
    deadline=None,
    derandomize=True,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
def test_fuzz_every_operation(case: Any, fuzz_app: dict[str, str]) -> None:
    child = rule_for(case.method.upper(), case.path) is Access.child
    headers = bearer(fuzz_app["child" if child else "user"])
    case.call_and_validate(
        headers=headers,
        checks=[
            not_a_server_error,
            status_code_conformance,
            content_type_conformance,
            response_schema_conformance,
        ],
    )


def test_an_unknown_record_id_is_a_documented_404(served: tuple[Any, str]) -> None:
    app, _ = served
    with TestClient(app) as client:
        client.headers.update(bearer(grant(app.state.ctx.db, TOWNSHIP, name="reader")))
        answer = client.get(f"/api/v1/records/{uuid.uuid4()}")
    assert answer.status_code == 404 and answer.json()["error"]["code"] == "not_found"
