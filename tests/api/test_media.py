"""Media uploads through the API: images processed at once, bad input refused with nothing stored, access rules."""

from __future__ import annotations

import io
from datetime import timedelta

import blurhash
import httpx
from PIL import Image
from sqlalchemy import func, select, update

from tests.conftest import BASE
from tests.media_fixtures import animated_gif, jpeg_with_gps, png, png_bomb
from townsquare.core.clock import now
from townsquare.storage.tables import jobs, media_attachments


async def fetch(server, url: str) -> httpx.Response:
    """GET a media URL: this app's own, or the object store's over real HTTP."""
    if url.startswith(BASE):
        return await server.http.get(url)
    async with httpx.AsyncClient() as client:
        return await client.get(url)


async def stored_files(server) -> list[str]:
    """Every file the media store holds (disk folder or bucket)."""
    store = server.ctx.media
    if hasattr(store, "root"):
        return sorted(str(p.relative_to(store.root)) for p in store.root.rglob("*") if p.is_file()) if store.root.exists() else []
    async with store._client() as client:
        listing = await client.list_objects_v2(Bucket=store.bucket)
        return sorted(o["Key"] for o in listing.get("Contents", []))


async def media_rows(server) -> int:
    async with server.ctx.db.read() as conn:
        return (await conn.execute(select(func.count()).select_from(media_attachments))).scalar_one()


async def upload(user, data: bytes, name: str = "photo.jpg", ctype: str = "image/jpeg", version: int = 2, **fields):
    return await user.post(f"/api/v{version}/media", files={"file": (name, data, ctype)}, data=fields)


async def test_image_upload_is_processed_at_once_without_metadata(server):
    alice = await server.user("alice")
    r = await upload(alice, jpeg_with_gps(640, 480, orientation=6), description="A red and blue card", focus="0.5,-0.25")
    assert r.status_code == 200, r.text
    m = r.json()
    assert m["type"] == "image" and m["description"] == "A red and blue card" and m["remote_url"] is None
    # Orientation 6 (rotated 90 degrees) is applied to the pixels: the stored image is portrait.
    assert m["meta"]["original"] == {"width": 480, "height": 640, "size": "480x640", "aspect": 0.75}
    assert m["meta"]["focus"] == {"x": 0.5, "y": -0.25}
    small = m["meta"]["small"]
    assert small["width"] * small["height"] <= 230_400 and abs(small["aspect"] - 0.75) < 0.01
    original = await fetch(server, m["url"])
    assert original.status_code == 200 and original.headers["content-type"] == "image/jpeg"
    im = Image.open(io.BytesIO(original.content))
    exif = im.getexif()
    assert im.size == (480, 640) and dict(exif) == {} and dict(exif.get_ifd(0x8825)) == {}  # no GPS, no EXIF at all
    assert b"PhoneMaker" not in original.content
    # The top of the rotated picture is the former left half (red): orientation really applied.
    top, bottom = im.convert("RGB").getpixel((240, 20)), im.convert("RGB").getpixel((240, 620))
    assert top[0] > top[2] and bottom[2] > bottom[0]
    preview = await fetch(server, m["preview_url"])
    assert Image.open(io.BytesIO(preview.content)).size == (small["width"], small["height"])
    pixels = blurhash.decode(m["blurhash"], 8, 8)
    assert len(m["blurhash"]) == 36 and m["blurhash"][0] == "U"  # 4x4 components: (4-1) + (4-1)*9 = 30 = "U"
    assert pixels[0][4][0] > pixels[0][4][2] and pixels[7][4][2] > pixels[7][4][0]  # red on top, blue below


async def test_files_served_by_the_app_are_immutable_and_inert(server):
    alice = await server.user("alice")
    m = (await upload(alice, png(), "a.png", "image/png")).json()
    if not m["url"].startswith(BASE):
        return  # the object store serves them (checked in test_media_store)
    r = await server.http.get(m["url"])
    assert r.status_code == 200 and r.headers["content-type"] == "image/png"
    assert "immutable" in r.headers["cache-control"] and "max-age=31536000" in r.headers["cache-control"]
    assert r.headers["x-content-type-options"] == "nosniff"
    assert "default-src 'none'" in r.headers["content-security-policy"]
    prefix = m["url"].split("/system/media/", 1)[1].rsplit("/", 1)[0]
    assert len(prefix.split("/")[-1]) == 32 and m["id"] not in m["url"]  # random, not derived from the id
    assert (await server.http.get(f"/system/media/{prefix}/upload.bin")).status_code == 404
    assert (await server.http.get("/system/media/../townsquare.sqlite3")).status_code == 404


async def test_large_image_is_shrunk_to_the_pixel_limit(server):
    alice = await server.user("alice")
    data = io.BytesIO()
    Image.new("RGB", (4000, 2200), (90, 90, 200)).save(data, "JPEG", quality=80)
    m = (await upload(alice, data.getvalue())).json()
    original = m["meta"]["original"]
    assert original["width"] * original["height"] <= 8_294_400 and original["width"] < 4000
    assert abs(original["aspect"] - 4000 / 2200) < 0.01


async def test_bad_files_are_refused_and_nothing_is_stored(server):
    alice = await server.user("alice")
    jpeg = jpeg_with_gps(320, 240)
    cases = [
        (jpeg[: len(jpeg) // 2], "half.jpg", "image/jpeg", "truncated"),
        (b"#!/bin/sh\nrm -rf /\n" * 10, "evil.png", "image/png", "not supported"),
        (png_bomb(40_000), "bomb.png", "image/png", "too large"),
        (b"", "empty.png", "image/png", "not supported"),
        (b"GIF89a" + b"\x00" * 20, "broken.gif", "image/gif", "could not be read"),
    ]
    for data, name, ctype, phrase in cases:
        r = await upload(alice, data, name, ctype)
        assert r.status_code == 422, (name, r.status_code, r.text)
        assert phrase in r.json()["error"].lower() or phrase in r.json()["error"], (name, r.json())
    r = await upload(alice, png(), "a.png", "image/png", description="x" * 1501)
    assert r.status_code == 422 and "Description" in r.json()["error"]
    r = await upload(alice, png(), "a.png", "image/png", focus="2,0")
    assert r.status_code == 422
    r = await alice.post("/api/v2/media", data={"description": "no file"})
    assert r.status_code == 422 and "File" in r.json()["error"]
    assert await media_rows(server) == 0 and await stored_files(server) == []


async def test_only_the_uploader_sees_updates_and_deletes_unattached_media(server):
    alice, bob = await server.user("alice"), await server.user("bob")
    m = (await upload(alice, png(), "a.png", "image/png")).json()
    assert (await bob.get(f"/api/v1/media/{m['id']}")).status_code == 404
    assert (await bob.put(f"/api/v1/media/{m['id']}", data={"description": "mine now"})).status_code == 404
    assert (await bob.delete(f"/api/v1/media/{m['id']}")).status_code == 404
    assert (await server.http.get(f"/api/v1/media/{m['id']}")).status_code == 401
    r = await alice.put(f"/api/v1/media/{m['id']}", data={"description": "A green square", "focus": "-1,1"})
    assert r.status_code == 200 and r.json()["description"] == "A green square" and r.json()["meta"]["focus"] == {"x": -1.0, "y": 1.0}
    r = await alice.put(f"/api/v1/media/{m['id']}", files={"thumbnail": ("t.png", png(32, 32, "RGB"), "image/png")})
    assert r.status_code == 200 and r.json()["preview_url"] != m["preview_url"]
    assert (await fetch(server, r.json()["preview_url"])).status_code == 200
    got = await alice.get(f"/api/v1/media/{m['id']}")
    assert got.status_code == 200 and got.json()["description"] == "A green square"
    assert len(await stored_files(server)) == 3
    assert (await alice.delete(f"/api/v1/media/{m['id']}")).status_code == 200
    await server.settle()
    assert (await alice.get(f"/api/v1/media/{m['id']}")).status_code == 404
    assert await stored_files(server) == [] and await media_rows(server) == 0


async def test_v1_upload_answers_when_done(server):
    alice = await server.user("alice")
    r = await upload(alice, png(), "a.png", "image/png", version=1)
    assert r.status_code == 200 and r.json()["url"]


async def test_animated_gif_becomes_gifv_through_the_job(server):
    alice = await server.user("alice")
    r = await upload(alice, animated_gif(), "cat.gif", "image/gif")
    assert r.status_code == 202 and r.json()["url"] is None and r.json()["type"] == "gifv"
    await server.settle()
    done = await alice.get(f"/api/v1/media/{r.json()['id']}")
    assert done.status_code == 200, done.text
    m = done.json()
    assert m["type"] == "gifv" and m["url"].endswith(".mp4")
    assert m["meta"]["original"]["width"] % 2 == 0 and m["meta"]["original"]["height"] % 2 == 0
    assert (await fetch(server, m["url"])).headers["content-type"] == "video/mp4"
    assert not any(k.endswith("upload.bin") for k in await stored_files(server))  # the raw upload is gone


async def test_unattached_media_older_than_a_day_is_removed(server):
    alice = await server.user("alice")
    old = (await upload(alice, png(), "a.png", "image/png")).json()
    fresh = (await upload(alice, png(), "b.png", "image/png")).json()
    async with server.ctx.db.write() as conn:
        await conn.execute(update(media_attachments).where(media_attachments.c.id == int(old["id"]))
                           .values(created_at=now() - timedelta(hours=25)))
        await server.ctx.jobs.handlers["remove_unattached_media"](server.ctx, conn, {})
    await server.settle()
    assert (await alice.get(f"/api/v1/media/{old['id']}")).status_code == 404
    assert (await alice.get(f"/api/v1/media/{fresh['id']}")).status_code == 200
    assert len(await stored_files(server)) == 2
    async with server.ctx.db.read() as conn:
        assert (await conn.execute(select(func.count()).select_from(jobs))).scalar_one() == 0


async def test_instance_tells_the_real_limits(server):
    for path in ("/api/v1/instance", "/api/v2/instance"):
        config = (await server.http.get(path)).json()["configuration"]
        assert config["statuses"]["max_media_attachments"] == 4
        limits = config["media_attachments"]
        assert limits["image_size_limit"] == 16 * 1024 * 1024 and limits["image_matrix_limit"] == 33_177_600
        assert limits["video_size_limit"] == 99 * 1024 * 1024 and limits["video_frame_rate_limit"] == 120
        assert limits["video_matrix_limit"] == 8_294_400 and limits["description_limit"] == 1500
        assert {"image/jpeg", "image/png", "image/gif", "image/webp", "video/mp4", "audio/mpeg"} <= set(limits["supported_mime_types"])
