"""Reading a fetched page: OpenGraph and Twitter meta tags, the title, and oEmbed discovery, with an HTML parser."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from html.parser import HTMLParser
from urllib.parse import urljoin

import nh3

from townsquare.core.html import safe_url

CARD_TYPES = ("link", "photo", "video", "rich")
MAX_TEXT = 2000
# oEmbed HTML is shown by apps inside the card: only an https iframe survives, as in Mastodon.
_EMBED_CLEANER = nh3.Cleaner(tags={"iframe"}, attributes={"iframe": {"src", "width", "height", "allowfullscreen", "frameborder", "title"}},
                             url_schemes={"https"}, link_rel=None, strip_comments=True)


@dataclass
class PageMeta:
    """What a page says about itself in its head."""

    meta: dict[str, str] = field(default_factory=dict)
    title: str = ""
    oembed_url: str | None = None
    language: str | None = None


class _HeadReader(HTMLParser):
    """Collects meta tags (first value wins), the <title> text, the oEmbed JSON link and <html lang>."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out = PageMeta()
        self._in_title = False
        self._title: list[str] = []

    def handle_starttag(self, tag, attrs):
        """Read html lang, meta tags, the title's start and the oEmbed link."""
        a = {k.lower(): (v or "") for k, v in attrs}
        if tag == "html" and a.get("lang"):
            self.out.language = a["lang"][:16]
        elif tag == "meta":
            key = (a.get("property") or a.get("name") or "").strip().lower()
            if key and "content" in a:
                self.out.meta.setdefault(key, a["content"].strip())
        elif tag == "title":
            self._in_title = True
        elif tag == "link":
            rel = a.get("rel", "").lower().split()
            if "alternate" in rel and a.get("type", "").lower() == "application/json+oembed" and a.get("href"):
                self.out.oembed_url = self.out.oembed_url or a["href"]

    def handle_endtag(self, tag):
        """Note the end of the title."""
        if tag == "title":
            self._in_title = False

    def handle_data(self, data):
        """Collect the title's text."""
        if self._in_title:
            self._title.append(data)

    def close(self):
        """Finish parsing and settle the title's whitespace."""
        super().close()
        self.out.title = " ".join("".join(self._title).split())


def _decode(body: bytes, content_type_header: str = "") -> str:
    head = body[:2048].lower()
    charset = "utf-8"
    marker = head.find(b"charset=")
    if marker >= 0:
        raw = head[marker + 8: marker + 40].strip(b"\"' ")
        name = raw.split(b'"')[0].split(b"'")[0].split(b";")[0].split(b">")[0].split(b" ")[0].strip()
        if name:
            charset = name.decode("ascii", "ignore")
    try:
        return body.decode(charset, errors="replace")
    except LookupError:
        return body.decode("utf-8", errors="replace")


def read_page(body: bytes) -> PageMeta:
    """Parse an HTML page and return its meta tags, title, oEmbed link and language."""
    reader = _HeadReader()
    reader.feed(_decode(body))
    reader.close()
    return reader.out


def _first(meta: dict[str, str], *keys: str) -> str:
    for key in keys:
        if meta.get(key):
            return meta[key]
    return ""


def _int(value) -> int:
    try:
        return max(0, min(int(float(value)), 100_000))
    except (TypeError, ValueError):
        return 0


def _absolute(base: str, value: str) -> str | None:
    return safe_url(urljoin(base, value)) if value else None


def _published(value: str) -> datetime | None:
    if not value:
        return None
    try:
        stamp = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=timezone.utc)


def card_from_page(link: str, final_url: str, page: PageMeta) -> dict:
    """Build the card fields from a page's OpenGraph/Twitter meta tags and title (url stays the link as posted)."""
    m = page.meta
    image = _absolute(final_url, _first(m, "og:image:secure_url", "og:image:url", "og:image", "twitter:image", "twitter:image:src"))
    author = _first(m, "author", "article:author", "twitter:creator")[:MAX_TEXT]
    author_url = _absolute(final_url, _first(m, "article:author")) or ""
    if author == author_url:
        author = ""  # article:author is often a profile URL, not a name
    return {
        "url": link,
        "title": _first(m, "og:title", "twitter:title")[:MAX_TEXT] or page.title[:MAX_TEXT],
        "description": _first(m, "og:description", "twitter:description", "description")[:MAX_TEXT],
        "type": "link",
        "author_name": author,
        "author_url": author_url,
        "provider_name": _first(m, "og:site_name")[:MAX_TEXT],
        "provider_url": "",
        "html": "",
        "width": _int(m.get("og:image:width")) if image else 0,
        "height": _int(m.get("og:image:height")) if image else 0,
        "image": image,
        "image_description": _first(m, "og:image:alt", "twitter:image:alt")[:MAX_TEXT],
        "embed_url": "",
        "blurhash": None,
        "published_at": _published(_first(m, "article:published_time", "og:published_time")),
        "authors": [{"name": author, "url": author_url}] if author else [],
        "language": page.language,
    }


def apply_oembed(card: dict, body: bytes, base_url: str) -> dict:
    """Overlay an oEmbed JSON answer on a card: its type, html (an https iframe only), size, author and provider."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return card
    if not isinstance(data, dict):
        return card
    kind = data.get("type") if data.get("type") in CARD_TYPES else "link"
    out = dict(card)
    for key in ("title", "author_name", "provider_name"):
        if isinstance(data.get(key), str) and data[key].strip():
            out[key] = data[key].strip()[:MAX_TEXT]
    for key in ("author_url", "provider_url"):
        if isinstance(data.get(key), str):
            out[key] = _absolute(base_url, data[key]) or out[key]
    if isinstance(data.get("thumbnail_url"), str):
        out["image"] = _absolute(base_url, data["thumbnail_url"]) or out["image"]
    if kind == "photo" and isinstance(data.get("url"), str) and _absolute(base_url, data["url"]):
        out.update(type="photo", embed_url=_absolute(base_url, data["url"]),
                   width=_int(data.get("width")), height=_int(data.get("height")))
    elif kind in ("video", "rich") and isinstance(data.get("html"), str):
        html = _EMBED_CLEANER.clean(data["html"]).strip()
        if "<iframe" in html:
            out.update(type=kind, html=html, width=_int(data.get("width")), height=_int(data.get("height")))
    if out["author_name"]:
        out["authors"] = [{"name": out["author_name"], "url": out["author_url"]}]
    return out
