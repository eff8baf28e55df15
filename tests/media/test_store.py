"""The same MediaStore tests against both backends: files on disk, and a real S3 server (moto) on loopback."""

from __future__ import annotations

import httpx
import pytest

from townsquare.media.s3 import S3MediaStore
from townsquare.media.store import DiskMediaStore, new_prefix
from tests.s3_server import ACCESS_KEY, SECRET_KEY


@pytest.fixture(params=["disk", "s3"])
def store(request, tmp_path):
    """A fresh store of each backend."""
    if request.param == "disk":
        return DiskMediaStore(tmp_path / "media")
    s3 = request.getfixturevalue("s3_server")
    bucket = s3.new_bucket()
    return S3MediaStore(s3.endpoint, bucket, ACCESS_KEY, SECRET_KEY, f"{s3.endpoint}/{bucket}")


async def test_put_get_delete_round_trip(store, tmp_path):
    key = f"{new_prefix()}/original.jpg"
    assert not await store.exists(key)
    await store.put(key, b"\xff\xd8\xffhello")
    assert await store.exists(key) and await store.get(key) == b"\xff\xd8\xffhello"
    source = tmp_path / "big.bin"
    source.write_bytes(bytes(range(256)) * 20_000)  # 5 MB: several chunks
    await store.put_file(f"{key}.mp4", source)
    target = tmp_path / "copy.bin"
    await store.fetch_to(f"{key}.mp4", target)
    assert target.read_bytes() == source.read_bytes()
    await store.delete([key, f"{key}.mp4", "never/was/there.png"])
    assert not await store.exists(key) and not await store.exists(f"{key}.mp4")
    with pytest.raises(FileNotFoundError):
        await store.get(key)
    with pytest.raises(FileNotFoundError):
        await store.fetch_to(key, target)


async def test_keys_cannot_escape_and_prefixes_are_random(store):
    prefixes = {new_prefix() for _ in range(200)}
    assert len(prefixes) == 200 and all(len(p.split("/")[-1]) == 32 for p in prefixes)
    if isinstance(store, DiskMediaStore):
        for bad in ("../secret_key", "/etc/passwd", "a/../../b"):
            with pytest.raises(FileNotFoundError):
                await store.put(bad, b"x")


async def test_s3_objects_are_public_with_type_and_cache_headers(s3_server):
    """(Files of the disk store are served by the app: tests/api/test_media.py checks their headers.)"""
    bucket = s3_server.new_bucket()
    store = S3MediaStore(s3_server.endpoint, bucket, ACCESS_KEY, SECRET_KEY, f"{s3_server.endpoint}/{bucket}")
    key = f"{new_prefix()}/small.png"
    await store.put(key, b"\x89PNG\r\n\x1a\n")
    async with httpx.AsyncClient() as client:
        r = await client.get(f"{store.url_base}/{key}")
    assert r.status_code == 200 and r.content == b"\x89PNG\r\n\x1a\n"
    assert r.headers["content-type"] == "image/png" and "immutable" in r.headers["cache-control"]
