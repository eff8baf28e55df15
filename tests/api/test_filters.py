"""Filters v2 and v1: CRUD, keyword and status sub-resources, bad input, and the Filter entity against the OpenAPI."""

from __future__ import annotations

from tests.api.conftest import assert_error, post
from tests.api.mastodon_schema import assert_entity


async def _create(user, **body) -> dict:
    r = await user.post("/api/v2/filters", json={"title": "Spoilers", "context": ["home", "public"], **body})
    assert r.status_code == 200, r.text
    return r.json()


async def test_v2_filter_crud_with_keywords_attributes(server):
    alice = await server.user("alice")
    created = await _create(alice, filter_action="hide", expires_in=3600,
                            keywords_attributes=[{"keyword": "finale", "whole_word": True}, {"keyword": "leak"},
                                                 {"keyword": "skipped", "_destroy": True}])
    assert_entity("Filter", created)
    assert created["title"] == "Spoilers" and created["context"] == ["home", "public"]
    assert created["filter_action"] == "hide" and created["expires_at"] is not None
    assert [(k["keyword"], k["whole_word"]) for k in created["keywords"]] == [("finale", True), ("leak", True)]
    assert created["statuses"] == []
    fid = created["id"]
    assert (await alice.get(f"/api/v2/filters/{fid}")).json() == created
    assert [f["id"] for f in (await alice.get("/api/v2/filters")).json()] == [fid]

    finale, leak = created["keywords"]
    r = await alice.put(f"/api/v2/filters/{fid}", json={
        "title": "TV", "filter_action": "blur", "context": ["thread"], "expires_in": "",
        "keywords_attributes": [{"id": finale["id"], "keyword": "season finale", "whole_word": False},
                                {"id": leak["id"], "_destroy": True}, {"keyword": "trailer"}]})
    assert r.status_code == 200, r.text
    changed = r.json()
    assert_entity("Filter", changed)
    assert changed["title"] == "TV" and changed["filter_action"] == "blur" and changed["context"] == ["thread"]
    assert changed["expires_at"] is None
    assert [(k["keyword"], k["whole_word"]) for k in changed["keywords"]] == [("season finale", False), ("trailer", True)]
    assert changed["keywords"][0]["id"] == finale["id"]

    assert (await alice.delete(f"/api/v2/filters/{fid}")).json() == {}
    assert_error(await alice.get(f"/api/v2/filters/{fid}"), 404)
    assert (await alice.get("/api/v2/filters")).json() == []


async def test_keyword_and_status_sub_resources(server):
    alice, bob = await server.user("alice"), await server.user("bob")
    fid = (await _create(alice))["id"]
    r = await alice.post(f"/api/v2/filters/{fid}/keywords", data={"keyword": "spoiler", "whole_word": "false"})
    assert r.status_code == 200, r.text
    kw = r.json()
    assert_entity("FilterKeyword", kw)
    assert kw["keyword"] == "spoiler" and kw["whole_word"] is False
    assert (await alice.get(f"/api/v2/filters/{fid}/keywords")).json() == [kw]
    for prefix in ("/api/v2/filters/keywords", "/api/v2/filter_keywords"):
        assert (await alice.get(f"{prefix}/{kw['id']}")).json() == kw
    changed = (await alice.put(f"/api/v2/filters/keywords/{kw['id']}", data={"keyword": "spoilers", "whole_word": "true"})).json()
    assert changed == {**kw, "keyword": "spoilers", "whole_word": True}

    status = await post(bob, "the ending, in full")
    r = await alice.post(f"/api/v2/filters/{fid}/statuses", data={"status_id": status["id"]})
    assert r.status_code == 200, r.text
    fs = r.json()
    assert_entity("FilterStatus", fs)
    assert fs["status_id"] == status["id"]
    assert (await alice.get(f"/api/v2/filters/{fid}/statuses")).json() == [fs]
    assert (await alice.get(f"/api/v2/filter_statuses/{fs['id']}")).json() == fs
    assert_error(await alice.post(f"/api/v2/filters/{fid}/statuses", data={"status_id": status["id"]}), 422)
    whole = (await alice.get(f"/api/v2/filters/{fid}")).json()
    assert whole["keywords"] == [changed] and whole["statuses"] == [fs]

    assert (await alice.delete(f"/api/v2/filters/statuses/{fs['id']}")).json() == {}
    assert (await alice.delete(f"/api/v2/filter_keywords/{kw['id']}")).json() == {}
    whole = (await alice.get(f"/api/v2/filters/{fid}")).json()
    assert whole["keywords"] == [] and whole["statuses"] == []


async def test_bad_input_is_refused_and_changes_nothing(server):
    alice, bob = await server.user("alice"), await server.user("bob")
    created = await _create(alice, keywords_attributes=[{"keyword": "kept"}])
    fid = created["id"]
    bad_creates = [
        {"title": "x", "context": ["home", "everywhere"]},
        {"title": "x", "context": []},
        {"title": "x", "context": ["home"], "filter_action": "explode"},
        {"title": "", "context": ["home"]},
        {"title": "x", "context": ["home"], "keywords_attributes": [{"keyword": "  "}]},
        {"title": "x", "context": ["home"], "expires_in": "soon"},
        {"title": "x", "context": ["home"], "expires_in": -5},
        {"title": "x", "context": ["home"], "keywords_attributes": ["not an object"]},
    ]
    for body in bad_creates:
        assert_error(await alice.post("/api/v2/filters", json=body), 422)
    assert_error(await alice.post("/api/v2/filters", json={"title": "x", "context": ["home"],
                                                           "keywords_attributes": [{"id": "1", "keyword": "a"}]}), 404)
    assert [f["id"] for f in (await alice.get("/api/v2/filters")).json()] == [fid]

    for body in ({"context": ["nowhere"]}, {"filter_action": "delete"}, {"title": "  "},
                 {"keywords_attributes": [{"keyword": ""}]},
                 {"title": "renamed", "keywords_attributes": [{"id": created["keywords"][0]["id"], "keyword": ""}]}):
        assert_error(await alice.put(f"/api/v2/filters/{fid}", json=body), 422)
    assert (await alice.get(f"/api/v2/filters/{fid}")).json() == created  # nothing of the refused changes stuck
    assert_error(await alice.post(f"/api/v2/filters/{fid}/keywords", data={"keyword": " "}), 422)

    # Someone else's filter, keyword or filter status is not found, and stays as it was.
    kid = created["keywords"][0]["id"]
    for r in (await bob.get(f"/api/v2/filters/{fid}"), await bob.put(f"/api/v2/filters/{fid}", json={"title": "mine"}),
              await bob.delete(f"/api/v2/filters/{fid}"), await bob.get(f"/api/v2/filters/{fid}/keywords"),
              await bob.post(f"/api/v2/filters/{fid}/keywords", data={"keyword": "x"}),
              await bob.get(f"/api/v2/filters/keywords/{kid}"), await bob.delete(f"/api/v2/filters/keywords/{kid}"),
              await bob.put(f"/api/v2/filters/keywords/{kid}", data={"keyword": "x"}),
              await bob.delete(f"/api/v1/filters/{kid}"), await bob.get("/api/v2/filters/not-an-id")):
        assert_error(r, 404)
    other = await _create(bob, keywords_attributes=[{"keyword": "bobs"}])
    r = await alice.put(f"/api/v2/filters/{fid}", json={"keywords_attributes": [{"id": other["keywords"][0]["id"], "_destroy": True}]})
    assert_error(r, 404)
    assert (await bob.get(f"/api/v2/filters/{other['id']}")).json() == other
    assert (await alice.get(f"/api/v2/filters/{fid}")).json() == created

    # A status the viewer cannot see cannot be named in a filter.
    secret = await post(bob, "followers only", visibility="private")
    assert_error(await alice.post(f"/api/v2/filters/{fid}/statuses", data={"status_id": secret["id"]}), 404)
    assert_error(await alice.post(f"/api/v2/filters/{fid}/statuses", data={"status_id": "nope"}), 404)
    assert (await alice.get(f"/api/v2/filters/{fid}/statuses")).json() == []

    assert_error(await server.http.get("/api/v2/filters"), 401)
    reader = await server.user("reader", scopes="read")
    assert_error(await reader.post("/api/v2/filters", json={"title": "x", "context": ["home"]}), 403)


async def test_v1_filters_map_onto_v2(server):
    alice = await server.user("alice")
    r = await alice.post("/api/v1/filters", data={"phrase": "politics", "context[]": ["home", "notifications"],
                                                  "irreversible": "true", "whole_word": "true", "expires_in": "600"})
    assert r.status_code == 200, r.text
    v1 = r.json()
    assert_entity("V1Filter", v1)
    assert v1["phrase"] == "politics" and v1["context"] == ["home", "notifications"]
    assert v1["irreversible"] is True and v1["whole_word"] is True and v1["expires_at"] is not None
    assert (await alice.get(f"/api/v1/filters/{v1['id']}")).json() == v1
    assert (await alice.get("/api/v1/filters")).json() == [v1]
    v2 = (await alice.get("/api/v2/filters")).json()
    assert len(v2) == 1 and v2[0]["title"] == "politics" and v2[0]["filter_action"] == "hide"
    assert v2[0]["keywords"][0]["id"] == v1["id"]

    changed = (await alice.put(f"/api/v1/filters/{v1['id']}", data={"phrase": "elections", "context[]": ["public"],
                                                                     "irreversible": "false", "whole_word": "false"})).json()
    assert changed["phrase"] == "elections" and changed["context"] == ["public"]
    assert changed["irreversible"] is False and changed["whole_word"] is False
    assert (await alice.get("/api/v2/filters")).json()[0]["filter_action"] == "warn"

    # A v2 filter with two keywords shows as two v1 filters.
    await alice.post("/api/v2/filters", json={"title": "two", "context": ["home"],
                                              "keywords_attributes": [{"keyword": "a"}, {"keyword": "b"}]})
    assert sorted(f["phrase"] for f in (await alice.get("/api/v1/filters")).json()) == ["a", "b", "elections"]

    assert_error(await alice.post("/api/v1/filters", data={"phrase": "", "context[]": ["home"]}), 422)
    assert_error(await alice.post("/api/v1/filters", data={"phrase": "x", "context[]": ["mars"]}), 422)
    assert_error(await alice.put(f"/api/v1/filters/{v1['id']}", data={"phrase": " "}), 422)
    assert (await alice.get(f"/api/v1/filters/{v1['id']}")).json() == changed
    assert (await alice.delete(f"/api/v1/filters/{v1['id']}")).json() == {}
    assert_error(await alice.get(f"/api/v1/filters/{v1['id']}"), 404)
    assert [f["title"] for f in (await alice.get("/api/v2/filters")).json()] == ["two"]  # the emptied filter went too
