"""The OpenAPI document, made fit for a client generator (issue 17).

FastAPI's own document is refined in one place, so that the routes stay short:
- a record's `data` is typed per kind: RecordCreate, RecordIn and RecordRead become unions of one
  variant per kind, discriminated on `kind` (the JSON accepted is exactly what it was);
- the bodies that routes read raw are described (the push, the bulk import);
- every operation has a summary and a description (node/api/operation_docs.py);
- every status an operation can answer is listed, each with the one error body;
- the node-to-node endpoints declare their bearer credential.
"""

from collections.abc import Callable
from typing import Annotated, Any, Literal, Union

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel, Field, TypeAdapter, create_model

from node.api.operation_docs import DESCRIPTIONS
from schemas.errors import ErrorBody
from schemas.kinds import BASE_KINDS, KIND_MODELS
from schemas.records import RecordCreate, RecordIn, RecordRead
from schemas.sync import BATCH_MEDIA_TYPE, PushBatch

REF = "#/components/schemas/{model}"
ERROR_TEXT = {
    400: "Bad request (e.g. a protocol version this node does not speak)",
    401: "Missing, unknown or revoked credential",
    403: "Outside this node's jurisdiction (or the credential's subtree)",
    404: "Not found",
    409: "Conflict (id owned elsewhere or used by another kind; cursor mismatch)",
    413: "Request body larger than this node accepts (TIERSYNC_MAX_BODY_BYTES)",
    422: "Invalid input: the details name each field and the reason",
    503: "The database is unavailable, or not at the latest migration; or this node's clock "
    "was set back after running ahead (`clock_behind`, `retry_after_s`)",
    507: "The disk is full (`storage_full`): nothing of the request was stored",
}
CHILD_AUTH = "childCredential"


def _statuses(method: str, path: str, has_body: bool) -> set[int]:
    """What an operation may answer besides its success."""
    if path in ("/healthz", "/readyz"):
        return {503}
    statuses = {422, 503}
    if method != "get":
        statuses |= {507}  # a write on a full disk
    if has_body:
        statuses |= {400, 413}  # a body that is not JSON; one too large
    if path.startswith(("/api/v1/sync/", "/api/v1/ops/")):
        statuses |= {400, 401, 403, 404, 409}
    elif path.startswith("/api/v1/records") or path.startswith("/api/v1/directives"):
        statuses |= {403, 404, 409}
    elif path.startswith("/api/v1/views"):
        statuses |= {403}
    return statuses


def _child_auth(path: str) -> bool:
    return path.startswith(("/api/v1/sync/push", "/api/v1/sync/cursor", "/api/v1/ops/")) or (
        path == "/api/v1/sync/directives"
    )


def _variant(base: type[BaseModel], kind: str, data: Any) -> type[BaseModel]:
    model: type[BaseModel] = create_model(
        f"{data.__name__}{base.__name__.removeprefix('Record')}Record",
        __base__=base,
        __doc__=f"{base.__doc__ or ''} Kind `{kind}`.".strip(),
        kind=(Literal[kind], Field(description="Record kind")),  # type: ignore[arg-type]
        data=(data, Field(description=f"The `{kind}` payload")),
    )
    return model


Mode = Literal["validation", "serialization"]


def _typed_union(base: type[BaseModel], mode: Mode) -> Any:
    # Directives and receipts are read here but written through /api/v1/directives.
    kinds = KIND_MODELS if mode == "serialization" else BASE_KINDS
    variants = [_variant(base, kind.value, KIND_MODELS[kind]) for kind in kinds]
    union: Any = Annotated[Union[tuple(variants)], Field(discriminator="kind")]  # noqa: UP007
    return TypeAdapter(union).json_schema(ref_template=REF, mode=mode)


def _add_schemas(schemas: dict[str, Any], generated: dict[str, Any]) -> dict[str, Any]:
    """Put `generated`'s $defs into the components; return the rest (the schema itself)."""
    for name, schema in generated.pop("$defs", {}).items():
        schemas.setdefault(name, schema)
    return generated


def _model_schema(schemas: dict[str, Any], model: type[BaseModel]) -> None:
    generated = model.model_json_schema(ref_template=REF)
    schemas.setdefault(model.__name__, _add_schemas(schemas, generated))


def _type_records(schemas: dict[str, Any]) -> None:
    modes: tuple[tuple[type[BaseModel], Mode], ...] = (
        (RecordCreate, "validation"),
        (RecordIn, "validation"),
        (RecordRead, "serialization"),
    )
    for base, mode in modes:
        if base.__name__ in schemas:
            union = _add_schemas(schemas, _typed_union(base, mode))
            union["description"] = (
                f"{base.__doc__} `data` is typed by `kind` (one variant per kind)."
            )
            schemas[base.__name__] = union


def _bodies(paths: dict[str, Any]) -> None:
    push = paths.get("/api/v1/sync/push", {}).get("post")
    if push is not None:
        ref = {"$ref": REF.format(model=PushBatch.__name__)}
        push["requestBody"] = {
            "required": True,
            "description": "A slice of the child's change log; may be zstd-compressed "
            "(Content-Encoding: zstd)",
            "content": {BATCH_MEDIA_TYPE: {"schema": ref}, "application/json": {"schema": ref}},
        }
    bulk = paths.get("/api/v1/records/bulk", {}).get("post")
    if bulk is not None:
        bulk["requestBody"] = {
            "required": True,
            "description": "A JSON array of records, or NDJSON (one record per line)",
            "content": {
                "application/json": {
                    "schema": {
                        "type": "array",
                        "items": {"$ref": REF.format(model=RecordCreate.__name__)},
                    }
                },
                "application/x-ndjson": {"schema": {"type": "string"}},
            },
        }


def _responses(path: str, method: str, operation: dict[str, Any]) -> None:
    responses = operation.setdefault("responses", {})
    if method == "put" and path == "/api/v1/records/{record_id}" and "200" in responses:
        responses["201"] = {**responses["200"], "description": "Created (or revived)"}
    error = {"application/json": {"schema": {"$ref": REF.format(model=ErrorBody.__name__)}}}
    for status in sorted(_statuses(method, path, "requestBody" in operation)):
        entry = responses.setdefault(str(status), {})
        entry["description"] = ERROR_TEXT[status]
        entry["content"] = error


def _describe(path: str, method: str, operation: dict[str, Any]) -> None:
    text = DESCRIPTIONS.get((method.upper(), path))
    if text:
        operation["description"] = text
    operation.setdefault("summary", operation.get("operationId", path))


def _plain_tuples(node: Any) -> None:
    """A tuple of one type (a digest's [count, sum]) as an array of that type with its length:
    `prefixItems` trips client generators and schemathesis alike."""
    if isinstance(node, dict):
        items = node.get("prefixItems")
        if isinstance(items, list) and items and all(i == items[0] for i in items):
            del node["prefixItems"]
            node["items"] = items[0]
        for value in node.values():
            _plain_tuples(value)
    elif isinstance(node, list):
        for value in node:
            _plain_tuples(value)


def refine(document: dict[str, Any]) -> dict[str, Any]:
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    _model_schema(schemas, ErrorBody)
    _model_schema(schemas, PushBatch)
    _type_records(schemas)
    schemas.pop("HTTPValidationError", None)
    schemas.pop("ValidationError", None)
    document["components"]["securitySchemes"] = {
        CHILD_AUTH: {
            "type": "http",
            "scheme": "bearer",
            "description": "A child node's credential (from `tiersync child add` at this node)",
        }
    }
    paths = document.get("paths", {})
    _bodies(paths)
    for path, operations in paths.items():
        for method, operation in operations.items():
            _describe(path, method, operation)
            _responses(path, method, operation)
            if _child_auth(path):
                operation["security"] = [{CHILD_AUTH: []}]
    _plain_tuples(document)
    return document


def install(app: FastAPI) -> Callable[[], dict[str, Any]]:
    """Serve the refined document at /openapi.json (built once)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            app.openapi_schema = refine(document)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return openapi
