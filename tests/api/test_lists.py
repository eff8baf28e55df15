"""Lists: CRUD, membership rules, list timelines, replies policies and exclusive lists."""

from tests.api.conftest import assert_error


async def _post(user, text, **extra):
    r = await user.post("/api/v1/statuses", data={"status": text, **extra})
    assert r.status_code == 200, r.text
    return r.json()


async def test_list_crud_and_errors(server):
    alice = await server.user("alice")
    r = await alice.post("/api/v1/lists", data={"title": "Friends"})
    assert r.status_code == 200
    created = r.json()
    assert created["title"] == "Friends" and created["replies_policy"] == "list" and created["exclusive"] is False
    lid = created["id"]
    assert (await alice.get(f"/api/v1/lists/{lid}")).json() == created
    changed = (await alice.put(f"/api/v1/lists/{lid}", json={"title": "Pals", "replies_policy": "followed", "exclusive": True})).json()
    assert changed == {"id": lid, "title": "Pals", "replies_policy": "followed", "exclusive": True}
    assert [x["id"] for x in (await alice.get("/api/v1/lists")).json()] == [lid]
    assert_error(await alice.post("/api/v1/lists", data={"title": "  "}), 422)
    assert_error(await alice.post("/api/v1/lists", data={}), 422)
    assert_error(await alice.put(f"/api/v1/lists/{lid}", data={"replies_policy": "everyone"}), 422)
    assert (await alice.get(f"/api/v1/lists/{lid}")).json()["replies_policy"] == "followed"  # rejected change changed nothing
    bob = await server.user("bob")
    assert_error(await bob.get(f"/api/v1/lists/{lid}"), 404)
    assert_error(await bob.delete(f"/api/v1/lists/{lid}"), 404)
    assert (await alice.delete(f"/api/v1/lists/{lid}")).json() == {}
    assert_error(await alice.get(f"/api/v1/lists/{lid}"), 404)
    assert (await alice.get("/api/v1/lists")).json() == []


async def test_members_must_be_followed_and_list_timeline(server):
    alice, bob, carol, dave = [await server.user(n) for n in ("alice", "bob", "carol", "dave")]
    lid = (await alice.post("/api/v1/lists", data={"title": "Work"})).json()["id"]
    assert_error(await alice.post(f"/api/v1/lists/{lid}/accounts", data={"account_ids[]": [bob.id]}), 422)
    assert (await alice.get(f"/api/v1/lists/{lid}/accounts")).json() == []
    await alice.post(f"/api/v1/accounts/{bob.id}/follow")
    await alice.post(f"/api/v1/accounts/{carol.id}/follow")
    early = await _post(bob, "before being listed")
    await server.settle()
    assert (await alice.post(f"/api/v1/lists/{lid}/accounts", data={"account_ids[]": [bob.id]})).json() == {}
    assert [a["id"] for a in (await alice.get(f"/api/v1/lists/{lid}/accounts")).json()] == [str(bob.id)]
    assert [x["id"] for x in (await alice.get(f"/api/v1/accounts/{bob.id}/lists")).json()] == [lid]
    from_bob = await _post(bob, "in the list")
    await _post(carol, "not in the list")
    await _post(dave, "not followed")
    await server.settle()
    timeline = (await alice.get(f"/api/v1/timelines/list/{lid}")).json()
    assert [s["id"] for s in timeline] == [from_bob["id"], early["id"]]
    # Home still has everything followed: the list is not exclusive.
    assert from_bob["id"] in [s["id"] for s in (await alice.get("/api/v1/timelines/home")).json()]
    assert_error(await bob.get(f"/api/v1/timelines/list/{lid}"), 404)
    await alice.delete(f"/api/v1/lists/{lid}/accounts?account_ids[]={bob.id}")
    assert (await alice.get(f"/api/v1/timelines/list/{lid}")).json() == []


async def test_replies_policies(server):
    alice, bob, carol, erin = [await server.user(n) for n in ("alice", "bob", "carol", "erin")]
    for target in (bob, carol):
        await alice.post(f"/api/v1/accounts/{target.id}/follow")
    lists = {}
    for policy in ("list", "followed", "none"):
        lid = (await alice.post("/api/v1/lists", data={"title": policy, "replies_policy": policy})).json()["id"]
        await alice.post(f"/api/v1/lists/{lid}/accounts", data={"account_ids[]": [bob.id]})
        lists[policy] = lid
    carol_post = await _post(carol, "carol speaks")
    erin_post = await _post(erin, "erin speaks")
    to_carol = await _post(bob, "@carol reply to a followed non-member", in_reply_to_id=carol_post["id"])
    to_erin = await _post(bob, "@erin reply to a stranger", in_reply_to_id=erin_post["id"])
    await server.settle()

    async def ids(policy):
        return {s["id"] for s in (await alice.get(f"/api/v1/timelines/list/{lists[policy]}")).json()}

    assert to_carol["id"] in await ids("followed") and to_erin["id"] not in await ids("followed")
    assert to_carol["id"] not in await ids("list") and to_erin["id"] not in await ids("list")
    assert not (await ids("none")) & {to_carol["id"], to_erin["id"]}


async def test_exclusive_list_keeps_members_out_of_home(server):
    alice, bob, carol = [await server.user(n) for n in ("alice", "bob", "carol")]
    await alice.post(f"/api/v1/accounts/{bob.id}/follow")
    await alice.post(f"/api/v1/accounts/{carol.id}/follow")
    lid = (await alice.post("/api/v1/lists", data={"title": "Noisy", "exclusive": "true"})).json()["id"]
    await alice.post(f"/api/v1/lists/{lid}/accounts", data={"account_ids[]": [bob.id]})
    noisy = await _post(bob, "lots of posts")
    calm = await _post(carol, "one post")
    await server.settle()
    home = [s["id"] for s in (await alice.get("/api/v1/timelines/home")).json()]
    assert calm["id"] in home and noisy["id"] not in home
    assert [s["id"] for s in (await alice.get(f"/api/v1/timelines/list/{lid}")).json()] == [noisy["id"]]


async def test_unfollow_leaves_lists(server):
    alice, bob = await server.user("alice"), await server.user("bob")
    await alice.post(f"/api/v1/accounts/{bob.id}/follow")
    lid = (await alice.post("/api/v1/lists", data={"title": "L"})).json()["id"]
    await alice.post(f"/api/v1/lists/{lid}/accounts", data={"account_ids[]": [bob.id]})
    await _post(bob, "hello")
    await server.settle()
    assert len((await alice.get(f"/api/v1/timelines/list/{lid}")).json()) == 1
    await alice.post(f"/api/v1/accounts/{bob.id}/unfollow")
    assert (await alice.get(f"/api/v1/lists/{lid}/accounts")).json() == []
    assert (await alice.get(f"/api/v1/timelines/list/{lid}")).json() == []


async def test_list_scopes(server):
    reader = await server.user("reader", scopes="read")
    assert_error(await reader.post("/api/v1/lists", data={"title": "x"}), 403)
    assert (await reader.get("/api/v1/lists")).status_code == 200
