"""Rendering pages: the Jinja2 environment, the security headers every page carries, and small filters."""

from __future__ import annotations

from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from townsquare.api.deps import ctx_of
from townsquare.core.clock import aware
from townsquare.core.html import strip_tags
from townsquare.web.assets import script_urls, style_url
from townsquare.web.session import CSRF_FIELD, attach_csrf_cookie, csrf_token

TEMPLATES = Path(__file__).parent / "templates"
# No inline script or style anywhere: scripts and styles come only from this origin's files.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; media-src 'self' blob:; "
       "connect-src 'self'; object-src 'none'; base-uri 'self'; frame-ancestors 'none'")
FORM_ACTION = "; form-action 'self'"
SECURITY_HEADERS = {"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY", "Referrer-Policy": "same-origin"}


# Each post shows its time twice and its text once more as its accessible name: on a 600-post thread these
# filters ran thousands of times per page, so they remember recent answers (their inputs are immutable).
@lru_cache(maxsize=4096)
def _when(value: datetime | None) -> str:
    if value is None:
        return ""
    return aware(value).astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


@lru_cache(maxsize=4096)
def _iso(value: datetime | None) -> str:
    return aware(value).isoformat() if value is not None else ""


@lru_cache(maxsize=1024)
def _excerpt(html: str, length: int = 80) -> str:
    text = " ".join(strip_tags(html or "").split())
    return text if len(text) <= length else text[: length - 1].rstrip() + "…"


def _name(account) -> str:
    return (account.display_name or account.username) if account is not None else ""


# The templates ship with the package and do not change under a running server: no stat() of every template
# file (and of each one it imports or includes) on every render.
env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]), trim_blocks=True,
                  lstrip_blocks=True, auto_reload=False)
env.filters.update(when=_when, iso=_iso, excerpt=_excerpt, name=_name, trusted=Markup)


def media_origin(request: Request) -> str:
    """The object store's origin when media files are not served by this app (pictures and sound load from it)."""
    base = getattr(ctx_of(request).media, "url_base", None)
    parts = urlsplit(base or "")
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme in ("http", "https") and parts.netloc else ""


def security_headers(response: Response, *, form_action: bool = True, media: str = "") -> Response:
    """Add the Content-Security-Policy (allowing the media store's origin, if any) and the other protective headers."""
    csp = CSP.replace("img-src 'self'", f"img-src 'self' {media}").replace("media-src 'self'", f"media-src 'self' {media}") if media else CSP
    response.headers["Content-Security-Policy"] = csp + (FORM_ACTION if form_action else "")
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


def csrf_field(request: Request) -> Markup:
    """The hidden CSRF input every form carries."""
    return Markup(f'<input type="hidden" name="{CSRF_FIELD}" value="{csrf_token(request)}">')


def render_macro(request: Request, name: str, *args) -> str:
    """Render one macro of _macros.html alone (a fragment for htmx to swap in)."""
    return str(getattr(env.get_template("_macros.html").module, name)(*args))


def render_html(request: Request, template: str, **context) -> str:
    """Render a template with what every page knows: the viewer, the CSRF token, the site and its scripts."""
    ctx = ctx_of(request)
    viewer = getattr(request.state, "web_viewer", None)
    return env.get_template(template).render(
        request=request, viewer=viewer, me=viewer.account if viewer is not None else None, site=ctx.settings,
        csrf=csrf_field(request), scripts=script_urls(), style=style_url(), path=request.url.path, **context)


def page(request: Request, template: str, status: int = 200, headers: dict | None = None, *,
         form_action: bool = True, **context) -> HTMLResponse:
    """A full HTML response for a template, with the security headers and the CSRF cookie."""
    response = HTMLResponse(render_html(request, template, **context), status_code=status, headers=headers)
    attach_csrf_cookie(request, response)
    viewer = getattr(request.state, "web_viewer", None)
    if viewer is not None and viewer.account is not None:
        response.headers["Cache-Control"] = "private, no-store"
    return security_headers(response, form_action=form_action, media=media_origin(request))


def is_htmx(request: Request) -> bool:
    """Whether htmx asked for a fragment (only then is a partial answer sent)."""
    return request.headers.get("hx-request") == "true"


def back(request: Request, fallback: str = "/", form: dict | None = None) -> Response:
    """After a form without JavaScript: see-other back to where it was sent from (same site only)."""
    target = str((form or {}).get("next") or "") or fallback
    if not target.startswith("/") or target.startswith("//") or "\\" in target:  # "/\\x" is "//x" to browsers
        target = fallback
    return security_headers(RedirectResponse(target, status_code=303))
