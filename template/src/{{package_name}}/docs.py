"""Interactive API docs served by the service itself: Swagger UI at ``/docs``, ReDoc at ``/redoc``.

FastAPI's own pages load their JavaScript and CSS from a CDN, so they stay blank offline
or behind a firewall. These pages use the copies of Swagger UI 5 and ReDoc 2 shipped in
the ``fastapi-offline`` package, served from ``/docs-assets``: the browser fetches
nothing from another host.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS_URL = "/docs-assets"
ASSETS = Path(str(files("fastapi_offline") / "static"))
REQUIRED_ASSETS = ("swagger-ui-bundle.js", "swagger-ui.css", "redoc.standalone.js", "favicon.png")
DOCS_URL = "/docs"
REDOC_URL = "/redoc"
OAUTH2_REDIRECT_URL = "/docs/oauth2-redirect"


def install_docs(app: FastAPI) -> None:
    """Add ``/docs``, ``/redoc`` and their static files to ``app`` (built with ``docs_url=None, redoc_url=None``)."""
    missing = [name for name in REQUIRED_ASSETS if not (ASSETS / name).is_file()]
    if missing:
        raise RuntimeError(f"fastapi-offline no longer ships {', '.join(missing)} in {ASSETS}: update docs.py")
    openapi_url = app.openapi_url or "/openapi.json"
    app.mount(ASSETS_URL, StaticFiles(directory=ASSETS), name="docs-assets")

    # The pages read the app from the request: a closure over ``app`` would keep every app ever
    # built alive (FastAPI caches facts about route functions in module-level caches).
    @app.get(DOCS_URL, include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        service: FastAPI = request.app
        return get_swagger_ui_html(
            openapi_url=f"{root}{openapi_url}",
            title=f"{service.title} - Swagger UI",
            swagger_js_url=f"{root}{ASSETS_URL}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{ASSETS_URL}/swagger-ui.css",
            swagger_favicon_url=f"{root}{ASSETS_URL}/favicon.png",
            oauth2_redirect_url=f"{root}{OAUTH2_REDIRECT_URL}",
            init_oauth=service.swagger_ui_init_oauth,
            swagger_ui_parameters=service.swagger_ui_parameters,
        )

    @app.get(OAUTH2_REDIRECT_URL, include_in_schema=False)
    async def swagger_ui_oauth2_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    @app.get(REDOC_URL, include_in_schema=False)
    async def redoc(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        service: FastAPI = request.app
        page = get_redoc_html(
            openapi_url=f"{root}{openapi_url}",
            title=f"{service.title} - ReDoc",
            redoc_js_url=f"{root}{ASSETS_URL}/redoc.standalone.js",
            redoc_favicon_url=f"{root}{ASSETS_URL}/favicon.png",
            with_google_fonts=False,
        )
        # ReDoc always shows the vendor's logo from its CDN; the browser is told not to fetch it.
        page.headers["Content-Security-Policy"] = "img-src 'self' data:"
        return page
