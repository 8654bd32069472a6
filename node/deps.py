"""FastAPI dependency aliases."""

from typing import Annotated

from fastapi import Depends, Request

from node.context import NodeContext


def get_context(request: Request) -> NodeContext:
    return request.app.state.ctx  # type: ignore[no-any-return]


ContextDep = Annotated[NodeContext, Depends(get_context)]
