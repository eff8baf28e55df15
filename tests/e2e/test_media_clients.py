"""Media with real clients (Mastodon.py, toot) against a real `townsquare serve`, decoded for real afterwards."""

from __future__ import annotations

import io
import json
import subprocess

import blurhash
import httpx
import pytest
from mastodon.errors import MastodonAPIError
from PIL import Image

from tests.e2e.test_mastodon_py import _logged_in
from tests.e2e.test_toot_cli import Toot
from tests.e2e.conftest import PASSWORD
from tests.media_fixtures import animated_gif, jpeg_with_gps, png_bomb, video


@pytest.fixture(scope="module")
def media_files(tmp_path_factory):
    """Fixture files made here: a phone JPEG with GPS, a tiny H.264 video, a GIF, a bomb and a fake PNG."""
    folder = tmp_path_factory.mktemp("media")
    files = {
        "photo": (folder / "photo.jpg", jpeg_with_gps(800, 600, orientation=6)),
        "clip": (folder / "clip.webm", video(seconds=1.0)),
        "gif": (folder / "cat.gif", animated_gif()),
        "bomb": (folder / "bomb.png", png_bomb(40_000)),
        "script": (folder / "script.png", b"#!/bin/sh\necho pwned\n" * 20),
    }
    for path, data in files.values():
        path.write_bytes(data)
    return {name: path for name, (path, _) in files.items()}


def _get(url: str) -> bytes:
    response = httpx.get(url, timeout=30)
    assert response.status_code == 200, (url, response.status_code)
    return response.content


def test_mastodon_py_uploads_picture_and_video_and_posts_them(live_server, media_files):
    api, account_id, _ = _logged_in(live_server, "mediapy")
    photo = api.media_post(str(media_files["photo"]), description="Red and blue, rotated", focus=(0.2, -0.4))
    assert photo["type"] == "image" and photo["url"] and photo["meta"]["original"]["width"] == 600
    stored = Image.open(io.BytesIO(_get(photo["url"])))
    assert stored.format == "JPEG" and stored.size == (600, 800)
    assert dict(stored.getexif()) == {} and dict(stored.getexif().get_ifd(0x8825)) == {}  # no GPS survived
    decoded = blurhash.decode(photo["blurhash"], 4, 4)
    assert len(decoded) == 4 and all(len(row) == 4 for row in decoded)

    clip = api.media_post(str(media_files["clip"]), mime_type="video/webm", synchronous=True)
    assert clip["type"] == "video" and clip["url"].endswith(".mp4")
    gif = api.media_post(str(media_files["gif"]), synchronous=True)
    assert gif["type"] == "gifv"
    for item in (clip, gif):
        probe = subprocess.run(["ffprobe", "-v", "error", "-show_streams", "-of", "json", "-"],
                               input=_get(item["url"]), capture_output=True, check=True)
        streams = json.loads(probe.stdout)["streams"]
        assert [s["codec_name"] for s in streams if s["codec_type"] == "video"] == ["h264"]
        # "plays": ffmpeg decodes every frame without an error
        decode = subprocess.run(["ffmpeg", "-v", "error", "-i", "pipe:0", "-f", "null", "-"],
                                input=_get(item["url"]), capture_output=True)
        assert decode.returncode == 0 and not decode.stderr.strip(), decode.stderr

    status = api.status_post("holiday pictures", media_ids=[photo], sensitive=True, spoiler_text="sunburn")
    assert status["media_attachments"][0]["id"] == photo["id"] and status["sensitive"] is True
    assert api.status(status["id"])["media_attachments"][0]["description"] == "Red and blue, rotated"
    only = api.account_statuses(account_id, only_media=True)
    assert [s["id"] for s in only] == [status["id"]]
    video_post = api.status_post("", media_ids=[clip["id"]])
    assert video_post["media_attachments"][0]["type"] == "video"


def test_bad_uploads_through_mastodon_py(live_server, media_files):
    api, _, _ = _logged_in(live_server, "mediabad")
    other, _, _ = _logged_in(live_server, "mediaother")
    for name in ("bomb", "script"):
        with pytest.raises(MastodonAPIError) as err:
            api.media_post(str(media_files[name]), mime_type="image/png")
        assert err.value.args[1] == 422, name
    mine = [api.media_post(str(media_files["photo"])) for _ in range(5)]
    with pytest.raises(MastodonAPIError) as err:
        api.status_post("five", media_ids=mine)
    assert err.value.args[1] == 422
    theirs = other.media_post(str(media_files["photo"]))
    with pytest.raises(MastodonAPIError) as err:
        api.status_post("not mine", media_ids=[theirs])
    assert err.value.args[1] == 422
    assert api.account_statuses(api.me()["id"]) == []


def test_toot_posts_with_media(live_server, tmp_path, media_files):
    account = live_server.create_account("tootmedia")
    toot = Toot(tmp_path)
    toot("login_cli", "-i", live_server.url, "-e", account[2], "-p", PASSWORD)
    result = toot("post", "from toot with a picture", "--media", str(media_files["photo"]),
                  "--description", "a two-colour card", "--json")
    status = json.loads(result.stdout)
    media = status["media_attachments"]
    assert len(media) == 1 and media[0]["description"] == "a two-colour card" and media[0]["type"] == "image"
    assert Image.open(io.BytesIO(_get(media[0]["url"]))).size == (600, 800)
    bad = toot("post", "bomb", "--media", str(media_files["bomb"]), ok=False)
    assert bad.returncode != 0 and "too large" in (bad.stdout + bad.stderr).lower()
