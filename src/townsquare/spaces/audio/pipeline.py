"""One room's real-time pipeline: a clock-driven thread that mixes, encodes and packages every 20 ms."""

from __future__ import annotations

import itertools
import logging
import threading
import time

from townsquare.spaces.audio import FRAME_SAMPLES, SAMPLE_RATE
from townsquare.spaces.audio.ingest import SpeakerInput
from townsquare.spaces.audio.mixer import Mixer
from townsquare.spaces.audio.packager import AacEncoder, HlsPackager
from townsquare.spaces.audio.store import SegmentStore
from townsquare.storage.faults import STORAGE_ERRNOS

log = logging.getLogger("townsquare.spaces.audio")
TICK_SECONDS = 0.02
_keys = itertools.count(1)


class RoomPipeline:
    """Mixer + AAC encoder + HLS packager for one room, run on its own thread off the event loop."""

    def __init__(self, store: SegmentStore, space_id: int, record: bool, bit_rate: int = 40000) -> None:
        self.space_id = space_id
        self.mixer = Mixer()
        self.encoder = AacEncoder(bit_rate)
        self.packager = HlsPackager(store, space_id, record)
        self._stop = threading.Event()
        self._ended = False
        self.storage_error: str | None = None  # set while segments cannot be written (a full disk)
        self._thread = threading.Thread(target=self._run, name=f"spaces-room-{space_id}", daemon=True)
        self.produced = 0

    @property
    def record(self) -> bool:
        """Whether this room keeps a recording playlist."""
        return self.packager.record

    @property
    def running(self) -> bool:
        """Whether the pipeline thread is alive."""
        return self._thread.is_alive() and not self._stop.is_set()

    @property
    def stopped(self) -> bool:
        """Whether the pipeline was asked to stop (a thread that ended otherwise died)."""
        return self._stop.is_set()

    def start(self) -> None:
        """Start producing audio in real time (silence until someone speaks)."""
        self._thread.start()

    def open_speaker(self, hint: str | None = None) -> tuple[SpeakerInput, object]:
        """Register a speaker connection; return its input and the key to remove it with."""
        key = next(_keys)
        return SpeakerInput(self.mixer.add_source(key), hint), key

    def close_speaker(self, key: object) -> None:
        """Remove a speaker from the mix."""
        self.mixer.remove_source(key)

    def stop(self, ended: bool) -> None:
        """Stop the thread and publish the last segment; `ended` closes the playlists for good."""
        self._ended = ended
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)

    def step(self) -> None:
        """Mix, encode and package one AAC frame of audio."""
        frames = self.encoder.encode(self.mixer.mix(FRAME_SAMPLES))
        try:
            self.packager.add(frames, self.encoder.extradata)
        except OSError as exc:
            if exc.errno not in STORAGE_ERRNOS:
                raise
            # Out of storage: this segment's audio is dropped, the last live window stays up, and the room goes on.
            if self.storage_error is None:
                log.warning("space %s: cannot write segments (%s); keeping the last live window", self.space_id, exc)
            self.storage_error = f"{type(exc).__name__}: {exc.strerror}"
            self.packager.skip_segment()
        else:
            if self.storage_error is not None and self.packager.entries and not self.packager.pending:
                log.warning("space %s: segments are written again", self.space_id)
                self.storage_error = None
        self.produced += FRAME_SAMPLES

    def _run(self) -> None:
        start = time.monotonic()
        try:
            while not self._stop.is_set():
                due = int((time.monotonic() - start) * SAMPLE_RATE)
                while self.produced + FRAME_SAMPLES <= due and not self._stop.is_set():
                    self.step()
                self._stop.wait(TICK_SECONDS)
            self.packager.add(self.encoder.encode(None), self.encoder.extradata)
            self.packager.finish(self.encoder.extradata, ended=self._ended)
        except Exception:  # a broken room must not take the server down; a restart resumes with a discontinuity
            log.exception("audio pipeline of space %s failed", self.space_id)
