"""The one way this node's HTTP clients to its parent are built: base URL, credential, protocol."""

import httpx

from federation.auth import BearerToken
from schemas.sync import PROTOCOL_VERSION


def parent_client(
    base_url: str,
    token: str,
    *,
    transport: httpx.AsyncBaseTransport | None,
    timeout_s: float,
    headers: dict[str, str] | None = None,
) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=base_url,
        auth=BearerToken(token),
        transport=transport,
        timeout=timeout_s,
        headers={"X-Tiersync-Protocol": str(PROTOCOL_VERSION), **(headers or {})},
    )
