"""Compose as a multipart form with JavaScript off: files with alt text, polls, content warning, sensitive, language;
what posts show (media, sensitive media behind <details>, polls, quotes, cards); voting; bad input changes nothing."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from tests.api.test_media import fetch
from tests.conftest import BASE
from tests.media_fixtures import png, wav
from townsquare.storage.tables import media_attachments, polls, statuses
from townsquare.web import compose


async def _count(server, table) -> int:
    async with server.ctx.db.read() as conn:
        return (await conn.execute(select(func.count()).select_from(table))).scalar_one()


def _files(*items) -> list:
    return [("media", item) for item in items]


async def _latest(server, user) -> dict:
    await server.settle()
    return (await user.get("/api/v1/timelines/public", params={"limit": 1})).json()[0]


async def test_post_with_images_alt_text_warning_sensitive_and_language(server, browsers):
    reader = await server.user("reader")
    b = browsers()
    await b.sign_up("alice")
    home = (await b.get("/")).text
    assert 'enctype="multipart/form-data"' in home and 'type="file"' in home and 'name="media_description"' in home
    r = await b.post("/statuses", {"status": "two squares", "spoiler_text": "colours", "visibility": "public",
                                   "language": "de", "sensitive": "1", "next": "/",
                                   "media_description": ["A red square", "", "", ""]},
                     files=_files(("red.png", png(), "image/png"), ("blue.png", png(32, 32, "RGB"), "image/png")))
    assert r.status_code == 303, r.text
    assert r.headers["location"].startswith("/?posted=")
    s = await _latest(server, reader)
    assert s["spoiler_text"] == "colours" and s["sensitive"] is True and s["language"] == "de"
    assert [m["description"] for m in s["media_attachments"]] == ["A red square", None]
    assert all(m["type"] == "image" and m["url"] for m in s["media_attachments"])
    page = (await b.get(f"/@alice/{s['id']}")).text
    assert 'alt="Image without a description"' in page
    # The file behind each image: this app's own /system/media/..., or the object store's.
    src = re.search(r'<img src="([^"]+)" alt="A red square"', page).group(1)
    assert src == s["media_attachments"][0]["preview_url"].removeprefix(BASE)
    assert (await fetch(server, s["media_attachments"][0]["preview_url"])).status_code == 200


async def test_sensitive_media_waits_behind_a_details_button(server, browsers):
    reader = await server.user("reader")
    b = browsers()
    await b.sign_up("alice")
    await b.post("/statuses", {"status": "careful", "sensitive": "1", "media_description": ["A gory scene"]},
                 files=_files(("a.png", png(), "image/png")))
    s = await _latest(server, reader)
    page = (await browsers().get(f"/@alice/{s['id']}")).text
    details = re.search(r'<details class="sensitive">(.*?)</details>', page, re.S).group(1)
    assert "Sensitive media (1): show" in details and 'alt="A gory scene"' in details
    assert '<span class="sensitive-cover" aria-hidden="true"><img' in details  # the blurred cover is decoration only


async def test_audio_is_processed_before_the_post_is_published(server, browsers):
    reader = await server.user("reader")
    b = browsers()
    await b.sign_up("alice")
    r = await b.post("/statuses", {"status": "", "media_description": ["A 440 Hz tone"]},
                     files=_files(("tone.wav", wav(0.5), "audio/wav")))
    assert r.status_code == 303, r.text
    s = await _latest(server, reader)
    assert s["media_attachments"][0]["type"] == "audio" and s["media_attachments"][0]["url"]
    page = (await b.get(f"/@alice/{s['id']}")).text
    url = s["media_attachments"][0]["url"].removeprefix(BASE)
    assert f'<audio src="{url}" controls preload="none" aria-label="A 440 Hz tone">' in page


async def test_a_file_still_processing_is_kept_and_the_form_comes_back(server, browsers, monkeypatch):
    reader = await server.user("reader")
    monkeypatch.setattr(compose, "PROCESSING_WAIT", 0.0)
    b = browsers()
    await b.sign_up("alice")
    statuses_before = await _count(server, statuses)
    r = await b.post("/statuses", {"status": "listen", "spoiler_text": "loud", "media_description": ["A tone"]},
                     files=_files(("tone.wav", wav(0.5), "audio/wav")))
    assert r.status_code == 202 and "still being processed" in r.text and "Nothing was posted yet" in r.text
    assert await _count(server, statuses) == statuses_before
    kept = re.search(r'name="media_id" value="(\d+)"', r.text).group(1)
    assert ">listen</textarea>" in r.text and 'value="loud"' in r.text
    await server.settle()
    monkeypatch.setattr(compose, "PROCESSING_WAIT", 30.0)
    r = await b.post("/statuses", {"status": "listen", "spoiler_text": "loud", "media_id": kept})
    assert r.status_code == 303, r.text
    s = await _latest(server, reader)
    assert [m["id"] for m in s["media_attachments"]] == [kept]


async def test_bad_input_gets_a_clear_page_and_changes_nothing(server, browsers):
    b = browsers()
    await b.sign_up("alice")
    before = (await _count(server, statuses), await _count(server, media_attachments), await _count(server, polls))
    cases = [
        ({"status": "x"}, _files(("notes.txt", b"just some text, not a picture", "text/plain")), "File type is not supported"),
        # The second file is refused after the first was stored: the first is deleted again.
        ({"status": "x"}, _files(("a.png", png(), "image/png"), ("b.txt", b"plain text here", "text/plain")), "not supported"),
        ({"status": "x"}, _files(*[(f"{i}.png", png(), "image/png") for i in range(5)]), "more than 4 files"),
        ({"status": "x", "poll_option": ["a", "b", "c", "d", "e"], "poll_expires_in": "3600"}, None, "more than 4 items"),
        ({"status": "x", "poll_option": ["only one", "", "", ""], "poll_expires_in": "3600"}, None, "more than one item"),
        ({"status": "x", "poll_option": ["a", "a"], "poll_expires_in": "3600"}, None, "duplicate"),
        ({"status": "x", "poll_option": ["a", "b"], "poll_expires_in": "60"}, None, "too soon"),
        ({"status": "x", "poll_option": ["a", "b"], "poll_expires_in": "soon"}, None, "number of seconds"),
        ({"status": "x", "poll_option": ["a", "b"], "poll_expires_in": "3600"}, _files(("a.png", png(), "image/png")),
         "cannot be combined with a poll"),
        ({"status": "x", "media_description": ["y" * 1501]}, _files(("a.png", png(), "image/png")), "Description is too long"),
        ({"status": "x" * 6000}, _files(("a.png", png(), "image/png")), "character limit"),
        ({"status": "x", "language": "not a language!"}, None, "valid language"),
        ({"status": "x", "visibility": "everyone"}, None, "Visibility"),
        ({"status": ""}, None, "be blank"),
    ]
    for data, files, message in cases:
        r = await b.post("/statuses", data, files=files)
        assert r.status_code == 422, (data, r.status_code)
        assert "<main" in r.text and message in r.text, (message, r.text[-600:])
    await server.settle()
    assert (await _count(server, statuses), await _count(server, media_attachments), await _count(server, polls)) == before
    r = await b.post("/statuses", {"status": "x"}, files=_files(*[(f"{i}.png", b"x", "image/png") for i in range(12)]))
    assert r.status_code == 400 and "could not be read" in r.text
    stranger = await server.user("mallory")
    theirs = (await stranger.post("/api/v2/media", files={"file": ("a.png", png(), "image/png")})).json()
    r = await b.post("/statuses", {"status": "x", "media_id": theirs["id"]})
    assert r.status_code == 404  # someone else's upload is not there for the viewer
    r = await b.post("/statuses", {"status": "forged"}, csrf=False)
    assert r.status_code == 403
    await server.settle()
    assert (await _count(server, statuses), await _count(server, media_attachments)) == (before[0], before[1] + 1)


async def test_polls_vote_as_a_form_and_show_results(server, browsers):
    reader = await server.user("reader")
    author, voter = browsers(), browsers()
    await author.sign_up("alice")
    await voter.sign_up("bob")
    r = await author.post("/statuses", {"status": "Best shape?", "poll_option": ["Square", "Circle", "", ""],
                                        "poll_expires_in": "3600", "visibility": "public"})
    assert r.status_code == 303, r.text
    s = await _latest(server, reader)
    assert [o["title"] for o in s["poll"]["options"]] == ["Square", "Circle"] and s["poll"]["multiple"] is False
    poll_id = s["poll"]["id"]
    page = (await voter.get(f"/@alice/{s['id']}")).text
    assert f'action="/polls/{poll_id}/votes"' in page and 'type="radio" name="choices" value="1"' in page
    assert "<legend>Poll</legend>" in page
    mine = (await author.get(f"/@alice/{s['id']}")).text  # the author sees results, not a form
    assert f'action="/polls/{poll_id}/votes"' not in mine and "0 people voted" in mine
    assert (await voter.post(f"/polls/{poll_id}/votes", {})).status_code == 422  # no choice: nothing recorded
    assert (await voter.post(f"/polls/{poll_id}/votes", {"choices": "7"})).status_code == 422
    r = await voter.post(f"/polls/{poll_id}/votes", {"choices": "1", "next": f"/@alice/{s['id']}"})
    assert r.status_code == 303 and r.headers["location"] == f"/@alice/{s['id']}"
    after = (await voter.get(f"/@alice/{s['id']}")).text
    assert f'action="/polls/{poll_id}/votes"' not in after
    assert re.search(r"<strong>100%</strong> Circle <span class=\"own-choice\">\(your choice\)</span>"
                     r"<span class=\"visually-hidden\">, 1 vote</span>", after)
    assert '<progress max="100" value="100" aria-hidden="true">' in after and "1 person voted" in after
    assert (await voter.post(f"/polls/{poll_id}/votes", {"choices": "0"})).status_code == 422  # once only
    api = (await reader.get(f"/api/v1/polls/{poll_id}")).json()
    assert [o["votes_count"] for o in api["options"]] == [0, 1]
    assert (await browsers().post(f"/polls/{poll_id}/votes", {"choices": "0"})).status_code == 401


async def test_multiple_choice_poll_votes_through_htmx(server, browsers):
    reader = await server.user("reader")
    author, voter = browsers(), browsers()
    await author.sign_up("alice")
    await voter.sign_up("bob")
    await author.post("/statuses", {"status": "Pick shapes", "poll_option": ["A", "B", "C"], "poll_expires_in": "300",
                                    "poll_multiple": "1"})
    s = await _latest(server, reader)
    page = (await voter.get("/public/local")).text
    assert 'type="checkbox" name="choices" value="2"' in page and "(choose one or more)" in page
    r = await voter.post(f"/polls/{s['poll']['id']}/votes", {"choices": ["0", "2"], "item": s["id"]},
                         headers={"hx-request": "true", "hx-current-url": f"{BASE}/public/local"})
    assert r.status_code == 200 and r.text.lstrip().startswith("<article") and "<html" not in r.text
    assert r.text.count("(your choice)") == 2 and "<strong>50%</strong> A" in r.text


async def test_quotes_and_link_cards_show_in_posts(server, browsers):
    alice = await server.user("alice")
    first = (await alice.post("/api/v1/statuses", data={"status": "the original", "visibility": "public"})).json()
    quoting = (await alice.post("/api/v1/statuses", data={"status": "look at this", "quoted_status_id": first["id"]})).json()
    await server.settle()
    page = (await browsers().get(f"/@alice/{quoting['id']}")).text
    assert re.search(r'<blockquote class="quote"[^>]*>\s*<p class="quote-head">Quoting <a href="/@alice/' + first["id"], page)
    assert "the original" in page
    await alice.delete(f"/api/v1/statuses/{first['id']}")
    await server.settle()
    assert "The quoted post was deleted." in (await browsers().get(f"/@alice/{quoting['id']}")).text


async def test_the_reply_box_takes_files_too(server, browsers):
    reader = await server.user("reader")
    alice = await server.user("alice")
    parent = (await alice.post("/api/v1/statuses", data={"status": "show me", "visibility": "public"})).json()
    b = browsers()
    await b.sign_up("bob")
    page = (await b.get(f"/@alice/{parent['id']}")).text
    assert re.search(r'<form method="post" action="/statuses" enctype="multipart/form-data" class="compose" id="reply">', page)
    r = await b.post("/statuses", {"status": "@alice here", "in_reply_to_id": parent["id"], "next": f"/@alice/{parent['id']}",
                                   "media_description": ["A square"]}, files=_files(("a.png", png(), "image/png")))
    assert r.status_code == 303 and r.headers["location"] == f"/@alice/{parent['id']}"
    reply = await _latest(server, reader)
    assert reply["in_reply_to_id"] == parent["id"] and reply["media_attachments"][0]["description"] == "A square"


async def test_pages_allow_the_media_stores_origin_when_files_are_elsewhere(server, browsers, monkeypatch):
    b = browsers()
    if server.ctx.media.url_base is None:  # the embedded default: files come from this app alone
        csp = (await b.get("/")).headers["content-security-policy"]
        assert "img-src 'self' data:" in csp and "media-src 'self' blob:" in csp
    monkeypatch.setattr(server.ctx.media, "url_base", "https://cdn.example.org/townsquare-media", raising=False)
    csp = (await b.get("/")).headers["content-security-policy"]
    assert "img-src 'self' https://cdn.example.org data:" in csp and "media-src 'self' https://cdn.example.org blob:" in csp
