"""The one place a node's connection to its parent is built (federation.peer.Parent).

The running node builds one at start and shares it between its replicator and directive puller
(NodeContext.parent); the operator commands build their own for the length of a command. Both
come through `connect_parent`, so the credential, the protocol header and the transport (tests
route many in-process nodes through one) are set in one place — and so would be request
signing (an httpx.Auth) or a trusted CA.
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from federation.http_peer import HttpPeer
from federation.observe import Observer
from node.settings import Settings


class NoParent(ValueError):
    """This node has no parent configured (TIERSYNC_PARENT_URL and TIERSYNC_PARENT_TOKEN)."""


def connect_parent(
    settings: Settings, *, transport: Any = None, observe: Observer | None = None
) -> HttpPeer:
    """The connection to this node's parent; raises NoParent when none is configured.
    `observe` is told of every request (the serving node's metrics)."""
    if not settings.parent_url or not settings.parent_token:
        raise NoParent("this node needs TIERSYNC_PARENT_URL and TIERSYNC_PARENT_TOKEN")
    return HttpPeer(
        settings.parent_url,
        settings.parent_token,
        transport=transport,
        timeout_s=settings.parent_timeout_s,
        exchange_timeout_s=settings.parent_timeout_s,
        observe=observe,
    )


@asynccontextmanager
async def parent_connection(
    settings: Settings, *, transport: Any = None
) -> AsyncIterator[HttpPeer]:
    """`connect_parent` for the length of one operator command, closed after it."""
    parent = connect_parent(settings, transport=transport)
    try:
        yield parent
    finally:
        await parent.aclose()
