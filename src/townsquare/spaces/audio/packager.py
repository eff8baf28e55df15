"""AAC-LC encoding and HLS packaging: ~2 s MPEG-TS segments, a rolling live playlist and a recording playlist."""

from __future__ import annotations

import io
import json
import math
import time
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta, timezone
from fractions import Fraction

import av
import numpy as np

from townsquare.spaces.audio import FRAME_SAMPLES, SAMPLE_RATE
from townsquare.spaces.audio.store import SegmentStore

FRAMES_PER_SEGMENT = math.ceil(2.0 * SAMPLE_RATE / FRAME_SAMPLES)  # 94 frames = 2.005 s
LIVE_WINDOW = 6  # segments listed in the live playlist
KEEP_EXTRA = 4  # segments kept past the window for listeners still fetching them
# One PES per ~1 s of audio and a PAT/PMT every 10 packets keep MPEG-TS overhead modest (defaults triple it).
TS_OPTIONS = {"max_delay": "2000000", "pat_period": "10"}


class AacEncoder:
    """A persistent AAC-LC mono encoder: float32 samples in, raw AAC frames out."""

    def __init__(self, bit_rate: int = 40000) -> None:
        self.codec = av.CodecContext.create("aac", "w")
        self.codec.sample_rate = SAMPLE_RATE
        self.codec.layout = "mono"
        self.codec.format = "fltp"
        self.codec.bit_rate = bit_rate
        self.codec.time_base = Fraction(1, SAMPLE_RATE)
        self.codec.open()
        self._pts = 0

    def encode(self, samples: np.ndarray | None) -> list[bytes]:
        """Encode one frame of FRAME_SAMPLES samples (None flushes) and return the AAC frames produced."""
        if samples is None:
            packets = self.codec.encode(None)
        else:
            frame = av.AudioFrame.from_ndarray(samples.reshape(1, -1), format="fltp", layout="mono")
            frame.sample_rate = SAMPLE_RATE
            frame.pts = self._pts
            frame.time_base = self.codec.time_base
            self._pts += samples.size
            packets = self.codec.encode(frame)
        return [bytes(p) for p in packets]

    @property
    def extradata(self) -> bytes | None:
        """The AudioSpecificConfig the muxer needs."""
        return self.codec.extradata


def mux_ts(frames: list[bytes], first_sample: int, extradata: bytes | None) -> bytes:
    """Return one self-contained MPEG-TS segment holding these AAC frames, stamped from first_sample on."""
    buf = io.BytesIO()
    out = av.open(buf, "w", format="mpegts", options=TS_OPTIONS)
    stream = out.add_stream("aac", rate=SAMPLE_RATE)
    stream.codec_context.layout = "mono"
    if extradata:
        stream.codec_context.extradata = extradata
    stream.time_base = Fraction(1, SAMPLE_RATE)
    for i, data in enumerate(frames):
        packet = av.Packet(data)
        packet.stream = stream
        packet.time_base = Fraction(1, SAMPLE_RATE)
        packet.pts = packet.dts = first_sample + i * FRAME_SAMPLES
        packet.duration = FRAME_SAMPLES
        out.mux(packet)
    out.close()
    return buf.getvalue()


@dataclass
class Entry:
    """One segment in the playlists."""

    seq: int
    duration: float
    pdt: str
    discontinuity: bool = False


def _pdt(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class HlsPackager:
    """Groups AAC frames into segments and keeps a room's playlists current in the SegmentStore."""

    def __init__(self, store: SegmentStore, space_id: int, record: bool, started: datetime | None = None) -> None:
        self.store, self.space_id, self.record = store, space_id, record
        self.started = started or datetime.now(timezone.utc)
        self.entries: list[Entry] = []
        self.dropped_discontinuities = 0  # discontinuities of entries already forgotten (unrecorded rooms)
        saved = store.get(space_id, "index.json")
        if saved:
            state = json.loads(saved)
            self.entries = [Entry(**e) for e in state["entries"]]
            self.record = self.record or state.get("record", False)
            self.dropped_discontinuities = state.get("dropped_discontinuities", 0)
        # A restart continues the numbering; the first new segment is marked as a discontinuity.
        self._discontinuity = bool(self.entries)
        self.next_seq = self.entries[-1].seq + 1 if self.entries else 0
        self._frames: list[bytes] = []
        self._samples = 0  # samples packaged since this packager started
        self.ended = False
        self.publish_lag = 0.0

    def add(self, frames: list[bytes], extradata: bytes | None) -> None:
        """Take encoded frames; each time a segment's worth is ready, publish it."""
        for frame in frames:
            self._frames.append(frame)
            if len(self._frames) >= FRAMES_PER_SEGMENT:
                self._cut(extradata)

    @property
    def pending(self) -> int:
        """Frames waiting for the next segment."""
        return len(self._frames)

    def skip_segment(self) -> None:
        """Drop the segment that could not be stored; the next one is marked as a discontinuity."""
        self._samples += len(self._frames) * FRAME_SAMPLES
        self._frames = []
        self._discontinuity = True

    def _cut(self, extradata: bytes | None) -> None:
        if not self._frames:
            return
        data = mux_ts(self._frames, self._samples, extradata)
        count = len(self._frames)
        start = self.started + timedelta(seconds=self._samples / SAMPLE_RATE)
        entry = Entry(self.next_seq, count * FRAME_SAMPLES / SAMPLE_RATE, _pdt(start), self._discontinuity)
        self.store.put(self.space_id, f"seg{entry.seq}.ts", data)
        self.entries.append(entry)
        self.next_seq += 1
        self._samples += count * FRAME_SAMPLES
        # How long after its audio ended this segment went out (a /metrics figure: a late pipeline shows here).
        self.publish_lag = time.time() - (self.started.timestamp() + self._samples / SAMPLE_RATE)
        self._frames = []
        self._discontinuity = False
        self._publish()

    def finish(self, extradata: bytes | None, ended: bool) -> None:
        """Publish the partial last segment; when the room ended, close the playlists with ENDLIST."""
        self._cut(extradata)
        self.ended = ended
        self._publish()

    def _publish(self) -> None:
        if not self.record:
            stale = self.entries[: -(LIVE_WINDOW + KEEP_EXTRA)]
            for entry in stale:
                self.dropped_discontinuities += entry.discontinuity
                self.store.delete(self.space_id, f"seg{entry.seq}.ts")
            self.entries = self.entries[len(stale):]
        self.store.put(self.space_id, "live.m3u8", self.live_playlist().encode())
        if self.record:
            self.store.put(self.space_id, "recording.m3u8", self.recording_playlist().encode())
        state = {"record": self.record, "dropped_discontinuities": self.dropped_discontinuities,
                 "entries": [asdict(e) for e in self.entries]}
        self.store.put(self.space_id, "index.json", json.dumps(state).encode())

    def live_playlist(self) -> str:
        """The rolling live playlist: the last few segments, ENDLIST once the room ended."""
        window = self.entries[-LIVE_WINDOW:]
        before = self.entries[: len(self.entries) - len(window)]
        disc_seq = self.dropped_discontinuities + sum(1 for e in before if e.discontinuity)
        return self._render(window, disc_seq, None)

    def recording_playlist(self) -> str:
        """The complete playlist for replay: EVENT while live, VOD once ended."""
        return self._render(self.entries, 0, "VOD" if self.ended else "EVENT")

    def _render(self, entries: list[Entry], disc_seq: int, kind: str | None) -> str:
        lines = ["#EXTM3U", "#EXT-X-VERSION:3", "#EXT-X-TARGETDURATION:2"]
        if kind:
            lines.append(f"#EXT-X-PLAYLIST-TYPE:{kind}")
        lines.append(f"#EXT-X-MEDIA-SEQUENCE:{entries[0].seq if entries else self.next_seq}")
        if disc_seq:
            lines.append(f"#EXT-X-DISCONTINUITY-SEQUENCE:{disc_seq}")
        for entry in entries:
            if entry.discontinuity:
                lines.append("#EXT-X-DISCONTINUITY")
            lines.append(f"#EXT-X-PROGRAM-DATE-TIME:{entry.pdt}")
            lines.append(f"#EXTINF:{entry.duration:.5f},")
            lines.append(f"seg{entry.seq}.ts")
        if self.ended:
            lines.append("#EXT-X-ENDLIST")
        return "\n".join(lines) + "\n"
