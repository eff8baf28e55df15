"""A post's 200 is rendered from what it wrote: it must be byte for byte what a read shows its author right after."""

from __future__ import annotations

import orjson

from tests.api.test_media_statuses import picture


async def _posted_and_read(user, **data) -> tuple[dict, dict]:
    r = await user.post("/api/v1/statuses", json=data)
    assert r.status_code == 200, r.text
    posted = r.json()
    read = await user.get(f"/api/v1/statuses/{posted['id']}")
    assert read.status_code == 200, read.text
    return posted, read.json()


def _same(posted: dict, read: dict) -> None:
    assert orjson.dumps(posted, option=orjson.OPT_SORT_KEYS) == orjson.dumps(read, option=orjson.OPT_SORT_KEYS)


async def test_post_response_equals_a_read_right_after(server):
    alice, bob = await server.user("alice"), await server.user("bob")
    await server.user("carol")  # mentioned below
    root = (await bob.post("/api/v1/statuses", json={"status": "root post"})).json()
    cases = [
        {"status": "plain"},
        {"status": "hi @carol and @bob and @nobody #Python #python #Zed, see https://example.org/x"},
        {"status": "behind a warning", "spoiler_text": "CW: plot", "language": "de"},
        {"status": "@bob a reply", "in_reply_to_id": root["id"]},
        {"status": "a poll", "poll": {"options": ["yes", " no "], "expires_in": 3600, "multiple": True}},
        {"status": "a hidden poll", "poll": {"options": ["a", "b"], "expires_in": 600, "hide_totals": True}},
        {"status": "", "media_ids": [(await picture(alice, "alt text"))["id"], (await picture(alice))["id"]],
         "sensitive": True},
        {"status": "to you @bob", "visibility": "direct"},
        {"status": "followers", "visibility": "private", "quote_approval_policy": "nobody"},
        {"status": "unlisted", "visibility": "unlisted"},
        {"status": "quoting", "quoted_status_id": root["id"]},
    ]
    for data in cases:
        posted, read = await _posted_and_read(alice, **data)
        _same(posted, read)
    # The author's counters in the response are those of the post just written.
    assert posted["account"]["statuses_count"] == len(cases)
    assert posted["account"]["last_status_at"] is not None


async def test_post_response_of_an_idempotent_repeat(server):
    alice = await server.user("alice")
    headers = {"Authorization": f"Bearer {alice.token}", "Idempotency-Key": "once"}
    first = await alice.http.post("/api/v1/statuses", json={"status": "only once"}, headers=headers)
    again = await alice.http.post("/api/v1/statuses", json={"status": "only once"}, headers=headers)
    assert first.status_code == again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    read = (await alice.get(f"/api/v1/statuses/{first.json()['id']}")).json()
    _same(again.json(), read)
    _same(first.json(), read)


async def test_post_response_is_not_read_back(server, monkeypatch):
    from townsquare.api.mastodon import statuses as routes

    alice = await server.user("alice")

    async def refuse(*_args, **_kw):
        raise AssertionError("the response of a plain post was read back from the database")

    monkeypatch.setattr(routes, "_render_one", refuse)
    r = await alice.post("/api/v1/statuses", json={"status": "not read back #tag", "poll": {"options": ["a", "b"], "expires_in": 600}})
    assert r.status_code == 200, r.text


async def test_post_response_of_a_sensitized_author(server):
    from tests.api.test_moderation import _cast

    _, troll, mod = await _cast(server)
    r = await mod.post(f"/api/v1/admin/accounts/{troll.id}/action", data={"type": "sensitive"})
    assert r.status_code == 200, r.text
    posted, read = await _posted_and_read(troll, status="marked by a moderator")
    assert posted["sensitive"] is True
    _same(posted, read)
