"""Grouped notifications (v2) and unread counts that follow the notifications marker."""


async def test_favourites_of_one_status_fold_into_one_group(server):
    alice = await server.user("alice")
    fans = [await server.user(f"fan{i}") for i in range(3)]
    post = (await alice.post("/api/v1/statuses", data={"status": "like me"})).json()
    other = (await alice.post("/api/v1/statuses", data={"status": "and me"})).json()
    for fan in fans:
        await fan.post(f"/api/v1/statuses/{post['id']}/favourite")
    await fans[0].post(f"/api/v1/statuses/{other['id']}/favourite")
    await fans[1].post("/api/v1/statuses", data={"status": "hey @alice"})
    r = await alice.get("/api/v2/notifications")
    assert r.status_code == 200, r.text
    body = r.json()
    groups = body["notification_groups"]
    assert [g["type"] for g in groups] == ["mention", "favourite", "favourite"]
    fav_post = next(g for g in groups if g["status_id"] == post["id"])
    assert fav_post["notifications_count"] == 3
    assert sorted(fav_post["sample_account_ids"]) == sorted(f.id for f in fans)
    assert {a["id"] for a in body["accounts"]} == {f.id for f in fans}
    assert {s["id"] for s in body["statuses"]} >= {post["id"], other["id"]}
    # the v1 entity carries the same group key
    v1 = (await alice.get("/api/v1/notifications", params={"types[]": "favourite"})).json()
    assert {n["group_key"] for n in v1} == {g["group_key"] for g in groups if g["type"] == "favourite"}
    one = (await alice.get(f"/api/v2/notifications/{fav_post['group_key']}")).json()
    assert one["notification_groups"][0]["notifications_count"] == 3
    assert (await alice.post(f"/api/v2/notifications/{fav_post['group_key']}/dismiss")).status_code == 200
    assert (await alice.get(f"/api/v2/notifications/{fav_post['group_key']}")).status_code == 404
    assert len((await alice.get("/api/v1/notifications", params={"types[]": "favourite"})).json()) == 1


async def test_grouped_pagination_and_unread_counts(server):
    alice = await server.user("alice")
    bob = await server.user("bob")
    posts = [(await alice.post("/api/v1/statuses", data={"status": f"p{i}"})).json() for i in range(5)]
    for p in posts:
        await bob.post(f"/api/v1/statuses/{p['id']}/favourite")
    seen, params = [], {"limit": 2}
    for _ in range(5):
        r = await alice.get("/api/v2/notifications", params=params)
        groups = r.json()["notification_groups"]
        if not groups:
            break
        seen += [g["status_id"] for g in groups]
        params = {"limit": 2, "max_id": groups[-1]["page_min_id"]}
    assert seen == [p["id"] for p in reversed(posts)]
    assert (await alice.get("/api/v1/notifications/unread_count")).json()["count"] == 5
    newest = (await alice.get("/api/v1/notifications")).json()
    await alice.post("/api/v1/markers", data={"notifications[last_read_id]": newest[2]["id"]})
    assert (await alice.get("/api/v1/notifications/unread_count")).json()["count"] == 2
    assert (await alice.get("/api/v2/notifications/unread_count")).json()["count"] == 2
