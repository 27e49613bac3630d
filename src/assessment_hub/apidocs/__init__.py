"""``/docs`` (Swagger UI) and ``/redoc`` (ReDoc) over ``/openapi.json``, with their assets shipped in the
package (``static/``, served at ``/docs/assets/``): they work offline, with no CDN.

Vendored from the npm registry (``npm pack``): ``swagger-ui-dist`` 5.35.0 (Apache-2.0:
``swagger-ui-bundle.js``, ``swagger-ui.css``, ``favicon-32x32.png``; licence and notice beside them) and
``redoc`` 2.5.4 (MIT: ``bundles/redoc.standalone.js``; licence beside it).
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse

from assessment_hub.errors import NotFound

STATIC = Path(__file__).resolve().parent / "static"
ASSETS = frozenset({"swagger-ui-bundle.js", "swagger-ui.css", "favicon-32x32.png", "redoc.standalone.js"})

router = APIRouter(include_in_schema=False)


@router.get("/docs")
def swagger_ui(request: Request) -> HTMLResponse:
    return get_swagger_ui_html(
        openapi_url=request.app.openapi_url,
        title=f"{request.app.title} - API",
        swagger_js_url="/docs/assets/swagger-ui-bundle.js",
        swagger_css_url="/docs/assets/swagger-ui.css",
        swagger_favicon_url="/docs/assets/favicon-32x32.png",
    )


@router.get("/redoc")
def redoc(request: Request) -> HTMLResponse:
    return get_redoc_html(
        openapi_url=request.app.openapi_url,
        title=f"{request.app.title} - API",
        redoc_js_url="/docs/assets/redoc.standalone.js",
        redoc_favicon_url="/docs/assets/favicon-32x32.png",
        with_google_fonts=False,
    )


@router.get("/docs/assets/{name}")
def asset(name: str) -> FileResponse:
    if name not in ASSETS:
        raise NotFound(f"No documentation asset {name!r}.")
    return FileResponse(STATIC / name, headers={"Cache-Control": "public, max-age=86400"})
