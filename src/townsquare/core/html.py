"""Plain text to safe HTML: escaping, paragraphs, and links for URLs, mentions and hashtags."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from typing import Callable

import nh3

URL_RE = r"(?P<url>https?://[^\s<>\"']+[^\s<>\"'.,;:!?)\]}])"
MENTION_RE = r"(?<![\w/@])@(?P<mention>[A-Za-z0-9_]+(?:@[A-Za-z0-9.-]+\.[A-Za-z]{2,})?)"
TAG_RE = r"(?<![\w/&#])#(?P<tag>[^\W_][\w]*|_[\w]*[^\W_][\w]*)"
TOKEN_RE = re.compile(f"{URL_RE}|{MENTION_RE}|{TAG_RE}", re.UNICODE)

# The only markup Townsquare ever emits; anything else in rendered HTML is dropped by nh3.
ALLOWED_TAGS = {"p", "br", "a", "span"}
ALLOWED_ATTRIBUTES = {"a": {"href", "rel", "class", "target", "translate"}, "span": {"class", "translate"}}
_CLEANER = nh3.Cleaner(tags=ALLOWED_TAGS, attributes=ALLOWED_ATTRIBUTES, url_schemes={"http", "https"},
                       link_rel=None, strip_comments=True)
_TAG_LIKE = re.compile(r"<(?=[A-Za-z/!?])[^<>]*(?:>|$)")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


@dataclass
class Rendered:
    """The HTML of a text and what it refers to."""

    html: str
    mentions: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)


def extract_mentions(text: str) -> list[str]:
    """Return the @handles in a text, in order, without duplicates (case-insensitive)."""
    seen: dict[str, str] = {}
    for m in TOKEN_RE.finditer(text):
        if m.group("mention"):
            seen.setdefault(m.group("mention").lower(), m.group("mention"))
    return list(seen.values())


def extract_tags(text: str) -> list[str]:
    """Return the hashtags in a text, lower-cased and without duplicates."""
    seen: dict[str, None] = {}
    for m in TOKEN_RE.finditer(text):
        if m.group("tag"):
            seen.setdefault(m.group("tag").lower(), None)
    return list(seen)


def _display_url(url: str) -> str:
    bare = re.sub(r"^https?://(www\.)?", "", url)
    return bare if len(bare) <= 30 else bare[:30] + "\u2026"


def render_text(
    text: str,
    base_url: str,
    resolve_mention: Callable[[str], str | None] = lambda handle: None,
) -> Rendered:
    """Turn plain text into Mastodon-style HTML; resolve_mention maps a handle to a profile URL."""
    out = Rendered(html="")
    paragraphs = [p for p in re.split(r"\n\s*\n", text.replace("\r\n", "\n").strip()) if p.strip()]
    rendered_paragraphs = []
    for para in paragraphs:
        pieces: list[str] = []
        pos = 0
        for m in TOKEN_RE.finditer(para):
            pieces.append(html.escape(para[pos : m.start()], quote=False))
            pos = m.end()
            if m.group("url"):
                url = html.escape(m.group("url"), quote=True)
                pieces.append(
                    f'<a href="{url}" target="_blank" rel="nofollow noopener noreferrer">'
                    f"{html.escape(_display_url(m.group('url')), quote=False)}</a>"
                )
            elif m.group("mention"):
                handle = m.group("mention")
                href = resolve_mention(handle)
                if href is None:
                    pieces.append(html.escape(m.group(0), quote=False))
                else:
                    out.mentions.append(handle)
                    username = handle.split("@")[0]
                    pieces.append(
                        f'<span class="h-card" translate="no"><a href="{html.escape(href, quote=True)}" '
                        f'class="u-url mention">@<span>{html.escape(username, quote=False)}</span></a></span>'
                    )
            else:
                tag = m.group("tag")
                out.tags.append(tag.lower())
                pieces.append(
                    f'<a href="{html.escape(base_url, quote=True)}/tags/{html.escape(tag.lower(), quote=True)}" '
                    f'class="mention hashtag" rel="tag">#<span>{html.escape(tag, quote=False)}</span></a>'
                )
        pieces.append(html.escape(para[pos:], quote=False))
        rendered_paragraphs.append("<p>" + "".join(pieces).replace("\n", "<br />") + "</p>")
    out.html = sanitize_html("".join(rendered_paragraphs))
    return out


def sanitize_html(fragment: str) -> str:
    """Pass an HTML fragment through the allow-list: only p, br, a and span, http(s) links, no scripts."""
    # nh3 writes void elements HTML5-style; Mastodon's content uses <br />, which some clients match on.
    return _CLEANER.clean(fragment).replace("<br>", "<br />")


def safe_url(value: str | None) -> str | None:
    """Return an http(s) URL unchanged, or None for anything else (javascript:, data:, relative...)."""
    if value and re.match(r"^https?://[^\s<>\"']+$", value.strip(), re.IGNORECASE):
        return value.strip()
    return None


def plain_text(value: str) -> str:
    """Make a plain-text field (display name, field name, content warning) safe even where HTML is parsed.

    Mastodon sends these as text, and clients escape them; as a second line of defence anything an
    HTML parser would read as a tag or comment is removed, and control characters are dropped.
    Text such as "<3" or "a < b" is kept.
    """
    text = _CONTROL.sub("", value or "")
    while True:
        stripped = _TAG_LIKE.sub("", text)
        if stripped == text:
            return text
        text = stripped


def plain_to_html(text: str) -> str:
    """Escape a short plain text (a bio or field) into paragraphs without links to accounts."""
    return render_text(text, "").html if text else ""


def strip_tags(value: str) -> str:
    """Return the text of an HTML fragment."""
    return html.unescape(re.sub(r"<[^>]+>", "", value))
