"""Spaces audio units: mixer and limiter, AAC/HLS packager (playlists, durations, dates, discontinuities), ingest."""

from __future__ import annotations

import subprocess
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest

from townsquare.spaces.audio import FRAME_SAMPLES, SAMPLE_RATE
from townsquare.spaces.audio.ingest import SpeakerInput, detect_format
from townsquare.spaces.audio.mixer import Limiter, Mixer, SpeakerBuffer
from townsquare.spaces.audio.packager import FRAMES_PER_SEGMENT, LIVE_WINDOW, AacEncoder, HlsPackager
from townsquare.spaces.audio.store import DirectorySegmentStore, MemorySegmentStore


def _sine(freq: float, seconds: float, amplitude: float, start: int = 0) -> np.ndarray:
    t = (np.arange(int(seconds * SAMPLE_RATE)) + start) / SAMPLE_RATE
    return (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def test_mixer_sums_speakers_and_limiter_keeps_two_loud_ones_under_the_ceiling():
    mixer = Mixer()
    a, b = mixer.add_source("a"), mixer.add_source("b")
    a.push(_sine(440, 0.5, 0.9))
    b.push(_sine(440, 0.5, 0.9))
    out = np.concatenate([mixer.mix(FRAME_SAMPLES) for _ in range(20)])
    assert np.abs(out).max() <= mixer.limiter.ceiling + 1e-6
    assert np.abs(out).max() > 0.8  # limited, not silenced
    quiet = Mixer()
    c, d = quiet.add_source("c"), quiet.add_source("d")
    c.push(_sine(300, 0.2, 0.1))
    d.push(_sine(700, 0.2, 0.1))
    mixed = quiet.mix(FRAME_SAMPLES)
    expected = _sine(300, 0.2, 0.1)[:FRAME_SAMPLES] + _sine(700, 0.2, 0.1)[:FRAME_SAMPLES]
    assert np.allclose(mixed, expected, atol=1e-6)  # below the ceiling the mix is a plain sum


def test_mixer_gives_silence_without_speakers_and_after_one_leaves():
    mixer = Mixer()
    assert not mixer.mix(FRAME_SAMPLES).any()
    source = mixer.add_source(1)
    source.push(_sine(440, 0.2, 0.5))
    assert mixer.mix(FRAME_SAMPLES).any()
    mixer.remove_source(1)
    assert mixer.source_count == 0 and not mixer.mix(FRAME_SAMPLES).any()


def test_limiter_gain_recovers_after_a_peak():
    limiter = Limiter()
    loud = limiter.process(np.full(FRAME_SAMPLES, 2.0, dtype=np.float32))
    assert np.abs(loud).max() <= limiter.ceiling + 1e-6
    for _ in range(30):  # ~0.6 s of quiet audio
        quiet = limiter.process(np.full(FRAME_SAMPLES, 0.1, dtype=np.float32))
    assert quiet[-1] == pytest.approx(0.1, rel=0.02)


def test_speaker_buffer_waits_for_prebuffer_and_bounds_latency():
    buffer = SpeakerBuffer(max_seconds=0.5, prebuffer_seconds=0.1)
    buffer.push(np.ones(1000, dtype=np.float32))
    assert buffer.pull(FRAME_SAMPLES) is None  # 21 ms is not enough to start
    buffer.push(np.ones(SAMPLE_RATE, dtype=np.float32))  # a second at once: only the newest half second is kept
    assert buffer.dropped == 1000 + SAMPLE_RATE - SAMPLE_RATE // 2
    taken = sum(buffer.pull(FRAME_SAMPLES).size for _ in range(23))
    assert taken == 23 * FRAME_SAMPLES


def _package(store, space_id=1, record=True, frames=FRAMES_PER_SEGMENT * 3 + 10, ended=True, started=None):
    encoder, packager, mixer = AacEncoder(), HlsPackager(store, space_id, record, started), Mixer()
    source = mixer.add_source("s")
    for i in range(frames):
        source.push(_sine(1000, FRAME_SAMPLES / SAMPLE_RATE, 0.3, i * FRAME_SAMPLES))
        packager.add(encoder.encode(mixer.mix(FRAME_SAMPLES)), encoder.extradata)
    packager.add(encoder.encode(None), encoder.extradata)
    packager.finish(encoder.extradata, ended=ended)
    return packager


def _tags(playlist: str, tag: str) -> list[str]:
    return [line.split(":", 1)[1] for line in playlist.splitlines() if line.startswith(tag + ":")]


def test_packager_writes_two_second_segments_with_program_date_time():
    store = MemorySegmentStore()
    started = datetime(2026, 11, 23, 12, 0, 0, tzinfo=timezone.utc)
    _package(store, started=started)
    playlist = store.get(1, "recording.m3u8").decode()
    lines = playlist.splitlines()
    assert lines[:3] == ["#EXTM3U", "#EXT-X-VERSION:3", "#EXT-X-TARGETDURATION:2"]
    assert "#EXT-X-PLAYLIST-TYPE:VOD" in lines and lines[-1] == "#EXT-X-ENDLIST"
    durations = [float(d.rstrip(",")) for d in _tags(playlist, "#EXTINF")]
    assert durations[:3] == [pytest.approx(2.00533, abs=1e-4)] * 3 and 0 < durations[3] < 1
    assert all(round(d) <= 2 for d in durations)
    dates = [datetime.fromisoformat(d.replace("Z", "+00:00")) for d in _tags(playlist, "#EXT-X-PROGRAM-DATE-TIME")]
    assert len(dates) == len(durations) and dates[0] == started
    for before, after, length in zip(dates, dates[1:], durations):
        assert (after - before).total_seconds() == pytest.approx(length, abs=0.002)
    names = [line for line in lines if line.endswith(".ts")]
    assert names == ["seg0.ts", "seg1.ts", "seg2.ts", "seg3.ts"]
    assert all(store.get(1, name)[:1] == b"\x47" for name in names)  # MPEG-TS sync byte


def test_live_playlist_rolls_and_unrecorded_rooms_drop_old_segments():
    store = MemorySegmentStore()
    packager = _package(store, record=False, frames=FRAMES_PER_SEGMENT * 12, ended=False)
    live = store.get(1, "live.m3u8").decode()
    assert len(_tags(live, "#EXTINF")) == LIVE_WINDOW
    assert _tags(live, "#EXT-X-MEDIA-SEQUENCE") == [str(packager.next_seq - LIVE_WINDOW)]
    assert "#EXT-X-ENDLIST" not in live and store.get(1, "recording.m3u8") is None
    assert store.get(1, "seg0.ts") is None and store.get(1, f"seg{packager.next_seq - 1}.ts") is not None


def test_restart_continues_numbering_with_a_discontinuity(tmp_path):
    store = DirectorySegmentStore(tmp_path)
    first = _package(store, frames=FRAMES_PER_SEGMENT * 2, ended=False)
    assert "#EXT-X-DISCONTINUITY" not in store.get(1, "recording.m3u8").decode()
    second = _package(store, frames=FRAMES_PER_SEGMENT * 2, ended=True)
    assert second.next_seq > first.next_seq
    playlist = store.get(1, "recording.m3u8").decode().splitlines()
    index = playlist.index("#EXT-X-DISCONTINUITY")
    assert playlist[index + 3] == f"seg{first.next_seq}.ts"  # the first segment after the restart
    assert playlist.count("#EXT-X-DISCONTINUITY") == 1 and playlist[-1] == "#EXT-X-ENDLIST"
    assert (tmp_path / "1" / f"seg{first.next_seq}.ts").exists()


def test_discontinuity_sequence_counts_tags_that_left_the_live_window():
    store = MemorySegmentStore()
    _package(store, record=False, frames=FRAMES_PER_SEGMENT * 2, ended=False)
    _package(store, record=False, frames=FRAMES_PER_SEGMENT * 8, ended=False)
    live = store.get(1, "live.m3u8").decode()
    assert "#EXT-X-DISCONTINUITY" not in live.splitlines()
    assert _tags(live, "#EXT-X-DISCONTINUITY-SEQUENCE") == ["1"]


def test_recording_decodes_with_ffmpeg_at_the_right_length(tmp_path):
    store = DirectorySegmentStore(tmp_path)
    _package(store, frames=FRAMES_PER_SEGMENT * 2)
    out = subprocess.run(["ffmpeg", "-v", "error", "-i", str(tmp_path / "1" / "recording.m3u8"), "-f", "s16le", "-ac", "1",
                          "-ar", str(SAMPLE_RATE), "-"], capture_output=True, timeout=60)
    assert out.returncode == 0, out.stderr
    samples = np.frombuffer(out.stdout, dtype="<i2").astype(np.float32) / 32768
    assert len(samples) / SAMPLE_RATE == pytest.approx(FRAMES_PER_SEGMENT * 2 * FRAME_SAMPLES / SAMPLE_RATE, abs=0.05)
    spectrum = np.abs(np.fft.rfft(samples))
    assert abs(np.argmax(spectrum) * SAMPLE_RATE / len(samples) - 1000) < 5


def test_format_detection():
    assert detect_format(b"OggS\x00\x02") == "ogg"
    assert detect_format(b"\x1a\x45\xdf\xa3\x9f") == "webm"
    assert detect_format(b"\x01\x00\x02\x00") == "s16le"
    assert detect_format(b"OggS", "pcm") == "s16le"
    with pytest.raises(ValueError):
        detect_format(b"", "mp3")


def test_pcm_ingest_converts_and_keeps_odd_bytes():
    buffer = SpeakerBuffer(max_seconds=5, prebuffer_seconds=0)
    source = SpeakerInput(buffer, "s16le")
    pcm = (np.array([16384, -16384, 32767], dtype="<i2")).tobytes()
    source.feed(pcm[:3])
    source.feed(pcm[3:])
    assert np.allclose(buffer.pull(3), [0.5, -0.5, 32767 / 32768])


@pytest.mark.parametrize("suffix", ["ogg", "webm"])
def test_opus_ingest_decodes_streamed_chunks(tmp_path, suffix):
    path = tmp_path / f"tone.{suffix}"
    subprocess.run(["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "sine=frequency=600:duration=1", "-ac", "1", "-ar", "48000",
                    "-c:a", "libopus", str(path)], check=True, timeout=60)
    buffer = SpeakerBuffer(max_seconds=5, prebuffer_seconds=0)
    source = SpeakerInput(buffer)
    data = path.read_bytes()
    for i in range(0, len(data), 700):  # as MediaRecorder or a socket would deliver it
        source.feed(data[i:i + 700])
    source.close()
    assert source.format == suffix
    samples = buffer.pull(SAMPLE_RATE * 2)
    assert np.count_nonzero(samples) == pytest.approx(SAMPLE_RATE, abs=1200)
    spectrum = np.abs(np.fft.rfft(samples[:SAMPLE_RATE]))
    assert abs(np.argmax(spectrum) - 600) < 3


def test_garbage_claiming_to_be_ogg_is_ignored_without_blocking():
    buffer = SpeakerBuffer(max_seconds=5, prebuffer_seconds=0)
    source = SpeakerInput(buffer)
    for _ in range(400):  # more messages than the decoder queue holds
        source.feed(b"OggS" + b"\x00" * 500)
    source.close()
    assert source.format == "ogg" and buffer.pull(FRAME_SAMPLES) is None
