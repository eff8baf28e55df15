"""The static files of the web app: our own CSS and script, and htmx when the set-up installed it.

Pages link them with a content hash in the query (`app.css?v=...`), so browsers may keep them for a year
and a new release is fetched at once; the static mount marks such versioned requests immutable.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

STATIC = Path(__file__).parent / "static"
VENDOR = STATIC / "vendor"  # filled by scripts/install-assets from the npm registry; never committed
HTMX = VENDOR / "htmx.min.js"
PREFIX = "/web-static"
VERSION_PARAM = "v"


@lru_cache(maxsize=64)
def _version(path: Path, mtime_ns: int) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12]


def asset_url(name: str) -> str:
    """The URL of a static file with its content hash, e.g. /web-static/app.css?v=1a2b3c4d5e6f."""
    path = STATIC / name
    try:
        version = _version(path, path.stat().st_mtime_ns)
    except OSError:
        return f"{PREFIX}/{name}"
    return f"{PREFIX}/{name}?{VERSION_PARAM}={version}"


def style_url() -> str:
    """The site's one style sheet."""
    return asset_url("app.css")


def script_urls() -> list[str]:
    """The scripts a page loads: htmx first when installed (pages work without it), then our own."""
    urls = [asset_url("vendor/htmx.min.js")] if HTMX.exists() else []
    return [*urls, asset_url("app.js")]
