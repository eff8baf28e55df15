"""Who is speaking now (audible audio per speaker) and mute on the compressed path."""

import io

import av
import numpy as np

from townsquare.spaces.audio.ingest import SpeakerInput
from townsquare.spaces.audio.mixer import Mixer


def _ogg_opus(seconds: float, hz: float = 440.0) -> bytes:
    buf = io.BytesIO()
    with av.open(buf, "w", format="ogg") as out:
        stream = out.add_stream("libopus", rate=48000, layout="mono")
        t = np.arange(int(seconds * 48000)) / 48000
        samples = (0.5 * np.sin(2 * np.pi * hz * t)).astype(np.float32)
        for start in range(0, len(samples), 960):
            frame = av.AudioFrame.from_ndarray(samples[start:start + 960].reshape(1, -1), format="flt", layout="mono")
            frame.sample_rate = 48000
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return buf.getvalue()


def test_only_speakers_sending_audible_audio_count_as_speaking():
    mixer = Mixer()
    loud, quiet = mixer.add_source("loud"), mixer.add_source("quiet")
    loud.push(np.full(960, 0.3, dtype=np.float32))
    quiet.push(np.full(960, 0.001, dtype=np.float32))  # line noise, not speech
    assert mixer.voiced() == ["loud"]
    assert mixer.voiced(within=-1) == []  # nothing counts as "just now" once the window is past


def test_a_muted_speaker_is_not_mixed_but_its_compressed_stream_stays_decodable():
    data = _ogg_opus(1.0)
    mixer = Mixer()
    muted_in = SpeakerInput(mixer.add_source("a"))
    muted_in.muted = True
    for start in range(0, len(data), 1000):
        muted_in.feed(data[start:start + 1000])
    muted_in.close()
    assert mixer._sources["a"].pull(960) is None  # decoded, never mixed
    live_in = SpeakerInput(mixer.add_source("b"))
    half = len(data) // 2
    live_in.muted = True
    live_in.feed(data[:half])
    live_in.muted = False  # unmuted mid-stream: the rest still decodes (no bytes were dropped)
    live_in.feed(data[half:])
    live_in.close()
    heard = mixer._sources["b"].pull(48000)
    assert heard is not None and np.abs(heard).max() > 0.2
    pcm = SpeakerInput(mixer.add_source("c"))
    pcm.muted = True
    pcm.feed((np.full(960, 8000, dtype="<i2")).tobytes())
    assert mixer._sources["c"].pull(960) is None
