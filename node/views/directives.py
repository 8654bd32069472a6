"""Directive progress for the views: counts from the roll-ups, and per-directive progress from
the directives domain (node/directives), called through one function.

HOOK: `progress_of(ctx, unit)` asks node.directives.progress for `view_progress(db, *, node,
unit, limit)` -> list of dicts ({"id", "title", "targets", "delivered", "acknowledged", "done",
...}); until the directives domain provides it, `progress` is null in the view.
"""

import importlib
from typing import Any

from node.context import NodeContext


def progress_of(ctx: NodeContext, unit: str, limit: int = 20) -> list[dict[str, object]] | None:
    try:
        module: Any = importlib.import_module("node.directives.progress")
    except ImportError:
        return None
    provider = getattr(module, "view_progress", None)
    if provider is None:
        return None
    items = provider(ctx.db, node=ctx.identity, unit=unit, limit=limit)
    return [item if isinstance(item, dict) else item.model_dump(mode="json") for item in items]
