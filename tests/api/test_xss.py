"""XSS: hostile statuses, content warnings, display names, bios, profile fields and app names never come back as markup."""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser

import pytest

from townsquare.services import auth
from townsquare.web.assets import script_urls

CORPUS = [
    "<script>alert(1)</script>",
    "<SCRIPT SRC=https://evil.example/x.js></SCRIPT>",
    "<scr<script>ipt>alert(1)</scr</script>ipt>",
    "<img src=x onerror=alert(1)>",
    "<svg/onload=alert(1)>",
    "<svg><script>alert(1)</script></svg>",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    '<a href="javascript:alert(1)">click</a>',
    '<a href="JaVaScRiPt:alert(1)">x</a>',
    '<a href="jav&#x09;ascript:alert(1)">x</a>',
    "<a href=\"data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==\">x</a>",
    "javascript:alert(document.cookie)",
    "data:text/html,<script>alert(1)</script>",
    '<iframe src="https://evil.example"></iframe>',
    "<style>body{background:url(javascript:alert(1))}</style>",
    '<div style="background-image:url(javascript:alert(1))">x</div>',
    '"><script>alert(1)</script>',
    "'><img src=x onerror=alert(1)>",
    '" onmouseover="alert(1)',
    "' onfocus='alert(1)' autofocus='",
    "&lt;script&gt;alert(1)&lt;/script&gt;",
    "&#60;script&#62;alert(1)&#60;/script&#62;",
    "<!--<script>alert(1)</script>-->",
    "<![CDATA[<script>alert(1)</script>]]>",
    "<b onclick=alert(1)>bold",
    "<p <script>alert(1)</script>",
    "<<script>alert(1)//<</script>",
    "<meta http-equiv=refresh content=0;url=javascript:alert(1)>",
    "<form action=javascript:alert(1)><button>x</button></form>",
    "<object data=javascript:alert(1)>",
    "<body onload=alert(1)>",
    "<input onfocus=alert(1) autofocus>",
    "<details open ontoggle=alert(1)>",
    "\u003cscript\u003ealert(1)\u003c/script\u003e",
    "\uff1cscript\uff1ealert(1)\uff1c/script\uff1e",
    "\u202e<script>alert(1)</script>\u202c",
    "zero\u200bwidth<scr\u200bipt>alert(1)</script>",
    "https://example.org/\"><script>alert(1)</script>",
    "https://example.org/?q=<img src=x onerror=alert(1)>",
    "#<script>alert(1)</script> @<img/src=x>",
    "<3 a < b and c > d",
]

ALLOWED = {"p": set(), "br": set(), "a": {"href", "rel", "class", "target", "translate"}, "span": {"class", "translate"}}
SAME_SITE = r"^/(?!/)"  # the page's own form posts to a path on this server
PAGE_TAGS = {"html", "head", "meta", "title", "style", "body", "h1", "p", "strong", "form", "input", "label", "button", "code"}
# The authorize page wears the web app's layout: landmarks, navigation, the shortcuts dialog, and script files.
LAYOUT_TAGS = PAGE_TAGS | {"link", "script", "a", "header", "nav", "ul", "li", "main", "footer", "div", "dialog", "h2", "dl",
                           "dt", "dd", "kbd", "span", "small"}
LAYOUT_URL = r"^(/(?!/)|#)"  # same-site paths and in-page anchors (the skip link)


class Markup(HTMLParser):
    """Collects every tag, attribute and comment an HTML parser finds."""

    def __init__(self, text: str):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict]] = []
        self.other: list[str] = []
        self.feed(text)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_startendtag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_comment(self, data):
        self.other.append(f"comment {data}")

    def handle_decl(self, decl):
        self.other.append(f"decl {decl}")

    def unknown_decl(self, data):
        self.other.append(f"decl {data}")

    def handle_pi(self, data):
        self.other.append(f"pi {data}")


def _no_executable(markup: Markup, allowed_tags, url=r"^https?://", scripts: tuple = ()) -> None:
    for tag, attrs in markup.tags:
        assert tag in allowed_tags, tag
        assert tag != "script" or attrs.get("src") in scripts, attrs
        for name, value in attrs.items():
            assert not name.startswith("on"), (tag, name)
            assert name != "style", tag
            if name in ("href", "src", "action", "formaction", "data"):
                assert re.match(url, value or ""), (name, value)
            if name == "content" or tag == "meta":  # <meta http-equiv=refresh content=...;url=javascript:...>
                assert "javascript:" not in (value or "").lower() and "http-equiv" not in attrs


def assert_safe_html(fragment: str) -> None:
    """An HTML field: only the allow-listed tags and attributes, links only to http(s)."""
    markup = Markup(fragment)
    assert markup.other == [], markup.other
    _no_executable(markup, ALLOWED)
    for tag, attrs in markup.tags:
        assert set(attrs) <= ALLOWED[tag], (tag, attrs)


def assert_plain(text: str) -> None:
    """A plain-text field: an HTML parser finds no markup in it at all."""
    markup = Markup(text)
    assert markup.tags == [] and markup.other == [], (text, markup.tags, markup.other)


def _text_of(fragment: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", fragment.replace("<br />", "\n")))


async def _check_payload(server, mallory, reader, payload: str) -> None:
    profile = {"display_name": payload[:30], "note": payload,
               "fields_attributes[0][name]": payload[:255], "fields_attributes[0][value]": payload}
    r = await mallory.patch("/api/v1/accounts/update_credentials", data=profile)
    assert r.status_code == 200, r.text
    posted = await mallory.post("/api/v1/statuses", data={"status": payload, "spoiler_text": payload})
    assert posted.status_code == 200, posted.text
    seen = [
        posted.json(),
        (await reader.get(f"/api/v1/statuses/{posted.json()['id']}")).json(),
        (await server.http.get("/api/v1/timelines/public", params={"limit": 1})).json()[0],
    ]
    accounts = [r.json(), (await reader.get(f"/api/v1/accounts/{mallory.id}")).json()]
    for status in seen:
        assert_safe_html(status["content"])
        assert_plain(status["spoiler_text"])
        accounts.append(status["account"])
    for account in accounts:
        assert_safe_html(account["note"])
        assert_plain(account["display_name"])
        for field in account["fields"]:
            assert_safe_html(field["value"])
            assert_plain(field["name"])
    # Escaped, not swallowed: what was typed is still there to read (links aside).
    if "http" not in payload and "#" not in payload and "@" not in payload:
        assert _text_of(seen[0]["content"]).strip() == payload.strip()


async def test_hostile_status_and_profile_come_back_inert(server):
    mallory, reader = await server.user("mallory"), await server.user("reader")
    for payload in CORPUS:
        try:
            await _check_payload(server, mallory, reader, payload)
        except AssertionError as exc:
            raise AssertionError(f"payload {payload!r}: {exc}") from exc


@pytest.mark.parametrize("payload", CORPUS[:12])
async def test_hostile_app_names_on_the_authorize_page(server, payload):
    async with server.ctx.db.write() as conn:
        app = await auth.create_app(conn, payload, [auth.OOB], ["read"], "javascript:alert(1)")
    page = await server.http.get("/oauth/authorize", params={"client_id": app["client_id"], "state": payload,
                                                              "redirect_uri": auth.OOB, "response_type": "code"})
    assert page.status_code == 200
    markup = Markup(page.text)
    ours = tuple(script_urls())  # only the site's own script files, never inline script
    _no_executable(markup, LAYOUT_TAGS, LAYOUT_URL, ours)
    assert [t for t, _ in markup.tags].count("style") == 0  # styles come from the site's style sheet only
    assert [t for t, _ in markup.tags].count("script") == len(ours)
    assert "script-src 'self'" in page.headers["content-security-policy"]
    failed = await server.http.post("/oauth/authorize", data={"client_id": app["client_id"], "redirect_uri": auth.OOB,
                                                              "username": payload, "password": "x", "decision": "approve"})
    assert failed.status_code == 401
    _no_executable(Markup(failed.text), LAYOUT_TAGS, LAYOUT_URL, ours)


async def test_status_application_name_and_website_are_inert(server):
    account = (await server.user("poster")).id
    async with server.ctx.db.write() as conn:
        app = await auth.create_app(conn, "<img src=x onerror=alert(1)>", [auth.OOB], ["read", "write"], "javascript:alert(1)")
        token, _ = await auth.issue_token(conn, app["id"], int(account), ["read", "write"])
    r = await server.http.post("/api/v1/statuses", data={"status": "hi"}, headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200
    application = r.json()["application"]
    assert_plain(application["name"])
    assert application["website"] is None


async def test_too_many_mentions_or_hashtags_are_refused(server):
    poster = await server.user("poster")
    for text, word in ((" ".join(f"@user{n}" for n in range(51)), "mentions"),
                       (" ".join(f"#tag{n}" for n in range(31)), "hashtags")):
        r = await poster.post("/api/v1/statuses", data={"status": text})
        assert r.status_code == 422 and word in r.json()["error"], r.text
    ok = await poster.post("/api/v1/statuses", data={"status": " ".join(f"#tag{n}" for n in range(30))})
    assert ok.status_code == 200
    assert (await poster.get(f"/api/v1/accounts/{poster.id}")).json()["statuses_count"] == 1


async def test_oversized_bodies_are_refused_with_413(server):
    poster = await server.user("poster")
    huge = "x" * (server.ctx.settings.max_body_bytes + 1)
    r = await poster.post("/api/v1/statuses", json={"status": huge})
    assert r.status_code == 413 and "too large" in r.json()["error"]

    async def chunks():  # no Content-Length: the cap is enforced while reading
        for _ in range(20):
            yield b"a" * 100_000
    headers = {"Authorization": f"Bearer {poster.token}", "Content-Type": "application/x-www-form-urlencoded"}
    r = await server.http.post("/api/v1/statuses", content=chunks(), headers=headers)
    assert r.status_code == 413 and "too large" in r.json()["error"]
    assert (await poster.get(f"/api/v1/accounts/{poster.id}")).json()["statuses_count"] == 0


async def test_text_that_merely_looks_like_markup_is_kept(server):
    me = await server.user("me")
    r = await me.patch("/api/v1/accounts/update_credentials", data={"display_name": "I <3 a < b & c > d",
                                                                     "fields_attributes[0][name]": "x < y, 1<2",
                                                                     "fields_attributes[0][value]": "1 < 2"})
    assert r.json()["display_name"] == "I <3 a < b & c > d"
    assert r.json()["fields"][0]["name"] == "x < y, 1<2" and r.json()["fields"][0]["value"] == "<p>1 &lt; 2</p>"


async def test_profile_limits(server):
    me = await server.user("me")
    for data, message in (({"display_name": "x" * 31}, "Display name"), ({"note": "x" * 501}, "Note"),
                          ({"fields_attributes[0][name]": "x" * 256, "fields_attributes[0][value]": "v"}, "255"),
                          ({f"fields_attributes[{i}][name]": f"n{i}" for i in range(5)}, "4")):
        r = await me.patch("/api/v1/accounts/update_credentials", data=data)
        assert r.status_code == 422 and message in r.json()["error"], r.text
    assert (await me.get("/api/v1/accounts/verify_credentials")).json()["display_name"] == ""
