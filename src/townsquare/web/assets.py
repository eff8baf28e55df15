"""The static files of the web app: our own CSS and script, and htmx when the set-up installed it."""

from __future__ import annotations

from pathlib import Path

STATIC = Path(__file__).parent / "static"
VENDOR = STATIC / "vendor"  # filled by scripts/install-assets from the npm registry; never committed
HTMX = VENDOR / "htmx.min.js"
PREFIX = "/web-static"


def script_urls() -> list[str]:
    """The scripts a page loads: htmx first when installed (pages work without it), then our own."""
    urls = [f"{PREFIX}/vendor/htmx.min.js"] if HTMX.exists() else []
    return [*urls, f"{PREFIX}/app.js"]
