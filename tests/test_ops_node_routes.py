"""`/api/v1/node/...`, what the CLI calls while the node serves (docs/decisions/0703): right
`ops.run`, a bundle named only inside `incoming/`, a node without a parent refused."""

import httpx
from fastapi import FastAPI

from tests.access_support import bearer, grant


async def test_a_viewer_may_not_resync(node_client: httpx.AsyncClient, node_app: FastAPI) -> None:
    ctx = node_app.state.ctx
    viewer = grant(ctx.db, ctx.identity.code, "viewer", name="a-viewer")
    refused = await node_client.post("/api/v1/node/resync", json={}, headers=bearer(viewer))
    assert refused.status_code == 403
    anonymous = await node_client.post(
        "/api/v1/node/resync", json={}, headers={"Authorization": ""}
    )
    assert anonymous.status_code == 401


async def test_without_a_parent_resync_is_refused(node_client: httpx.AsyncClient) -> None:
    answer = await node_client.post("/api/v1/node/resync", json={"since": 0})
    assert answer.status_code == 400 and "no parent" in answer.json()["error"]["message"]


async def test_a_receipt_is_named_only_inside_incoming(node_client: httpx.AsyncClient) -> None:
    escape = await node_client.post("/api/v1/node/receipt", json={"file": "../tiersync.db"})
    assert escape.status_code == 422 and escape.json()["error"]["details"][0]["field"] == "file"
    missing = await node_client.post("/api/v1/node/receipt", json={"file": "none.tsb"})
    assert missing.status_code == 404
    negative = await node_client.post("/api/v1/node/resync", json={"since": -1})
    assert negative.status_code == 422
