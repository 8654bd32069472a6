"""Startup hook of the directives domain: the long-poll signal, and the puller at a child."""

import asyncio
from collections.abc import Awaitable, Callable

from federation.peer import DirectiveSource
from federation.puller import Puller, PullerConfig
from node.context import NodeContext
from node.directives.inbound import SqlDirectiveStore
from node.directives.seals import trusted_ca_of
from node.directives.service import wake_of
from node.signals import CommitSignal
from schemas.directives import DirectiveFeed

# How long a child's directive poll is held (the parent's cap is 60 s): under the 60 s that
# proxies commonly allow an idle request, and as long as possible, for an idle link costs one
# round trip a hold.
LONG_POLL_S = 55.0
TASK = "directive-puller"
Stop = Callable[[], Awaitable[None]]


def inbox(ctx: NodeContext) -> SqlDirectiveStore:
    """This node's store of directives from above, waking the children's polls as it stores."""
    return SqlDirectiveStore(
        ctx.db,
        ctx.settings.code,
        wake=wake_of(ctx),
        ca=trusted_ca_of(ctx),
        suite=ctx.settings.crypto,
    )


def build_puller(ctx: NodeContext, peer: DirectiveSource) -> Puller:
    config = PullerConfig(wait_s=LONG_POLL_S, retry_max_s=ctx.settings.retry_max_s)

    def answered(feed: DirectiveFeed, reconnected: bool) -> None:
        # The held poll is this node's live line to its parent: a parent that went back
        # (restored) or came back is noticed here, and the replicator resends at once.
        if ctx.replicator is not None:
            ctx.replicator.parent_seen(feed.push_cursor, reconnected=reconnected)

    health = ctx.supervisor.reporter(TASK)
    return Puller(store=inbox(ctx), peer=peer, config=config, health=health, on_answer=answered)


def directives_hook(*, run: bool = True) -> Callable[[NodeContext], Stop | None]:
    """A startup hook for create_app: wakes held polls on directive commits and (unless
    run=False) pulls from the parent over the node's parent connection.

    With run=False the puller is built but not started, for tests that call `run_once()`.
    """

    def start(ctx: NodeContext) -> Stop | None:
        signal = ctx.directive_signal = CommitSignal(asyncio.get_running_loop())
        puller = None
        if ctx.parent is not None:
            puller = ctx.puller = build_puller(ctx, ctx.parent)
        stop_puller = ctx.supervisor.spawn(TASK, puller.run_forever) if puller and run else None

        async def stop() -> None:
            signal.close()
            if stop_puller is not None:
                await stop_puller()

        return stop

    return start
