"""`/docs` (Swagger UI) and `/redoc` from assets shipped in the package: they work on a closed
network. The files are the npm packages' own (node/static/vendor/README.md)."""

from functools import cache
from importlib import resources

from fastapi import APIRouter, Request, Response
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse

from node.errors import NotFound

VENDOR = "/static/vendor"
ASSETS: dict[tuple[str, str], str] = {
    ("swagger-ui", "swagger-ui-bundle.js"): "text/javascript; charset=utf-8",
    ("swagger-ui", "swagger-ui.css"): "text/css; charset=utf-8",
    ("swagger-ui", "favicon-32x32.png"): "image/png",
    ("redoc", "redoc.standalone.js"): "text/javascript; charset=utf-8",
}
router = APIRouter(include_in_schema=False)


@cache
def _asset(package: str, name: str) -> bytes:
    return resources.files("node").joinpath("static", "vendor", package, name).read_bytes()


def _title(request: Request) -> str:
    return f"{request.app.title} — API"


@router.get("/docs", response_class=HTMLResponse)
def swagger_ui(request: Request) -> HTMLResponse:
    return get_swagger_ui_html(
        openapi_url=request.app.openapi_url,
        title=_title(request),
        swagger_js_url=f"{VENDOR}/swagger-ui/swagger-ui-bundle.js",
        swagger_css_url=f"{VENDOR}/swagger-ui/swagger-ui.css",
        swagger_favicon_url=f"{VENDOR}/swagger-ui/favicon-32x32.png",
        # No badge that would ask an outside validator about the document.
        swagger_ui_parameters={"validatorUrl": None},
    )


@router.get("/redoc", response_class=HTMLResponse)
def redoc(request: Request) -> HTMLResponse:
    return get_redoc_html(
        openapi_url=request.app.openapi_url,
        title=_title(request),
        redoc_js_url=f"{VENDOR}/redoc/redoc.standalone.js",
        redoc_favicon_url=f"{VENDOR}/swagger-ui/favicon-32x32.png",
        with_google_fonts=False,
    )


@router.get(VENDOR + "/{package}/{name}")
def vendored(package: str, name: str) -> Response:
    media_type = ASSETS.get((package, name))
    if media_type is None:
        raise NotFound(f"no asset {package}/{name}")
    headers = {"Cache-Control": "public, max-age=86400"}
    return Response(_asset(package, name), media_type=media_type, headers=headers)
