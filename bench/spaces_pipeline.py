"""Rooms per core: run a Space's audio pipeline (3 speakers) as fast as it goes and report the real-time factor.

Each room decodes three Ogg/Opus speaker streams with PyAV (as browsers send them), resamples to 48 kHz mono,
mixes them with numpy and the limiter, encodes AAC-LC at 40 kbps and packages 2 s MPEG-TS HLS segments
into a memory store: the same code the live rooms run, minus the clock. With `--pcm` speakers send raw
PCM instead (no decode). `--live N` instead runs N real rooms on the clock (their own threads, 3 PCM
speakers each fed in real time) and reports the CPU they used and whether every room kept up.
Usage: .venv/bin/python bench/spaces_pipeline.py [--seconds 60] [--pcm] [--live N]
"""

from __future__ import annotations

import argparse
import io
import threading
import time
from fractions import Fraction

import av
import numpy as np

from townsquare.spaces.audio import FRAME_SAMPLES, SAMPLE_RATE
from townsquare.spaces.audio.mixer import Mixer
from townsquare.spaces.audio.packager import FRAMES_PER_SEGMENT, AacEncoder, HlsPackager
from townsquare.spaces.audio.pipeline import RoomPipeline
from townsquare.spaces.audio.store import MemorySegmentStore

SPEAKERS = 3


def speech_like(seconds: float, seed: int) -> np.ndarray:
    """A voiced, syllable-modulated test signal (harmonics of a wandering pitch), float32 mono 48 kHz."""
    rng = np.random.default_rng(seed)
    n = int(seconds * SAMPLE_RATE)
    t = np.arange(n) / SAMPLE_RATE
    pitch = 110 + 40 * seed + 20 * np.sin(2 * np.pi * 0.5 * t)
    phase = 2 * np.pi * np.cumsum(pitch) / SAMPLE_RATE
    voice = sum(np.sin(k * phase) / k for k in range(1, 12))
    envelope = np.clip(np.sin(2 * np.pi * 3 * t + seed), 0, None)
    return (0.2 * voice * envelope + 0.01 * rng.standard_normal(n)).astype(np.float32)


def opus_stream(samples: np.ndarray) -> bytes:
    """Encode samples as an Ogg/Opus stream (what a browser's MediaRecorder sends)."""
    buf = io.BytesIO()
    with av.open(buf, "w", format="ogg") as out:
        stream = out.add_stream("libopus", rate=SAMPLE_RATE)
        stream.layout = "mono"
        stream.bit_rate = 32000
        for start in range(0, len(samples), 960):
            chunk = samples[start:start + 960]
            frame = av.AudioFrame.from_ndarray(chunk.reshape(1, -1), format="flt", layout="mono")
            frame.sample_rate = SAMPLE_RATE
            frame.pts, frame.time_base = start, Fraction(1, SAMPLE_RATE)
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return buf.getvalue()


def decoded(data: bytes):
    """Yield float32 48 kHz mono chunks decoded from an Ogg/Opus stream, as the ingest decoder does."""
    with av.open(io.BytesIO(data), format="ogg") as container:
        resampler = av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)
        for frame in container.decode(audio=0):
            for out in resampler.resample(frame):
                yield out.to_ndarray().reshape(-1)


def run_room(seconds: float, pcm: bool) -> float:
    """Run one room for `seconds` of audio; return the CPU seconds it took."""
    signals = [speech_like(seconds + 1, seed) for seed in range(SPEAKERS)]
    streams = [opus_stream(s) for s in signals] if not pcm else None
    store = MemorySegmentStore()
    started = time.process_time()
    mixer, encoder = Mixer(), AacEncoder()
    packager = HlsPackager(store, 1, record=True)
    buffers = [mixer.add_source(i) for i in range(SPEAKERS)]
    sources = [decoded(s) for s in streams] if streams else None
    frames = int(seconds * SAMPLE_RATE / FRAME_SAMPLES)
    fed = [0] * SPEAKERS
    for i in range(frames):
        for k, buffer in enumerate(buffers):
            while fed[k] < (i + 4) * FRAME_SAMPLES:  # keep each speaker a few frames ahead, like a live socket
                if sources is not None:
                    chunk = next(sources[k], None)
                else:
                    chunk = signals[k][fed[k]:fed[k] + 960]
                if chunk is None or not len(chunk):
                    break
                buffer.push(chunk)
                fed[k] += len(chunk)
        packager.add(encoder.encode(mixer.mix(FRAME_SAMPLES)), encoder.extradata)
    packager.finish(encoder.extradata, ended=True)
    return time.process_time() - started


def run_live(rooms: int, seconds: float) -> None:
    """Run `rooms` clock-driven pipelines with 3 real-time PCM speakers each; print CPU use and lag."""
    store = MemorySegmentStore()
    pipelines = [RoomPipeline(store, i, record=True) for i in range(rooms)]
    signal = speech_like(1.0, 0)
    inputs = [p.open_speaker("s16le")[0] for p in pipelines for _ in range(SPEAKERS)]
    chunk = (signal[:960] * 32767).astype("<i2").tobytes()  # 20 ms
    stop = threading.Event()

    def feed() -> None:
        start, sent = time.monotonic(), 0
        while not stop.is_set():
            for source in inputs:
                source.feed(chunk)
            sent += 1
            stop.wait(max(0.0, start + sent * 0.02 - time.monotonic()))

    feeder = threading.Thread(target=feed, daemon=True)
    cpu, wall = time.process_time(), time.monotonic()
    feeder.start()
    for pipeline in pipelines:
        pipeline.start()
    time.sleep(seconds)
    produced = [p.produced / SAMPLE_RATE for p in pipelines]
    cpu, wall = time.process_time() - cpu, time.monotonic() - wall
    stop.set()
    for pipeline in pipelines:
        pipeline.stop(ended=True)
    segments = min(len(p.packager.entries) for p in pipelines)
    print(f"{rooms} live rooms x {SPEAKERS} PCM speakers for {wall:.1f} s: {100 * cpu / wall:.0f}% of one core "
          f"(feeder included), audio produced per room {min(produced):.1f}-{max(produced):.1f} s, "
          f"{segments}+ segments of {FRAMES_PER_SEGMENT * FRAME_SAMPLES / SAMPLE_RATE:.2f} s each")


def main() -> None:
    """Print the real-time factor and the rooms one core sustains."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--pcm", action="store_true", help="speakers send raw PCM (no Opus decode)")
    parser.add_argument("--live", type=int, default=0, help="run this many real rooms on the clock instead")
    args = parser.parse_args()
    if args.live:
        run_live(args.live, args.seconds)
        return
    cpu = run_room(args.seconds, args.pcm)
    factor = args.seconds / cpu
    ingest = "raw PCM" if args.pcm else "Ogg/Opus (decoded)"
    print(f"1 room, {SPEAKERS} speakers sending {ingest}, {args.seconds:.0f} s of audio: {cpu:.2f} s CPU")
    print(f"real-time factor: {factor:.1f}x  ->  about {int(factor * 0.8)} rooms per core at 80% load")


if __name__ == "__main__":
    main()
