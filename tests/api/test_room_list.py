"""The rooms listed for nginx (storage/room_list.py): a file per room before its creation commits, gone when it is
deleted, and every room listed again at start-up."""

from __future__ import annotations

import shutil

from townsquare.storage.room_list import RoomList, list_all


async def test_a_room_is_listed_when_created_and_unlisted_when_deleted(server):
    host = await server.user("host")
    listed = server.ctx.room_list.path
    assert listed == server.ctx.settings.data_dir / "spaces" / "listed"
    r = await host.post("/api/v1/spaces", data={"title": "Listed"})
    assert r.status_code == 200, r.text
    sid = r.json()["id"]
    assert (listed / sid).is_file()
    bad = await host.post("/api/v1/spaces", data={"title": "   "})  # refused: nothing written, nothing listed
    assert bad.status_code == 422
    assert sorted(p.name for p in listed.iterdir()) == [sid]
    assert (await host.delete(f"/api/v1/spaces/{sid}")).status_code == 200
    assert not (listed / sid).exists()


async def test_start_up_lists_every_room_again(server):
    host = await server.user("host")
    ids = [(await host.post("/api/v1/spaces", data={"title": f"Room {i}"})).json()["id"] for i in range(3)]
    live = ids[0]
    assert (await host.post(f"/api/v1/spaces/{live}/start")).status_code == 200
    assert (await host.post(f"/api/v1/spaces/{live}/end")).status_code == 200  # ended rooms stay listed too
    shutil.rmtree(server.ctx.room_list.path)
    await list_all(server.ctx.db, server.ctx.room_list)
    assert server.ctx.room_list.listed() == {int(i) for i in ids}
    await list_all(server.ctx.db, server.ctx.room_list)  # again: nothing to add
    assert server.ctx.room_list.sync(int(i) for i in ids) == 0


async def test_a_list_that_cannot_be_written_never_fails_a_room(server, tmp_path):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the directory should be")
    server.ctx.room_list = RoomList(blocker / "listed")
    host = await server.user("host")
    r = await host.post("/api/v1/spaces", data={"title": "Still made"})
    assert r.status_code == 200, r.text
    assert (await host.get(f"/api/v1/spaces/{r.json()['id']}")).status_code == 200
