"""FastAPI dependency aliases."""

from typing import Annotated

from fastapi import Depends, Request

from node.context import NodeContext


def get_context(request: Request) -> NodeContext:
    ctx: NodeContext = request.app.state.ctx
    return ctx


ContextDep = Annotated[NodeContext, Depends(get_context)]
