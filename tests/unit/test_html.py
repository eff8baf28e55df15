"""core.html: escaping, paragraphs, links, mentions and hashtags."""

from __future__ import annotations

from townsquare.core.html import extract_mentions, extract_tags, plain_to_html, render_text, strip_tags

BASE = "https://town.example"


def resolver(known: dict[str, str]):
    return lambda handle: known.get(handle.lower())


def test_escapes_markup():
    out = render_text('<script>alert("x")</script> & <i>', BASE)
    assert out.html == '<p>&lt;script&gt;alert("x")&lt;/script&gt; &amp; &lt;i&gt;</p>'
    assert out.mentions == [] and out.tags == []


def test_paragraphs_and_line_breaks():
    assert render_text("one\ntwo\n\n\nthree\r\n", BASE).html == "<p>one<br />two</p><p>three</p>"
    assert render_text("  \n\n ", BASE).html == ""


def test_urls_are_linked_without_trailing_punctuation():
    out = render_text("see https://example.org/path?a=1&b=2. or (http://x.example/y)!", BASE)
    assert '<a href="https://example.org/path?a=1&amp;b=2" target="_blank" rel="nofollow noopener noreferrer">' in out.html
    assert "example.org/path?a=1&amp;b=2</a>." in out.html
    assert '<a href="http://x.example/y"' in out.html and "x.example/y</a>)!" in out.html


def test_long_urls_are_shortened_for_display_only():
    url = "https://www.example.org/" + "a" * 60
    out = render_text(url, BASE)
    assert f'href="{url}"' in out.html
    assert ">example.org/" + "a" * 18 + "\u2026</a>" in out.html


def test_url_with_quotes_cannot_break_out_of_the_attribute():
    out = render_text('https://e.example/a"onmouseover="x', BASE)
    assert 'onmouseover="' not in out.html.split(">", 1)[0]
    assert 'href="https://e.example/a"' in out.html


def test_mentions_resolved_and_unresolved():
    out = render_text("hi @Bob and @ghost and @carol@town.example", BASE,
                      resolver({"bob": f"{BASE}/@bob", "carol@town.example": f"{BASE}/@carol"}))
    assert '<span class="h-card" translate="no"><a href="https://town.example/@bob" class="u-url mention">@<span>Bob</span></a></span>' in out.html
    assert "@ghost" in out.html and "/@ghost" not in out.html
    assert '<a href="https://town.example/@carol" class="u-url mention">@<span>carol</span></a>' in out.html
    assert out.mentions == ["Bob", "carol@town.example"]


def test_emails_and_urls_are_not_mentions():
    assert extract_mentions("mail me at someone@example.org") == []
    assert extract_mentions("https://example.org/@alice") == []
    assert extract_mentions("@alice @ALICE @bob@remote.example") == ["alice", "bob@remote.example"]


def test_hashtags():
    out = render_text("#Hello #hello #café #123abc not#tag #_ #a_b", BASE)
    assert out.tags == ["hello", "hello", "café", "123abc", "a_b"]
    assert '<a href="https://town.example/tags/hello" class="mention hashtag" rel="tag">#<span>Hello</span></a>' in out.html
    assert "not#tag" in out.html and "#_" in out.html
    assert extract_tags("#Hello #hello #World") == ["hello", "world"]


def test_url_fragments_are_not_hashtags():
    out = render_text("https://example.org/page#section", BASE)
    assert out.tags == [] and "tags/section" not in out.html


def test_html_entities_are_not_hashtags():
    assert extract_tags("&#39; and &#x27;") == []


def test_plain_to_html_and_strip_tags():
    assert plain_to_html("") == ""
    assert plain_to_html("a <b> @bob") == "<p>a &lt;b&gt; @bob</p>"
    assert strip_tags("<p>a &amp; <b>b</b></p>") == "a & b"
