"""The page at ``/``, the offline API docs at ``/docs``, and their scripts.

plotly.min.js is served from the installed ``plotly`` package (no CDN, no copy in the repo);
every other file is one of the fixed names in ``static/``: no path comes from a request.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse, HTMLResponse, Response

router = APIRouter(include_in_schema=False)
_STATIC = resources.files("lstm_forecast.serving") / "static"
_JS = "text/javascript; charset=utf-8"
_CACHE = {"Cache-Control": "public, max-age=3600"}


def _plotly_js() -> Path:
    import plotly  # noqa: PLC0415 - only the page needs it

    return Path(plotly.__file__).parent / "package_data" / "plotly.min.js"


def _text(name: str) -> str:
    return (_STATIC / name).read_text(encoding="utf-8")


@router.get("/")
async def page() -> HTMLResponse:
    return HTMLResponse(_text("index.html"))


@router.get("/docs")
async def docs() -> HTMLResponse:
    return HTMLResponse(_text("docs.html"))


@router.get("/static/plotly.min.js")
async def plotly_js() -> FileResponse:
    return FileResponse(_plotly_js(), media_type=_JS, headers=_CACHE)


@router.get("/static/page.js")
async def page_js() -> Response:
    return Response(_text("page.js"), media_type=_JS)


@router.get("/static/docs.js")
async def docs_js() -> Response:
    return Response(_text("docs.js"), media_type=_JS)


@router.get("/static/style.css")
async def style() -> Response:
    return Response(_text("style.css"), media_type="text/css; charset=utf-8")
