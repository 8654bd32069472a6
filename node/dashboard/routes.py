"""`/`: the dashboard page; `/static/…`: its assets, shipped in the package (no CDN, no internet).

The page loads one JSON document, /api/v1/views/overview, and draws everything from it.
"""

import hashlib
from functools import cache
from importlib import resources

from fastapi import APIRouter, Response
from fastapi.responses import HTMLResponse

from node.errors import NotFound

router = APIRouter(include_in_schema=False)
ASSETS = {
    "dashboard.css": "text/css; charset=utf-8",
    "dashboard.js": "text/javascript; charset=utf-8",
}


@cache
def _asset(name: str) -> bytes:
    return resources.files("node").joinpath("static", name).read_bytes()


@cache
def _page() -> str:
    version = hashlib.sha256(b"".join(_asset(n) for n in sorted(ASSETS))).hexdigest()[:12]
    return _asset("dashboard.html").decode().replace("{{version}}", version)


@router.get("/", response_class=HTMLResponse)
def dashboard() -> HTMLResponse:
    return HTMLResponse(_page(), headers={"Cache-Control": "no-cache"})


@router.get("/static/{name}")
def asset(name: str) -> Response:
    if name not in ASSETS:
        raise NotFound(f"no asset {name}")
    # Versioned URLs (?v=<hash of the assets>) let browsers keep them for a year.
    headers = {"Cache-Control": "public, max-age=31536000, immutable"}
    return Response(_asset(name), media_type=ASSETS[name], headers=headers)
