"""Link cards for statuses: queue the fetch with the post, read the page outside any transaction, attach the card."""

from __future__ import annotations

import logging
import re
from datetime import timedelta
from html.parser import HTMLParser
from urllib.parse import urljoin

from sqlalchemy.ext.asyncio import AsyncConnection

from townsquare.cards.fetch import FetchPolicy, FetchRefused, fetch
from townsquare.cards.parse import apply_oembed, card_from_page, read_page
from townsquare.core.clock import now
from townsquare.core.html import safe_url
from townsquare.domain.models import Status
from townsquare.storage import cards as card_store
from townsquare.storage import statuses as status_store
from townsquare.storage.job_rows import enqueue
from townsquare.timelines.events import publish_status_edited

log = logging.getLogger("townsquare.cards")
JOB = "fetch_link_card"
FRESH_FOR = timedelta(days=14)  # a card fetched more recently than this is reused as it is
HTML_TYPES = ("text/html", "application/xhtml+xml")


class _Links(HTMLParser):
    """Collects the hrefs of plain links, skipping mentions and hashtags."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[str] = []

    def handle_starttag(self, tag, attrs):
        """Keep the href of an <a> that is neither a mention nor a hashtag."""
        a = dict(attrs)
        classes = (a.get("class") or "").split()
        if tag == "a" and a.get("href") and "mention" not in classes and "hashtag" not in classes and a.get("rel") != "tag":
            self.links.append(a["href"])


_ANCHOR = re.compile(r"<a(?![^\s/>])", re.I)  # where an <a> tag may start (HTMLParser reads no other as one)


def first_link(content_html: str) -> str | None:
    """Return the first http(s) link of a status's HTML that is not a mention or a hashtag."""
    if not content_html or _ANCHOR.search(content_html) is None:  # no <a> at all: most posts, no parse
        return None
    reader = _Links()
    reader.feed(content_html)
    reader.close()
    for href in reader.links:
        url = safe_url(href)
        if url and len(url) <= 2048:
            return url
    return None


async def queue_link_card(conn: AsyncConnection, status_id: int, content_html: str, *, edited: bool = False) -> None:
    """Enqueue the card fetch of a status with a link, in the status's own transaction (an edit drops a stale card)."""
    url = first_link(content_html)
    if edited:
        current = await card_store.card_url_of_status(conn, status_id)
        if current == url:
            return
        if current is not None:
            await card_store.unlink_status(conn, status_id)
    if url is not None:
        await enqueue(conn, JOB, {"status_id": status_id, "url": url})


def policy_of(settings) -> FetchPolicy:
    """The fetch limits the settings ask for."""
    return FetchPolicy.allowing(settings.link_cards_allow_private, timeout=settings.link_cards_timeout,
                                max_bytes=settings.link_cards_max_bytes, max_redirects=settings.link_cards_max_redirects)


async def read_card(url: str, policy: FetchPolicy) -> dict | None:
    """Fetch a page and its oEmbed description; return the card fields, or None when there is no usable card."""
    try:
        page = await fetch(url, policy)
    except FetchRefused as exc:
        log.info("no card for %s: %s", url, exc)
        return None
    if page.content_type not in HTML_TYPES:
        return None
    meta = read_page(page.body)
    card = card_from_page(url, page.url, meta)
    if meta.oembed_url:
        try:
            oembed = await fetch(urljoin(page.url, meta.oembed_url), policy, accept="application/json")
            card = apply_oembed(card, oembed.body, page.url)
        except FetchRefused as exc:
            log.info("no oEmbed for %s: %s", url, exc)
    if not card["title"] and not card["html"]:
        return None  # as in Mastodon: a card needs at least a title or an embed
    return card


async def prepare_card(ctx, payload: dict) -> dict:
    """Job step outside the transaction: fetch the page unless a fresh card for the URL exists."""
    url = payload["url"]
    async with ctx.db.read() as conn:
        fetched_at = await card_store.card_updated_at(conn, url)
    if fetched_at is not None and fetched_at > now() - FRESH_FOR:
        return {**payload, "reuse": True}
    return {**payload, "card": await read_card(url, policy_of(ctx.settings))}


async def attach_card(conn: AsyncConnection, payload: dict, hybrid_threshold: int) -> None:
    """Job step in the transaction: store the card, link it to the status and tell its readers (status.update)."""
    status_id, url = int(payload["status_id"]), payload["url"]
    content = await card_store.status_content(conn, status_id)
    if content is None or first_link(content) != url:
        return  # deleted, or edited to another link meanwhile (that edit queued its own job)
    if payload.get("reuse"):
        card_id = await card_store.card_id_for_url(conn, url)
    elif payload.get("card"):
        card_id = await card_store.save_card(conn, payload["card"])
    else:
        return
    if card_id is None or await card_store.card_url_of_status(conn, status_id) == url:
        return
    await card_store.link_status(conn, status_id, card_id)
    row = await status_store.get_row(conn, status_id)
    await publish_status_edited(conn, Status.from_row(row), hybrid_threshold)
