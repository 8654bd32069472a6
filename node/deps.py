"""FastAPI dependency aliases."""

from typing import Annotated

from fastapi import Depends, Request

from node.context import NodeContext
from node.errors import Unauthorized
from node.principal import Principal


# Both async: FastAPI runs a plain `def` dependency in a worker thread, a hop per request
# for what is an attribute read.
async def get_context(request: Request) -> NodeContext:
    ctx: NodeContext = request.app.state.ctx
    return ctx


async def get_principal(request: Request) -> Principal:
    """Who makes this request, as the operator-access gate found (node/access/gate.py). A
    route reached without the gate has none: refused, never assumed."""
    principal = getattr(request.state, "principal", None)
    if not isinstance(principal, Principal):
        raise Unauthorized("missing, malformed, unknown, expired or revoked token")
    return principal


ContextDep = Annotated[NodeContext, Depends(get_context)]
PrincipalDep = Annotated[Principal, Depends(get_principal)]
