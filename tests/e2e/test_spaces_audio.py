"""Spaces audio end to end: two speakers stream through the CLI, ffmpeg listens over HLS, the recording replays."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import httpx
import numpy as np
import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from tests.e2e.conftest import _townsquare_cmd, wait_for

TONE_HZ = 3000
SR = 48000


def _token(live_server, username: str) -> str:
    out = subprocess.run([*_townsquare_cmd(), "accounts", "token", username, "--data-dir", str(live_server.data_dir)],
                         env=live_server.env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def _person(live_server) -> tuple[str, httpx.Client, str]:
    account_id, username, _ = live_server.create_account("sp")
    token = _token(live_server, username)
    return account_id, httpx.Client(base_url=live_server.url, headers={"Authorization": f"Bearer {token}"}, timeout=10), token


def _decode(source: str | Path, out: Path) -> np.ndarray:
    """Decode any audio ffmpeg reads (a file or an HLS playlist URL) to 48 kHz mono float samples."""
    done = subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(source), "-ac", "1", "-ar", str(SR), "-f", "s16le", str(out)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return np.frombuffer(out.read_bytes(), dtype="<i2").astype(np.float32) / 32768.0


def _band_rms(x: np.ndarray, low: float, high: float) -> float:
    spectrum = np.fft.rfft(x * np.hanning(len(x)))
    freqs = np.fft.rfftfreq(len(x), 1 / SR)
    band = np.abs(spectrum[(freqs >= low) & (freqs < high)]) ** 2
    return float(np.sqrt(band.sum() * 2) / np.sqrt(len(x) * (np.hanning(len(x)) ** 2).sum()))


def _tone_prominence(x: np.ndarray) -> float:
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    freqs = np.fft.rfftfreq(len(x), 1 / SR)
    peak = spectrum[np.abs(freqs - TONE_HZ) < 5].max()
    around = spectrum[(np.abs(freqs - TONE_HZ) > 100) & (np.abs(freqs - TONE_HZ) < 400)]
    return float(peak / np.median(around))


def _segments(playlist: str) -> float:
    return sum(float(line.split(":")[1].rstrip(",")) for line in playlist.splitlines() if line.startswith("#EXTINF:"))


@pytest.fixture(scope="module")
def sounds(tmp_path_factory) -> tuple[Path, Path]:
    """A spoken sentence (espeak-ng) and a 3 kHz tone (sox), as WAV files."""
    folder = tmp_path_factory.mktemp("sounds")
    speech, tone = folder / "speech.wav", folder / "tone.wav"
    subprocess.run(["espeak-ng", "-w", str(speech), "Welcome to the town square. Two speakers are live in this room."],
                   check=True, capture_output=True, timeout=30)
    subprocess.run(["sox", "-n", "-r", "44100", "-c", "1", str(tone), "synth", "5", "sine", str(TONE_HZ), "vol", "0.25"],
                   check=True, capture_output=True, timeout=30)
    return speech, tone


def test_two_speakers_are_heard_live_and_in_the_replay(live_server, sounds, tmp_path):
    """The host speaks raw PCM, the guest Ogg/Opus as a browser would; a listener hears both."""
    speech, tone = sounds
    host_id, host, host_token = _person(live_server)
    guest_id, guest, guest_token = _person(live_server)
    listener_id, listener, listener_token = _person(live_server)

    space = host.post("/api/v1/spaces", json={"title": "Audio e2e", "record": True}).json()
    sid = space["id"]
    assert host.post(f"/api/v1/spaces/{sid}/speakers", json={"account_id": guest_id}).status_code == 200
    started = time.monotonic()
    live = host.post(f"/api/v1/spaces/{sid}/start").json()
    hls_url = live["hls_url"]
    assert hls_url.endswith(f"/spaces/{sid}/live.m3u8")

    # A listener may not send audio: the WebSocket is refused before it opens.
    ws_url = live_server.url.replace("http://", "ws://") + f"/api/v1/spaces/{sid}/audio"
    with pytest.raises(InvalidStatus) as refused:
        connect(ws_url, additional_headers={"Authorization": f"Bearer {listener_token}"}, open_timeout=5)
    assert refused.value.response.status_code == 403

    # ffmpeg joins as an ordinary HLS client once the first segment is out, from the start of the window.
    assert wait_for(lambda: "#EXTINF" in httpx.get(hls_url).text, timeout=6)
    heard = tmp_path / "heard.ts"
    ffmpeg = subprocess.Popen(["ffmpeg", "-v", "error", "-y", "-live_start_index", "0", "-i", hls_url, "-c", "copy", str(heard)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    speak = [*_townsquare_cmd(), "spaces", "speak", str(sid)]
    speakers = [
        subprocess.Popen([*speak, str(speech), "--server", live_server.url, "--token", host_token],
                         env=live_server.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True),
        subprocess.Popen([*speak, str(tone), "--opus", "--server", live_server.url, "--token", guest_token],
                         env=live_server.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True),
    ]
    for process in speakers:
        out, err = process.communicate(timeout=30)
        assert process.returncode == 0, err
        assert "streamed" in out
    time.sleep(1.0)
    ended = host.post(f"/api/v1/spaces/{sid}/end").json()
    wall = time.monotonic() - started
    assert ended["state"] == "ended"
    _, err = ffmpeg.communicate(timeout=20)  # the live playlist's ENDLIST ends the listener
    assert ffmpeg.returncode == 0, err

    recording = httpx.get(ended["recording_url"])
    assert recording.status_code == 200 and "#EXT-X-ENDLIST" in recording.text
    total = _segments(recording.text)
    assert abs(total - wall) < 2.1

    # What the live listener recorded decodes, lasts as long as the room (within a segment) and has both speakers.
    samples = _decode(heard, tmp_path / "heard.pcm")
    assert abs(len(samples) / SR - total) < 2.1
    assert float(np.sqrt(np.mean(samples ** 2))) > 0.01
    assert _tone_prominence(samples) > 30  # the guest's tone
    assert _band_rms(samples, 100, 2000) > 0.03  # the host's voice (the tone has nothing below 2 kHz)

    # After the end, the recording replays from its playlist.
    replay = _decode(ended["recording_url"], tmp_path / "replay.pcm")
    assert abs(len(replay) / SR - total) < 0.2
    assert _tone_prominence(replay) > 30 and _band_rms(replay, 100, 2000) > 0.03


def test_speaker_socket_refuses_strangers_and_ended_rooms(live_server):
    host_id, host, host_token = _person(live_server)
    sid = host.post("/api/v1/spaces", json={"title": "Refusals"}).json()["id"]
    ws_url = live_server.url.replace("http://", "ws://") + f"/api/v1/spaces/{sid}/audio"
    # Not live yet: even the host cannot send audio.
    with pytest.raises(InvalidStatus):
        connect(ws_url, additional_headers={"Authorization": f"Bearer {host_token}"}, open_timeout=5)
    host.post(f"/api/v1/spaces/{sid}/start")
    with pytest.raises(InvalidStatus):
        connect(ws_url, open_timeout=5)  # no token
    with connect(ws_url + f"?access_token={host_token}", open_timeout=5) as ws:  # the host, via the query token
        ws.send(b"\x00\x00" * 4800)
    host.post(f"/api/v1/spaces/{sid}/end")
    with pytest.raises(InvalidStatus):
        connect(ws_url, additional_headers={"Authorization": f"Bearer {host_token}"}, open_timeout=5)
    assert host.get(f"/api/v1/spaces/{sid}").json()["recording_url"] is None
