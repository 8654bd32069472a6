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


def unanswered(exc: httpx.HTTPError, *, base_url: str, timeout_s: float, request: str) -> str:
    """One line for an operator: which node did not answer, after how long, what to check."""
    where = f"the parent node at {base_url}"
    if isinstance(exc, httpx.TimeoutException):
        return (
            f"{where} did not answer within {timeout_s:g} s ({request}): check that it is "
            "running and not overloaded, and the network between; the limit is "
            "TIERSYNC_PARENT_TIMEOUT_S"
        )
    reason = str(exc).strip() or exc.__class__.__name__
    if isinstance(exc, httpx.ConnectError):
        return (
            f"could not connect to {where} ({request}): {reason}; check that it is running "
            "and that parent_url is right"
        )
    return f"{where} failed ({request}): {exc.__class__.__name__}: {reason}"
