"""Startup hook that pulls directives from the parent (filled in by the directives domain)."""

from collections.abc import Awaitable, Callable
from typing import Any

from node.context import NodeContext


def directives_hook(
    *, transport: Any = None, run: bool = True
) -> Callable[[NodeContext], Callable[[], Awaitable[None]] | None]:
    def start(ctx: NodeContext) -> Callable[[], Awaitable[None]] | None:
        return None

    return start
