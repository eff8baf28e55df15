"""A first walk through the everyday flow: post, follow, home timeline, favourite, notifications."""


async def test_post_follow_home_and_notify(server):
    alice = await server.user("alice")
    bob = await server.user("bob")
    r = await bob.post(f"/api/v1/accounts/{alice.id}/follow")
    assert r.status_code == 200, r.text
    assert r.json()["following"] is True
    r = await alice.post("/api/v1/statuses", data={"status": "Hello @bob #Town https://example.org/x"})
    assert r.status_code == 200, r.text
    status = r.json()
    assert '<a href="http://test.local/@bob" class="u-url mention">' in status["content"]
    assert status["tags"][0]["name"] == "town"
    await server.settle()
    home = (await bob.get("/api/v1/timelines/home")).json()
    assert [s["id"] for s in home] == [status["id"]]
    r = await bob.post(f"/api/v1/statuses/{status['id']}/favourite")
    assert r.json()["favourited"] is True and r.json()["favourites_count"] == 1
    notes = (await alice.get("/api/v1/notifications")).json()
    assert [n["type"] for n in notes] == ["favourite", "follow"]
    mentions = (await bob.get("/api/v1/notifications", params={"types[]": "mention"})).json()
    assert [n["status"]["id"] for n in mentions] == [status["id"]]
