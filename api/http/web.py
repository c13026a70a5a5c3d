"""The web interface at ``/`` (contract: "Web interface"; ``docs/web.md``).

One server-rendered page (``templates/web/index.html``, Jinja2) and a small script
(``static/web/app.js``) that calls the documented HTTP API with the bearer token kept in
the browser's session storage. Every form is generated in the browser from
``/openapi.json``, i.e. from the routes' own parameter definitions, so the interface
cannot drift from the API. Scripts and styles, Leaflet included (``geo/vendor``), are
served by the app itself: nothing comes from a CDN.

The page and its static files need no token (they hold no data); ``GET /session`` says
who a token belongs to, so the page can leave out the controls a reviewer may not use
(the API refuses a reviewer's write with 403 anyway).
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Final

import jinja2
from fastapi import APIRouter, FastAPI, Query
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from markupsafe import Markup

import geo
from api.http.deps import CurrentUser

__all__ = ["page_router", "session_router", "install_web", "STATIC_PREFIX", "WEB_PATHS"]

_HERE: Final = Path(__file__).resolve().parent
_TEMPLATES: Final = _HERE / "templates"
_STATIC: Final = _HERE / "static"
_VENDOR: Final = Path(geo.__file__).resolve().parent / "vendor"
#: Where the page's scripts and styles are served.
STATIC_PREFIX: Final = "/static"
#: Paths of the interface itself (no token, not in the audit log).
WEB_PATHS: Final = ("/", STATIC_PREFIX + "/")

#: The page's Content-Security-Policy: scripts, styles and data from this server only.
#: A document opened from the page (a blob: URL) inherits it, so it also allows what the
#: self-contained documents carry inline (their scripts, styles, data: images) and the
#: base-map tiles a map may show (https images).
CSP: Final = ("default-src 'self'; script-src 'self' 'unsafe-inline'; "
              "style-src 'self' 'unsafe-inline'; img-src 'self' data: blob: https:; "
              "font-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; "
              "base-uri 'none'; form-action 'self'")

page_router = APIRouter(include_in_schema=False)
session_router = APIRouter(tags=["meta"])


@lru_cache(maxsize=1)
def _env() -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.FileSystemLoader(_TEMPLATES),
                              autoescape=jinja2.select_autoescape(["html"]),
                              undefined=jinja2.StrictUndefined)


@lru_cache(maxsize=1)
def _messages() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((_STATIC / "web" / "messages.json").read_text("utf-8"))
    return data


def _lang(requested: str | None) -> str:
    """``sv`` or ``en``: the page's ``?lang=``, else ``TRYGGKARTA_LANG``, else Swedish."""
    from geo.documents import resolve_lang
    from geo.errors import InputError

    try:
        return resolve_lang(requested)
    except InputError:
        try:
            return resolve_lang(None)
        except InputError:
            return "sv"


def render_page(lang: str) -> str:
    """The HTML of the interface in ``lang``.

    Examples
    --------
    >>> html = render_page("en")
    >>> '<html lang="en">' in html and 'data-testid="sign-in"' in html
    True
    """
    messages = _messages()
    # the messages go into a JSON <script> block: keep "</" out of it
    blob = json.dumps(messages, ensure_ascii=False).replace("</", "<\\/")
    return _env().get_template("web/index.html").render(
        lang=lang, t=messages[lang], static=STATIC_PREFIX, messages_json=Markup(blob),
        legends_json=Markup(json.dumps(_legends(lang), ensure_ascii=False).replace("</", "<\\/")))


def _legends(lang: str) -> dict[str, list[dict[str, str]]]:
    """Colours and labels of the result columns that have a legend (by column name)."""
    from geo.trends import PATTERN_LEGEND

    return {"pattern": [{"value": s.pattern, "label": s.label(lang), "colour": s.colour}
                        for s in PATTERN_LEGEND]}


@page_router.get("/", response_class=HTMLResponse)
def index(lang: Annotated[str | None, Query(max_length=10)] = None) -> HTMLResponse:
    """The web interface (Swedish unless ``?lang=en`` or ``TRYGGKARTA_LANG=en``)."""
    chosen = _lang(lang)
    return HTMLResponse(render_page(chosen), headers={
        "Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer", "Cache-Control": "no-store",
        "Content-Language": chosen})


@session_router.get("/session", summary="Who the bearer token belongs to")
def session(user: CurrentUser) -> dict[str, Any]:
    """The token's ``role`` (``planner`` or ``reviewer``), its ``label`` and whether it may
    change data (``can_write``). The web interface uses it to show only what the role may
    use."""
    return {"role": user.role, "label": user.label, "can_write": user.can_write}


def install_web(application: FastAPI) -> None:
    """Add the interface to ``application``: ``/``, ``/session`` and the static files."""
    application.include_router(page_router)
    application.include_router(session_router)
    application.mount(STATIC_PREFIX + "/web", StaticFiles(directory=_STATIC / "web"),
                      name="web-static")
    application.mount(STATIC_PREFIX + "/vendor", StaticFiles(directory=_VENDOR),
                      name="web-vendor")
