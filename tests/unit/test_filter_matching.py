"""The filter matcher: Mastodon's whole_word rule, case, HTML stripping, contexts, expiry and own posts."""

from __future__ import annotations

from datetime import timedelta
from itertools import count

from townsquare.core.clock import now
from townsquare.domain.filters import CustomFilter, FilterKeyword, FilterSet, FilterStatus, keyword_pattern, searchable_text
from townsquare.domain.models import Status


_ids = count(100)


def _status(content: str, spoiler: str = "", account_id: int = 2, status_id: int | None = None, **extra) -> Status:
    return Status(id=next(_ids) if status_id is None else status_id, account_id=account_id, text="", content=content, spoiler_text=spoiler, visibility="public",
                  sensitive=False, language=None, in_reply_to_id=None, in_reply_to_account_id=None, reblog_of_id=None,
                  replies_count=0, reblogs_count=0, favourites_count=0, created_at=now(), **extra)


def _set(*keywords: tuple[str, bool], context=("home",), action="warn", expires_at=None, statuses=()) -> FilterSet:
    f = CustomFilter(1, 1, "t", list(context), action, expires_at,
                     [FilterKeyword(i, 1, k, w) for i, (k, w) in enumerate(keywords)],
                     [FilterStatus(9, 1, s) for s in statuses])
    return FilterSet(1, [f], now())


def test_whole_word_adds_boundaries_only_at_word_character_ends():
    assert keyword_pattern("cat", True) == r"\bcat\b"
    assert keyword_pattern("#cat", True) == r"\#cat\b"
    assert keyword_pattern("cat!", True) == r"\bcat!"
    assert keyword_pattern("cat", False) == "cat"
    fs = _set(("cat", True))
    assert fs.match(_status("<p>a Cat sat</p>"), "home")[0].keyword_matches == ["cat"]
    assert fs.match(_status("<p>concatenate</p>"), "home") == []
    assert _set(("cat", False)).match(_status("<p>concatenate</p>"), "home")[0].keyword_matches == ["cat"]
    hashtag = _set(("#cat", True))
    assert hashtag.match(_status('<p>I like <a href="x">#<span>cat</span></a>s</p>'), "home") == []
    assert hashtag.match(_status('<p>I like <a href="x">#<span>cat</span></a> pics</p>'), "home")


def test_text_is_matched_without_html_and_with_spoiler_and_media_descriptions():
    fs = _set(("span", True), ("amp", True))
    assert fs.match(_status('<p><span class="h-card">hello</span> &amp; bye</p>'), "home") == []
    assert _set(("a & b", False)).match(_status("<p>a &amp; b</p>"), "home")
    assert _set(("spoiler", True)).match(_status("<p>plain</p>", spoiler="Spoiler ahead"), "home")
    media = _status("<p>photo</p>")
    media.media_attachments = [{"description": "a Dragon"}]
    assert "a Dragon" in searchable_text(media)
    assert _set(("dragon", True)).match(media, "home")


def test_contexts_expiry_own_posts_statuses_and_reblogs():
    fs = _set(("word", True), context=("public",))
    assert fs.match(_status("<p>word</p>"), "home") == []
    assert fs.match(_status("<p>word</p>"), "public")
    expired = _set(("word", True), expires_at=now() - timedelta(seconds=1))
    assert not expired and expired.match(_status("<p>word</p>"), "home") == []
    assert _set(("word", True)).match(_status("<p>word</p>", account_id=1), "home") == []  # the viewer's own post
    named = _set(statuses=(10,))
    got = named.match(_status("<p>anything</p>", status_id=10), "home")
    assert got[0].status_matches == [10] and got[0].keyword_matches == []
    reblog = _status("", status_id=11, account_id=3)
    reblog.reblog = _status("<p>word</p>")
    assert _set(("word", True)).match(_status("<p>other</p>", status_id=reblog.reblog.id + 1000), "home") == []
    assert _set(("word", True)).match(reblog, "home")[0].keyword_matches == ["word"]
    hide = _set(("word", True), action="hide")
    assert hide.hides(hide.match(_status("<p>word</p>"), "home"))
