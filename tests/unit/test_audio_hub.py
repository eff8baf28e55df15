"""AudioHub and the HLS routes: real-time rooms, playlist names, cache headers and content types."""

from __future__ import annotations

import asyncio

from townsquare.config import Settings
from townsquare.spaces.audio.hub import AudioHub
from townsquare.spaces.audio.store import DirectorySegmentStore, MemorySegmentStore


async def test_a_room_produces_silence_in_real_time_and_its_end_closes_the_playlists(tmp_path):
    hub = AudioHub(Settings(data_dir=tmp_path))
    assert isinstance(hub.store, DirectorySegmentStore)
    await hub.start_room(5, record=True)
    await hub.start_room(5, record=True)  # idempotent
    assert hub.is_running(5) and hub.recording_url(5) == "/spaces/5/recording.m3u8"
    await asyncio.sleep(2.3)
    live = (tmp_path / "spaces" / "5" / "live.m3u8").read_text()
    assert live.count("#EXTINF") == 1 and "#EXT-X-ENDLIST" not in live  # one segment after ~2 s: real time
    await hub.end_room(5)
    assert not hub.is_running(5)
    assert "#EXT-X-ENDLIST" in (tmp_path / "spaces" / "5" / "live.m3u8").read_text()
    assert "#EXT-X-PLAYLIST-TYPE:VOD" in (tmp_path / "spaces" / "5" / "recording.m3u8").read_text()
    assert hub.live_playlist_url(5) == "/spaces/5/live.m3u8"
    await hub.close()


async def test_unrecorded_rooms_have_no_recording_and_close_stops_pipelines(tmp_path):
    hub = AudioHub(Settings(data_dir=tmp_path, spaces_store="memory"))
    assert isinstance(hub.store, MemorySegmentStore)
    await hub.start_room(6, record=False)
    assert hub.recording_url(6) is None and hub.open_speaker(6) is not None
    await hub.close()
    assert not hub.is_running(6) and hub.open_speaker(6) is None
    await hub.end_room(6)  # after a restart: closes the playlists without a pipeline
    assert b"#EXT-X-ENDLIST" in hub.store.get(6, "live.m3u8")


async def test_hls_routes_cache_headers_and_content_types(server):
    store = server.ctx.audio.store
    store.put(9, "live.m3u8", b"#EXTM3U\n")
    store.put(9, "seg3.ts", b"\x47" * 188)
    live = await server.http.get("/spaces/9/live.m3u8")
    assert live.status_code == 200 and live.content == b"#EXTM3U\n"
    assert live.headers["content-type"].startswith("application/vnd.apple.mpegurl")
    assert live.headers["cache-control"] == "public, max-age=1"
    segment = await server.http.get("/spaces/9/seg3.ts")
    assert segment.status_code == 200 and segment.headers["content-type"] == "video/mp2t"
    assert segment.headers["cache-control"] == "public, max-age=31536000, immutable"
    for path in ("/spaces/9/seg4.ts", "/spaces/9/index.json", "/spaces/9/..%2Fsecret_key", "/spaces/x/live.m3u8"):
        missing = await server.http.get(path)
        assert missing.status_code == 404 and "error" in missing.json()


async def test_a_live_room_resumes_after_a_restart_with_a_discontinuity(server):
    host = await server.user("host")
    sid = (await host.post("/api/v1/spaces", json={"title": "Restart", "record": True})).json()["id"]
    assert (await host.post(f"/api/v1/spaces/{sid}/start")).status_code == 200
    hub = server.ctx.audio
    await asyncio.sleep(2.2)
    await hub.close()  # the server stops while the room is live
    assert not hub.is_running(int(sid))
    first = await server.http.get(f"/spaces/{sid}/live.m3u8")  # a listener asks: the room resumes
    assert first.status_code == 200 and hub.is_running(int(sid))
    await asyncio.sleep(2.2)
    await host.post(f"/api/v1/spaces/{sid}/end")
    recording = (await server.http.get(f"/spaces/{sid}/recording.m3u8")).text
    assert recording.count("#EXT-X-DISCONTINUITY") == 1 and recording.rstrip().endswith("#EXT-X-ENDLIST")
    ended = await server.http.get(f"/spaces/{sid}/live.m3u8")
    assert "#EXT-X-ENDLIST" in ended.text and not hub.is_running(int(sid))
