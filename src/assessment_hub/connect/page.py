"""Rendering the connect page: Jinja2 templates (``templates/``), its one script and stylesheet
(``static/``), and the headers every page carries.

The page is made to be shown inside ``@kombo-api/connect``'s iframe (kombo-connect.md): scripts and styles come
only from the hub (no inline script, so the CSP needs no ``unsafe-inline``), framing is allowed to the
``CONNECT_FRAME_ANCESTORS`` sources, and the link's token, which is in the URL, is never sent onwards as a
``Referer``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi.responses import FileResponse, HTMLResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape

from assessment_hub.config import Settings
from assessment_hub.errors import NotFound

HERE = Path(__file__).parent
ASSETS = {"connect.js": "text/javascript", "connect.css": "text/css"}
_templates = Environment(
    loader=FileSystemLoader(HERE / "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)


def content_security_policy(settings: Settings) -> str:
    return (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        f"form-action 'self'; base-uri 'none'; frame-ancestors {settings.connect_frame_ancestors}"
    )


def page_headers(settings: Settings) -> dict[str, str]:
    return {
        "Content-Security-Policy": content_security_policy(settings),
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-store",
        "X-Content-Type-Options": "nosniff",
    }


def vendor_name(settings: Settings) -> str:
    return settings.connect_vendor_name or "your assessment provider"


def render(settings: Settings, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """``templates/<template>`` rendered with ``vendor`` and ``context``, with the page headers."""
    html = _templates.get_template(template).render(vendor=vendor_name(settings), **context)
    return HTMLResponse(html, status_code=status_code, headers=page_headers(settings))


def problem(settings: Settings, status_code: int, title: str, message: str, language: str = "en") -> HTMLResponse:
    """A plain explanation (expired, used or unknown link), never a trace."""
    return render(settings, "problem.html", status_code, title=title, message=message, language=language)


def asset(name: str) -> Response:
    """One of the page's static files; ``NotFound`` for any other name."""
    media_type = ASSETS.get(name)
    if media_type is None:
        raise NotFound(f"No connect asset {name!r}.")
    return FileResponse(
        HERE / "static" / name,
        media_type=media_type,
        headers={"Cache-Control": "public, max-age=300", "X-Content-Type-Options": "nosniff"},
    )
