"""Apps entered the way every test enters them: with time to start on a loaded machine.

asgi-lifespan's default (5 s to start) is shorter than a fresh node's migrations take when the
two shared cores are busy; a node that really hangs still fails the test, just later.
"""

from asgi_lifespan import LifespanManager
from fastapi import FastAPI

START_S = 60.0


def running(app: FastAPI) -> LifespanManager:
    return LifespanManager(app, startup_timeout=START_S, shutdown_timeout=START_S)
