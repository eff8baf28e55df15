"""Attachments on statuses: media_ids[] rules, rendering everywhere, edits and history, only_media, deletion."""

from __future__ import annotations

import json
import subprocess

from sqlalchemy import func, select

from tests.api.test_media import fetch, stored_files, upload
from tests.media_fixtures import png, video, wav
from townsquare.moderation.purge import purge_account
from townsquare.storage import accounts as account_store
from townsquare.storage.tables import media_attachments, statuses


async def picture(user, description: str | None = None) -> dict:
    r = await upload(user, png(), "p.png", "image/png", **({"description": description} if description else {}))
    assert r.status_code == 200, r.text
    return r.json()


async def post(user, **data):
    return await user.post("/api/v1/statuses", data=data)


async def test_status_with_media_is_rendered_everywhere(server):
    alice, bob = await server.user("alice"), await server.user("bob")
    await bob.post(f"/api/v1/accounts/{alice.id}/follow")
    first, second = await picture(alice, "first"), await picture(alice, "second")
    r = await post(alice, status="", **{"media_ids[]": [second["id"], first["id"]]}, sensitive="true")
    assert r.status_code == 200, r.text
    s = r.json()
    assert [m["id"] for m in s["media_attachments"]] == [second["id"], first["id"]]  # the author's order
    assert s["media_attachments"][0]["description"] == "second" and s["sensitive"] is True
    await server.settle()
    for path in (f"/api/v1/statuses/{s['id']}", "/api/v1/timelines/home", "/api/v1/timelines/public",
                 f"/api/v1/accounts/{alice.id}/statuses"):
        body = (await bob.get(path)).json()
        shown = body if isinstance(body, dict) else body[0]
        assert [m["id"] for m in shown["media_attachments"]] == [second["id"], first["id"]], path
    # Once attached, an upload is no longer the uploader's to show or delete through the media API.
    assert (await alice.get(f"/api/v1/media/{first['id']}")).status_code == 404
    r = await alice.delete(f"/api/v1/media/{first['id']}")
    assert r.status_code == 422 and "used by a status" in r.json()["error"]
    # A mention notification carries the status with its media.
    r = await post(alice, status="@bob look", **{"media_ids[]": [(await picture(alice))["id"]]})
    notes = (await bob.get("/api/v1/notifications", params={"types[]": "mention"})).json()
    assert notes[0]["status"]["media_attachments"][0]["type"] == "image"


async def test_media_ids_rules(server):
    alice, bob = await server.user("alice"), await server.user("bob")
    five = [(await picture(alice))["id"] for _ in range(5)]
    r = await post(alice, status="too many", **{"media_ids[]": five})
    assert r.status_code == 422 and "more than 4" in r.json()["error"]
    theirs = await picture(bob)
    r = await post(alice, status="not mine", **{"media_ids[]": [theirs["id"]]})
    assert r.status_code == 422 and "not found" in r.json()["error"]
    r = await post(alice, status="unknown", **{"media_ids[]": ["123456789"]})
    assert r.status_code == 422
    used = (await post(alice, status="taken", **{"media_ids[]": [five[0]]})).json()
    r = await post(alice, status="again", **{"media_ids[]": [five[0]]})
    assert r.status_code == 422 and "already attached" in r.json()["error"]
    r = await post(alice, status="")
    assert r.status_code == 422  # no text and no media
    async with server.ctx.db.read() as conn:
        count = (await conn.execute(select(func.count()).select_from(statuses))).scalar_one()
    assert count == 1 and used["media_attachments"][0]["id"] == five[0]


async def test_processing_media_cannot_be_attached_and_video_is_not_mixed(server):
    alice = await server.user("alice")
    await server.ctx.jobs.stop()  # keep the upload processing until settle() runs the job
    clip = await upload(alice, video(seconds=1.0), "clip.webm", "video/webm")
    assert clip.status_code == 202 and clip.json()["url"] is None
    assert (await alice.get(f"/api/v1/media/{clip.json()['id']}")).status_code == 206
    r = await post(alice, status="too early", **{"media_ids[]": [clip.json()["id"]]})
    assert r.status_code == 422 and "finished processing" in r.json()["error"]
    await server.settle()
    done = await alice.get(f"/api/v1/media/{clip.json()['id']}")
    assert done.status_code == 200 and done.json()["type"] == "video" and done.json()["url"].endswith(".mp4")
    image = await picture(alice)
    r = await post(alice, status="mixed", **{"media_ids[]": [clip.json()["id"], image["id"]]})
    assert r.status_code == 422 and "video" in r.json()["error"]
    r = await post(alice, status="a clip", **{"media_ids[]": [clip.json()["id"]]})
    assert r.status_code == 200
    m = r.json()["media_attachments"][0]
    assert m["meta"]["original"]["frame_rate"] == "24/1" and m["meta"]["original"]["duration"] > 0.5
    assert m["preview_url"] and max(m["meta"]["small"]["width"], m["meta"]["small"]["height"]) <= 640
    data = (await fetch(server, m["url"])).content
    probe = subprocess.run(["ffprobe", "-v", "error", "-show_streams", "-of", "json", "-"], input=data,
                           capture_output=True, check=True)
    codecs = {s["codec_type"]: s for s in json.loads(probe.stdout)["streams"]}
    assert codecs["video"]["codec_name"] == "h264" and codecs["video"]["pix_fmt"] == "yuv420p"
    assert codecs["audio"]["codec_name"] == "aac"
    assert data.find(b"moov") < data.find(b"mdat")  # faststart: the index comes first


async def test_audio_and_broken_video(server):
    alice = await server.user("alice")
    sound = await upload(alice, wav(1.0), "tone.wav", "audio/wav")
    assert sound.status_code == 202 and sound.json()["type"] == "audio"
    broken = await upload(alice, b"\x00\x00\x00\x18ftypisom" + b"\x00" * 500, "broken.mp4", "video/mp4")
    assert broken.status_code == 202
    await server.settle()
    done = (await alice.get(f"/api/v1/media/{sound.json()['id']}")).json()
    assert done["type"] == "audio" and done["url"].endswith(".mp3") and done["meta"]["original"]["duration"] > 0.9
    assert (await fetch(server, done["url"])).headers["content-type"] == "audio/mpeg"
    failed = await alice.get(f"/api/v1/media/{broken.json()['id']}")
    assert failed.status_code == 422 and "could not be read" in failed.json()["error"]
    r = await post(alice, status="broken", **{"media_ids[]": [broken.json()["id"]]})
    assert r.status_code == 422


async def test_edit_changes_media_and_history_keeps_each_version(server):
    alice = await server.user("alice")
    first, second = await picture(alice, "before"), await picture(alice)
    s = (await post(alice, status="v1", **{"media_ids[]": [first["id"]]})).json()
    r = await alice.put(f"/api/v1/statuses/{s['id']}", json={
        "status": "v2", "media_ids": [first["id"], second["id"]],
        "media_attributes": [{"id": first["id"], "description": "after", "focus": "0.1,0.2"}]})
    assert r.status_code == 200, r.text
    media = r.json()["media_attachments"]
    assert [m["id"] for m in media] == [first["id"], second["id"]] and media[0]["description"] == "after"
    assert media[0]["meta"]["focus"] == {"x": 0.1, "y": 0.2}
    history = (await alice.get(f"/api/v1/statuses/{s['id']}/history")).json()
    assert [[m["id"] for m in h["media_attachments"]] for h in history] == [[first["id"]], [first["id"], second["id"]]]
    assert history[0]["media_attachments"][0]["description"] == "before"
    r = await alice.put(f"/api/v1/statuses/{s['id']}", data={"status": "v3"})  # no media_ids: media stay
    assert len(r.json()["media_attachments"]) == 2
    bob = await server.user("bob")
    r = await alice.put(f"/api/v1/statuses/{s['id']}", json={"status": "v4", "media_ids": [(await picture(bob))["id"]]})
    assert r.status_code == 422


async def test_only_media_filters(server):
    alice = await server.user("alice")
    with_media = (await post(alice, status="#cats pic", **{"media_ids[]": [(await picture(alice))["id"]]})).json()
    await post(alice, status="#cats words only")
    for path in (f"/api/v1/accounts/{alice.id}/statuses", "/api/v1/timelines/public", "/api/v1/timelines/tag/cats"):
        assert len((await alice.get(path)).json()) == 2, path
        only = (await alice.get(path, params={"only_media": "true"})).json()
        assert [x["id"] for x in only] == [with_media["id"]], path


async def test_deleting_a_status_or_purging_an_account_removes_files(server):
    alice, bob = await server.user("alice"), await server.user("bob")
    s = (await post(alice, status="bye", **{"media_ids[]": [(await picture(alice))["id"]]})).json()
    (await post(bob, status="mine", **{"media_ids[]": [(await picture(bob))["id"]]})).json()
    await picture(bob)  # unattached
    await server.settle()
    assert len(await stored_files(server)) == 6
    assert (await alice.delete(f"/api/v1/statuses/{s['id']}")).status_code == 200
    await server.settle()
    assert len(await stored_files(server)) == 4
    async with server.ctx.db.write() as conn:
        target = await account_store.get(conn, int(bob.id))
        await conn.execute(account_store.accounts.update().where(account_store.accounts.c.id == target.id)
                           .values(suspended_at=func.now()))
        target = await account_store.get(conn, int(bob.id))
        await purge_account(conn, server.ctx.feeds, None, target)
    server.ctx.after_commit()
    await server.settle()
    assert await stored_files(server) == []
    async with server.ctx.db.read() as conn:
        assert (await conn.execute(select(func.count()).select_from(media_attachments))).scalar_one() == 0


async def test_streaming_payloads_carry_media_and_the_media_channels(server):
    from townsquare.api.stream_render import render
    from townsquare.domain.models import Status, Viewer
    from townsquare.storage.db import OUTBOX
    from townsquare.timelines import events

    alice, bob = await server.user("alice"), await server.user("bob")
    with_media = (await post(alice, status="pic", **{"media_ids[]": [(await picture(alice, "alt"))["id"]]})).json()
    plain = (await post(alice, status="words")).json()
    await server.settle()
    async with server.ctx.db.read() as conn:
        channels = {}
        for s in (with_media, plain):
            row = (await conn.execute(select(statuses).where(statuses.c.id == int(s["id"])))).first()
            await events.publish_new_status(conn, Status.from_row(row))
            channels[s["id"]] = {channel for channel, _ in conn.info.pop(OUTBOX, [])}
        viewer = Viewer(account=await account_store.get(conn, int(bob.id)), scopes=frozenset({"read"}))
    assert {"timeline:public:media", "timeline:public:local:media"} <= channels[with_media["id"]]
    assert not any(c.endswith(":media") for c in channels[plain["id"]])
    event, payload = await render(server.ctx, viewer, "public:media", {"event": "update", "status_id": with_media["id"]})
    shown = json.loads(payload)
    assert event == "update" and shown["media_attachments"][0]["description"] == "alt"
