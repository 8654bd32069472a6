"""`/`: the dashboard page; `/static/…`: its assets, shipped in the package (no CDN, no internet).

The page loads one JSON document per unit, /api/v1/views/overview, and the live incident feed,
/api/v1/live/incidents, and draws everything from them. Its labels come from one message
catalogue (node/static/messages.json, zh-CN and en), inlined into the page.
"""

import gzip
import hashlib
from functools import cache
from importlib import resources
from importlib.resources.abc import Traversable

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse

from node.errors import NotFound

router = APIRouter(include_in_schema=False)
TYPES = {
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".json": "application/json",
    ".md": "text/markdown; charset=utf-8",
    "": "text/plain; charset=utf-8",  # the vendored licences: LICENSE, NOTICE
}
GZIP_OVER = 1024


def _walk(folder: Traversable, prefix: str = "") -> dict[str, Traversable]:
    found: dict[str, Traversable] = {}
    for entry in folder.iterdir():
        name = prefix + entry.name
        if entry.is_dir():
            found.update(_walk(entry, name + "/"))
        elif name != "dashboard.html":
            found[name] = entry
    return found


@cache
def _assets() -> dict[str, Traversable]:
    """Every file under node/static, by its path there: nothing else can be asked for."""
    return _walk(resources.files("node").joinpath("static"))


def _type(name: str) -> str:
    last = name.rsplit("/", 1)[-1]
    return TYPES.get("." + last.rsplit(".", 1)[1] if "." in last else "", TYPES[""])


@cache
def _asset(name: str) -> bytes:
    return _assets()[name].read_bytes()


@cache
def _gzipped(name: str) -> bytes:
    return gzip.compress(_asset(name), compresslevel=9, mtime=0)


@cache
def _page() -> str:
    version = hashlib.sha256(b"".join(_asset(n) for n in sorted(_assets()))).hexdigest()[:12]
    # Inlined as JSON in a <script> element: "</" must not close it early ("<\/" is the same JSON).
    messages = _asset("messages.json").decode().replace("</", "<\\/")
    page = resources.files("node").joinpath("static", "dashboard.html").read_text()
    return page.replace("{{version}}", version).replace("{{messages}}", messages)


@router.get("/", response_class=HTMLResponse)
def dashboard() -> HTMLResponse:
    return HTMLResponse(_page(), headers={"Cache-Control": "no-cache"})


@router.get("/static/{name:path}")
def asset(name: str, request: Request) -> Response:
    if name not in _assets():
        raise NotFound(f"no asset {name}")
    # Versioned URLs (?v=<hash of the assets>) let browsers keep them for a year.
    headers = {"Cache-Control": "public, max-age=31536000, immutable", "Vary": "Accept-Encoding"}
    body = _asset(name)
    if len(body) > GZIP_OVER and "gzip" in request.headers.get("accept-encoding", ""):
        body = _gzipped(name)  # the charting library: 1.1 MB, 0.36 MB compressed
        headers["Content-Encoding"] = "gzip"
    return Response(body, media_type=_type(name), headers=headers)
