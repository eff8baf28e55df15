"""Statuses: posting, rendering, editing, deleting, threads, and favourite/reblog/bookmark/pin."""

from __future__ import annotations

from tests.api.conftest import assert_error, ids, post


async def test_post_escapes_html(server):
    alice = await server.user("alice")
    s = await post(alice, "<script>alert('x')</script> & <b>bold</b>")
    assert "<script>" not in s["content"] and "<b>" not in s["content"]
    assert s["content"] == "<p>&lt;script&gt;alert('x')&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt;</p>"
    assert s["text"] is None


async def test_post_renders_mentions_tags_links_and_paragraphs(server):
    alice = await server.user("alice")
    bob = await server.user("bob")
    s = await post(alice, "Hi @bob and @ghost #Python #python\nsee https://example.org/a?b=1&c=2.\n\nnew para")
    content = s["content"]
    assert '<a href="http://test.local/@bob" class="u-url mention">@<span>bob</span></a>' in content
    assert "@ghost" in content and "/@ghost" not in content
    assert '<a href="http://test.local/tags/python" class="mention hashtag" rel="tag">#<span>Python</span></a>' in content
    assert '<a href="https://example.org/a?b=1&amp;c=2" target="_blank" rel="nofollow noopener noreferrer">' in content
    assert content.count("<p>") == 2 and "<br />" in content
    assert [(m["id"], m["acct"], m["url"]) for m in s["mentions"]] == [(bob.id, "bob", "http://test.local/@bob")]
    assert s["tags"] == [{"name": "python", "url": "http://test.local/tags/python"}]
    assert s["account"]["id"] == alice.id
    assert s["url"] == f"http://test.local/@alice/{s['id']}"
    assert s["uri"] == f"http://test.local/users/alice/statuses/{s['id']}"
    assert s["application"]["name"] == "tests"
    assert s["created_at"].endswith("Z") and s["edited_at"] is None


async def test_spoiler_language_visibility_and_sensitivity(server):
    alice = await server.user("alice")
    s = await post(alice, "spoilers", spoiler_text="CW: plot", language="de")
    assert s["spoiler_text"] == "CW: plot" and s["sensitive"] is True and s["language"] == "de"
    s = await post(alice, "plain")
    assert s["sensitive"] is False and s["spoiler_text"] == "" and s["language"] == "en"
    assert (await post(alice, "flag", sensitive="1"))["sensitive"] is True
    for visibility in ("public", "unlisted", "private", "direct"):
        assert (await post(alice, f"vis {visibility}", visibility=visibility))["visibility"] == visibility
    assert_error(await alice.post("/api/v1/statuses", data={"status": "x", "visibility": "secret"}), 422)
    assert_error(await alice.post("/api/v1/statuses", data={"status": "x", "language": "not a language!"}), 422)
    me = (await alice.get("/api/v1/accounts/verify_credentials")).json()
    assert me["statuses_count"] == 7


async def test_length_limit_and_blank(server):
    alice = await server.user("alice")
    ok = await post(alice, "x" * 500)
    assert ok["content"] == "<p>" + "x" * 500 + "</p>"
    body = assert_error(await alice.post("/api/v1/statuses", data={"status": "x" * 501}), 422)
    assert "500" in body["error"]
    assert_error(await alice.post("/api/v1/statuses", data={"status": "   "}), 422)
    assert_error(await alice.post("/api/v1/statuses", data={}), 422)
    assert_error(await alice.post("/api/v1/statuses", data={"status": "ok", "spoiler_text": "y" * 501}), 422)
    statuses = (await alice.get(f"/api/v1/accounts/{alice.id}/statuses")).json()
    assert ids(statuses) == [ok["id"]]
    assert (await alice.get("/api/v1/accounts/verify_credentials")).json()["statuses_count"] == 1


async def test_idempotency_key_returns_the_same_status(server):
    alice = await server.user("alice")
    headers = {"Authorization": f"Bearer {alice.token}", "Idempotency-Key": "abc-123"}
    first = await alice.http.post("/api/v1/statuses", data={"status": "once"}, headers=headers)
    second = await alice.http.post("/api/v1/statuses", data={"status": "once"}, headers=headers)
    assert first.status_code == second.status_code == 200
    assert first.json()["id"] == second.json()["id"]
    other = await alice.http.post("/api/v1/statuses", data={"status": "once"},
                                  headers={**headers, "Idempotency-Key": "other"})
    assert other.json()["id"] != first.json()["id"]
    assert len((await alice.get(f"/api/v1/accounts/{alice.id}/statuses")).json()) == 2
    # Keys belong to one account: bob's same key makes his own status.
    bob = await server.user("bob")
    theirs = await bob.http.post("/api/v1/statuses", data={"status": "bob once"},
                                 headers={"Authorization": f"Bearer {bob.token}", "Idempotency-Key": "abc-123"})
    assert theirs.json()["account"]["id"] == bob.id


async def test_reply_sets_ids_and_counts(server):
    alice = await server.user("alice")
    bob = await server.user("bob")
    parent = await post(alice, "question?")
    reply = await post(bob, "@alice answer", in_reply_to_id=parent["id"])
    assert reply["in_reply_to_id"] == parent["id"] and reply["in_reply_to_account_id"] == alice.id
    assert (await alice.get(f"/api/v1/statuses/{parent['id']}")).json()["replies_count"] == 1
    assert_error(await bob.post("/api/v1/statuses", data={"status": "x", "in_reply_to_id": "999"}), 404)
    assert_error(await bob.post("/api/v1/statuses", data={"status": "x", "in_reply_to_id": "abc"}), 404)


async def test_edit_history_and_source(server):
    alice = await server.user("alice")
    bob = await server.user("bob")
    s = await post(alice, "first #draft")
    r = await alice.put(f"/api/v1/statuses/{s['id']}", data={"status": "second #final", "spoiler_text": "cw"})
    assert r.status_code == 200, r.text
    edited = r.json()
    assert edited["id"] == s["id"] and edited["edited_at"] is not None
    assert "second" in edited["content"] and edited["spoiler_text"] == "cw"
    assert [t["name"] for t in edited["tags"]] == ["final"]
    history = (await bob.get(f"/api/v1/statuses/{s['id']}/history")).json()
    assert len(history) == 2
    assert "first" in history[0]["content"] and "second" in history[1]["content"]
    assert history[1]["spoiler_text"] == "cw" and history[0]["account"]["id"] == alice.id
    source = (await alice.get(f"/api/v1/statuses/{s['id']}/source")).json()
    assert source == {"id": s["id"], "text": "second #final", "spoiler_text": "cw"}
    # Only the author may edit or read the source (Mastodon answers 404 to others).
    assert_error(await bob.put(f"/api/v1/statuses/{s['id']}", data={"status": "hijack"}), 404)
    assert_error(await bob.get(f"/api/v1/statuses/{s['id']}/source"), 404)
    assert_error(await alice.put(f"/api/v1/statuses/{s['id']}", data={"status": "y" * 501}), 422)
    assert len((await bob.get(f"/api/v1/statuses/{s['id']}/history")).json()) == 2
    assert (await bob.get(f"/api/v1/statuses/{s['id']}")).json()["content"] == edited["content"]


async def test_history_of_unedited_status_has_one_entry(server, anon):
    alice = await server.user("alice")
    s = await post(alice, "never edited")
    history = (await anon.get(f"/api/v1/statuses/{s['id']}/history")).json()
    assert len(history) == 1 and history[0]["content"] == s["content"]


async def test_delete_returns_source_and_removes(server, anon):
    alice = await server.user("alice")
    bob = await server.user("bob")
    s = await post(alice, "delete me #gone", spoiler_text="cw")
    assert_error(await bob.delete(f"/api/v1/statuses/{s['id']}"), 404)
    assert (await anon.get(f"/api/v1/statuses/{s['id']}")).status_code == 200
    r = await alice.delete(f"/api/v1/statuses/{s['id']}")
    assert r.status_code == 200
    assert r.json()["text"] == "delete me #gone" and r.json()["spoiler_text"] == "cw" and r.json()["id"] == s["id"]
    assert_error(await anon.get(f"/api/v1/statuses/{s['id']}"), 404)
    assert_error(await alice.delete(f"/api/v1/statuses/{s['id']}"), 404)
    assert (await alice.get("/api/v1/accounts/verify_credentials")).json()["statuses_count"] == 0


async def test_deleting_a_reply_decrements_parent_and_deleting_parent_keeps_reply(server):
    alice = await server.user("alice")
    parent = await post(alice, "parent")
    reply = await post(alice, "reply", in_reply_to_id=parent["id"])
    await alice.delete(f"/api/v1/statuses/{reply['id']}")
    assert (await alice.get(f"/api/v1/statuses/{parent['id']}")).json()["replies_count"] == 0
    reply = await post(alice, "reply 2", in_reply_to_id=parent["id"])
    await alice.delete(f"/api/v1/statuses/{parent['id']}")
    r = await alice.get(f"/api/v1/statuses/{reply['id']}")
    assert r.status_code == 200 and r.json()["content"] == "<p>reply 2</p>"
    assert ids((await alice.get(f"/api/v1/accounts/{alice.id}/statuses")).json()) == [reply["id"]]


async def test_context_ancestors_and_descendants(server, anon):
    alice = await server.user("alice")
    bob = await server.user("bob")
    root = await post(alice, "root")
    a = await post(bob, "a", in_reply_to_id=root["id"])
    a1 = await post(alice, "a1", in_reply_to_id=a["id"])
    b = await post(alice, "b", in_reply_to_id=root["id"])
    a2 = await post(bob, "a2", in_reply_to_id=a1["id"])
    ctx = (await anon.get(f"/api/v1/statuses/{root['id']}/context")).json()
    assert ctx["ancestors"] == []
    assert ids(ctx["descendants"]) == [a["id"], a1["id"], a2["id"], b["id"]]
    ctx = (await anon.get(f"/api/v1/statuses/{a1['id']}/context")).json()
    assert ids(ctx["ancestors"]) == [root["id"], a["id"]]
    assert ids(ctx["descendants"]) == [a2["id"]]
    ctx = (await anon.get(f"/api/v1/statuses/{a2['id']}/context")).json()
    assert ids(ctx["ancestors"]) == [root["id"], a["id"], a1["id"]] and ctx["descendants"] == []
    assert_error(await anon.get("/api/v1/statuses/1/context"), 404)


async def test_favourite_unfavourite_and_lists(server, anon):
    alice = await server.user("alice")
    bob = await server.user("bob")
    carol = await server.user("carol")
    s = await post(alice, "like me")
    r = await bob.post(f"/api/v1/statuses/{s['id']}/favourite")
    assert r.status_code == 200 and r.json()["favourited"] is True and r.json()["favourites_count"] == 1
    again = await bob.post(f"/api/v1/statuses/{s['id']}/favourite")
    assert again.json()["favourites_count"] == 1
    await carol.post(f"/api/v1/statuses/{s['id']}/favourite")
    who = (await anon.get(f"/api/v1/statuses/{s['id']}/favourited_by")).json()
    assert ids(who) == [carol.id, bob.id]
    favs = (await bob.get("/api/v1/favourites")).json()
    assert ids(favs) == [s["id"]] and favs[0]["favourited"] is True
    assert (await alice.get(f"/api/v1/statuses/{s['id']}")).json()["favourited"] is False
    r = await bob.post(f"/api/v1/statuses/{s['id']}/unfavourite")
    assert r.json()["favourited"] is False and r.json()["favourites_count"] == 1
    r = await bob.post(f"/api/v1/statuses/{s['id']}/unfavourite")
    assert r.json()["favourites_count"] == 1
    assert (await bob.get("/api/v1/favourites")).json() == []
    assert ids((await anon.get(f"/api/v1/statuses/{s['id']}/favourited_by")).json()) == [carol.id]
    notes = (await alice.get("/api/v1/notifications", params={"types[]": "favourite"})).json()
    assert sorted(n["account"]["id"] for n in notes) == sorted([bob.id, carol.id])
    assert_error(await bob.post("/api/v1/statuses/42/favourite"), 404)


async def test_reblog_and_unreblog(server, anon):
    alice = await server.user("alice")
    bob = await server.user("bob")
    s = await post(alice, "share me")
    r = await bob.post(f"/api/v1/statuses/{s['id']}/reblog")
    assert r.status_code == 200, r.text
    wrapper = r.json()
    assert wrapper["id"] != s["id"] and wrapper["account"]["id"] == bob.id
    assert wrapper["reblog"]["id"] == s["id"]
    assert wrapper["reblog"]["reblogs_count"] == 1 and wrapper["reblog"]["reblogged"] is True
    assert wrapper["content"] == "" and wrapper["url"] is None
    again = await bob.post(f"/api/v1/statuses/{s['id']}/reblog")
    assert again.json()["id"] == wrapper["id"]
    assert (await anon.get(f"/api/v1/statuses/{s['id']}")).json()["reblogs_count"] == 1
    assert ids((await anon.get(f"/api/v1/statuses/{s['id']}/reblogged_by")).json()) == [bob.id]
    # Reblogging the wrapper reblogs the original.
    carol = await server.user("carol")
    via = await carol.post(f"/api/v1/statuses/{wrapper['id']}/reblog")
    assert via.json()["reblog"]["id"] == s["id"] and via.json()["reblog"]["reblogs_count"] == 2
    notes = (await alice.get("/api/v1/notifications", params={"types[]": "reblog"})).json()
    assert sorted(n["account"]["id"] for n in notes) == sorted([bob.id, carol.id])
    assert all(n["status"]["id"] == s["id"] for n in notes)
    r = await bob.post(f"/api/v1/statuses/{s['id']}/unreblog")
    assert r.status_code == 200
    assert r.json()["id"] == s["id"] and r.json()["reblogged"] is False and r.json()["reblogs_count"] == 1
    assert_error(await anon.get(f"/api/v1/statuses/{wrapper['id']}"), 404)
    assert ids((await anon.get(f"/api/v1/statuses/{s['id']}/reblogged_by")).json()) == [carol.id]
    assert (await bob.get("/api/v1/accounts/verify_credentials")).json()["statuses_count"] == 0


async def test_private_and_direct_cannot_be_reblogged(server):
    alice = await server.user("alice")
    bob = await server.user("bob")
    await bob.post(f"/api/v1/accounts/{alice.id}/follow")
    private = await post(alice, "followers only", visibility="private")
    assert_error(await bob.post(f"/api/v1/statuses/{private['id']}/reblog"), 422)
    direct = await post(alice, "@bob secret", visibility="direct")
    assert_error(await bob.post(f"/api/v1/statuses/{direct['id']}/reblog"), 422)
    assert (await alice.get(f"/api/v1/statuses/{private['id']}")).json()["reblogs_count"] == 0


async def test_bookmarks(server):
    alice = await server.user("alice")
    bob = await server.user("bob")
    s1 = await post(alice, "one")
    s2 = await post(alice, "two")
    r = await bob.post(f"/api/v1/statuses/{s1['id']}/bookmark")
    assert r.status_code == 200 and r.json()["bookmarked"] is True
    await bob.post(f"/api/v1/statuses/{s2['id']}/bookmark")
    await bob.post(f"/api/v1/statuses/{s1['id']}/bookmark")
    marks = await bob.get("/api/v1/bookmarks")
    assert ids(marks.json()) == [s2["id"], s1["id"]]
    assert all(s["bookmarked"] for s in marks.json())
    assert (await alice.get("/api/v1/bookmarks")).json() == []
    page = await bob.get("/api/v1/bookmarks", params={"limit": 1})
    assert ids(page.json()) == [s2["id"]] and 'rel="next"' in page.headers["link"]
    r = await bob.post(f"/api/v1/statuses/{s2['id']}/unbookmark")
    assert r.json()["bookmarked"] is False
    assert ids((await bob.get("/api/v1/bookmarks")).json()) == [s1["id"]]


async def test_bookmark_and_unbookmark_through_a_reblog(server):
    alice = await server.user("alice")
    bob = await server.user("bob")
    s = await post(alice, "original")
    wrapper = (await alice.post(f"/api/v1/statuses/{s['id']}/reblog")).json()
    await bob.post(f"/api/v1/statuses/{wrapper['id']}/bookmark")
    assert ids((await bob.get("/api/v1/bookmarks")).json()) == [s["id"]]
    await bob.post(f"/api/v1/statuses/{wrapper['id']}/unbookmark")
    assert (await bob.get("/api/v1/bookmarks")).json() == []


async def test_favourite_and_unfavourite_through_a_reblog(server):
    alice = await server.user("alice")
    bob = await server.user("bob")
    s = await post(alice, "original")
    wrapper = (await alice.post(f"/api/v1/statuses/{s['id']}/reblog")).json()
    await bob.post(f"/api/v1/statuses/{wrapper['id']}/favourite")
    assert (await bob.get(f"/api/v1/statuses/{s['id']}")).json()["favourited"] is True
    await bob.post(f"/api/v1/statuses/{wrapper['id']}/unfavourite")
    original = (await bob.get(f"/api/v1/statuses/{s['id']}")).json()
    assert original["favourited"] is False and original["favourites_count"] == 0


async def test_pin_and_unpin(server):
    alice = await server.user("alice")
    bob = await server.user("bob")
    s = await post(alice, "pin me")
    r = await alice.post(f"/api/v1/statuses/{s['id']}/pin")
    assert r.status_code == 200 and r.json()["pinned"] is True
    assert ids((await bob.get(f"/api/v1/accounts/{alice.id}/statuses", params={"pinned": "true"})).json()) == [s["id"]]
    others = await post(bob, "not yours")
    assert_error(await alice.post(f"/api/v1/statuses/{others['id']}/pin"), 422)
    direct = await post(alice, "dm", visibility="direct")
    assert_error(await alice.post(f"/api/v1/statuses/{direct['id']}/pin"), 422)
    r = await alice.post(f"/api/v1/statuses/{s['id']}/unpin")
    assert r.json()["pinned"] is False
    assert (await bob.get(f"/api/v1/accounts/{alice.id}/statuses", params={"pinned": "true"})).json() == []


async def test_pin_limit(server):
    alice = await server.user("alice")
    made = [await post(alice, f"p{i}") for i in range(6)]
    for s in made[:5]:
        assert (await alice.post(f"/api/v1/statuses/{s['id']}/pin")).status_code == 200
    assert_error(await alice.post(f"/api/v1/statuses/{made[5]['id']}/pin"), 422)
    # Pinning an already pinned status is still fine.
    assert (await alice.post(f"/api/v1/statuses/{made[0]['id']}/pin")).status_code == 200


async def test_get_many_statuses(server, anon):
    alice = await server.user("alice")
    s1 = await post(alice, "one")
    s2 = await post(alice, "two")
    hidden = await post(alice, "private", visibility="private")
    r = await anon.get(f"/api/v1/statuses?id[]={s2['id']}&id[]={s1['id']}&id[]={hidden['id']}&id[]=1")
    assert r.status_code == 200 and ids(r.json()) == [s2["id"], s1["id"]]


async def test_json_body_status(server):
    alice = await server.user("alice")
    r = await alice.post("/api/v1/statuses", json={"status": "from json", "visibility": "unlisted", "sensitive": True,
                                                   "spoiler_text": "cw"})
    assert r.status_code == 200, r.text
    assert r.json()["visibility"] == "unlisted" and r.json()["sensitive"] is True and r.json()["spoiler_text"] == "cw"


async def test_unsupported_media_poll_and_schedule_are_rejected(server):
    alice = await server.user("alice")
    assert_error(await alice.post("/api/v1/statuses", data={"status": "x", "media_ids[]": "1"}), 422)
    assert_error(await alice.post("/api/v1/statuses", json={"status": "x", "poll": {"options": ["a"], "expires_in": 600}}), 422)
    assert_error(await alice.post("/api/v1/statuses", data={"status": "x", "scheduled_at": "2001-01-01T00:00:00Z"}), 422)
    assert (await alice.get(f"/api/v1/accounts/{alice.id}/statuses")).json() == []


async def test_edit_adding_a_mention_notifies_once(server):
    alice = await server.user("alice")
    bob = await server.user("bob")
    s = await post(alice, "hello")
    await alice.put(f"/api/v1/statuses/{s['id']}", data={"status": "hello @bob"})
    await alice.put(f"/api/v1/statuses/{s['id']}", data={"status": "hello again @bob"})
    notes = (await bob.get("/api/v1/notifications", params={"types[]": "mention"})).json()
    assert [n["status"]["id"] for n in notes] == [s["id"]]
    assert len((await bob.get(f"/api/v1/statuses/{s['id']}/history")).json()) == 3


async def test_reblog_visibility(server):
    alice = await server.user("alice")
    bob = await server.user("bob")
    s = await post(alice, "share quietly")
    r = await bob.post(f"/api/v1/statuses/{s['id']}/reblog", data={"visibility": "unlisted"})
    assert r.json()["visibility"] == "unlisted"
    carol = await server.user("carol")
    assert_error(await carol.post(f"/api/v1/statuses/{s['id']}/reblog", data={"visibility": "direct"}), 422)
    assert (await carol.get(f"/api/v1/statuses/{s['id']}")).json()["reblogs_count"] == 1
