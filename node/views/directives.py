"""Directive progress for the views: counts from the roll-ups, and per-directive progress from
whatever provider the node was wired with (NodeContext.directive_progress: the directives
domain's `view_progress`, node/wiring.py); without one, `progress` is null in the view."""

from node.context import NodeContext


def progress_of(ctx: NodeContext, unit: str, limit: int = 20) -> list[dict[str, object]] | None:
    provider = ctx.directive_progress
    if provider is None:
        return None
    items = provider(ctx.db, node=ctx.identity, unit=unit, limit=limit)
    return [item if isinstance(item, dict) else item.model_dump(mode="json") for item in items]
