"""The one place a node's connection to its parent is built (federation.peer.Parent).

The running node builds one at start and shares it between its replicator and directive puller
(NodeContext.parent); the operator commands build their own for the length of a command. Both
come through `connect_parent`, so the credential (the node's key, signing every request), the
trusted CA (TIERSYNC_PARENT_CA), the protocol header and the transport (tests route many
in-process nodes through one) are set in one place.
"""

import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from federation.hlc import Clock
from federation.http_peer import HttpPeer
from federation.identity import Identity, NodeAuth
from federation.observe import Observer
from node.settings import Settings


class NoParent(ValueError):
    """This node has no parent configured (TIERSYNC_PARENT_URL and TIERSYNC_PARENT_TOKEN)."""


def parent_tls(ca: Path | None) -> ssl.SSLContext | bool:
    """What an https:// parent is verified against: the pinned CA (or the parent's own
    certificate) when TIERSYNC_PARENT_CA is set, else the system's CAs."""
    if ca is None:
        return True
    context = ssl.create_default_context(cafile=str(ca))
    context.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN  # a pinned leaf is an anchor too
    return context


def node_auth(
    settings: Settings, hash_key_id: str | None = None, clock: Clock | None = None
) -> NodeAuth:
    """The child's credential at its parent: its key (registered once with the code, with
    the fingerprint of its hash key, `hash_key_id`, for the parent to compare), signing with
    the times of `clock` (the node's; the system clock without one)."""
    identity = Identity.of(settings.data_dir, settings.crypto)
    return NodeAuth(
        identity,
        node=settings.code,
        token=settings.parent_token,
        hash_key_id=hash_key_id,
        clock_ms=clock,
    )


def connect_parent(
    settings: Settings,
    *,
    transport: Any = None,
    observe: Observer | None = None,
    hash_key_id: str | None = None,
    clock: Clock | None = None,
) -> HttpPeer:
    """The connection to this node's parent; raises NoParent when none is configured.
    `observe` is told of every request (the serving node's metrics); `clock` (the node's,
    `Database.now_ms`) dates the requests' signatures."""
    if not settings.parent_url or not settings.parent_token:
        raise NoParent("本节点未配置上级：需设置 TIERSYNC_PARENT_URL 和 TIERSYNC_PARENT_TOKEN")
    return HttpPeer(
        settings.parent_url,
        settings.parent_token,
        transport=transport,
        timeout_s=settings.parent_timeout_s,
        exchange_timeout_s=settings.parent_timeout_s,
        auth=node_auth(settings, hash_key_id, clock),
        verify=parent_tls(settings.parent_ca),
        observe=observe,
    )


@asynccontextmanager
async def parent_connection(
    settings: Settings, *, transport: Any = None, clock: Clock | None = None
) -> AsyncIterator[HttpPeer]:
    """`connect_parent` for the length of one operator command, closed after it."""
    parent = connect_parent(settings, transport=transport, clock=clock)
    try:
        yield parent
    finally:
        await parent.aclose()
