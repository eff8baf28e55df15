"""Per-speaker jitter buffers and the room mixer with a peak limiter, all in float32 numpy."""

from __future__ import annotations

import threading
import time
from collections import deque

import numpy as np

from townsquare.spaces.audio import SAMPLE_RATE

VOICE_LEVEL = 0.02  # a peak above this (about -34 dBFS) counts as someone speaking, not line noise


class SpeakerBuffer:
    """Samples one speaker has sent and the mixer has not yet taken; bounded so latency stays low."""

    def __init__(self, max_seconds: float = 1.0, prebuffer_seconds: float = 0.1) -> None:
        self._chunks: deque[np.ndarray] = deque()
        self._size = 0
        self._max = int(max_seconds * SAMPLE_RATE)
        self._prebuffer = int(prebuffer_seconds * SAMPLE_RATE)
        self._primed = False
        self._lock = threading.Lock()
        self.dropped = 0
        self.voiced_at = 0.0  # monotonic time of the last audible samples, for "speaking now"

    def push(self, samples: np.ndarray) -> None:
        """Append mono float32 samples at 48 kHz, dropping the oldest when the speaker runs too far ahead."""
        if samples.size == 0:
            return
        if float(np.abs(samples).max()) > VOICE_LEVEL:
            self.voiced_at = time.monotonic()
        with self._lock:
            self._chunks.append(np.asarray(samples, dtype=np.float32))
            self._size += samples.size
            while self._size > self._max and self._chunks:
                extra = self._size - self._max
                head = self._chunks[0]
                if head.size <= extra:
                    self._chunks.popleft()
                    self._size -= head.size
                    self.dropped += head.size
                else:
                    self._chunks[0] = head[extra:]
                    self._size -= extra
                    self.dropped += extra

    def pull(self, n: int) -> np.ndarray | None:
        """Take up to n samples (zero-padded to n), or None while the buffer is filling or empty."""
        with self._lock:
            if not self._primed:
                if self._size < self._prebuffer or self._size == 0:
                    return None
                self._primed = True
            out = np.zeros(n, dtype=np.float32)
            filled = 0
            while filled < n and self._chunks:
                head = self._chunks[0]
                take = min(n - filled, head.size)
                out[filled:filled + take] = head[:take]
                filled += take
                if take == head.size:
                    self._chunks.popleft()
                else:
                    self._chunks[0] = head[take:]
            self._size -= filled
            if self._size == 0:
                self._primed = False  # an underrun: wait for a little audio again before resuming
            return out if filled else None


class Limiter:
    """A look-free peak limiter: gain drops at once to keep blocks under the ceiling and recovers smoothly."""

    def __init__(self, ceiling: float = 0.89, release_seconds: float = 0.15, block: int = 32) -> None:
        self.ceiling = ceiling
        self.block = block
        blocks_per_second = SAMPLE_RATE / block
        self._recover = 1.0 - np.exp(-1.0 / (release_seconds * blocks_per_second))
        self.gain = 1.0

    def process(self, x: np.ndarray) -> np.ndarray:
        """Return x scaled so no sample exceeds the ceiling (x's length must be a multiple of the block)."""
        blocks = x.reshape(-1, self.block)
        peaks = np.abs(blocks).max(axis=1)
        needed = np.minimum(1.0, self.ceiling / np.maximum(peaks, 1e-9))
        gains = np.empty(len(needed), dtype=np.float32)
        g = self.gain
        for i, want in enumerate(needed):
            g = g + (1.0 - g) * self._recover
            if want < g:
                g = want
            gains[i] = g
        self.gain = g
        return (blocks * gains[:, None]).reshape(-1).astype(np.float32, copy=False)


class Mixer:
    """Sums every speaker's buffer into one mono stream, silence when nobody talks, limited against clipping."""

    def __init__(self) -> None:
        self._sources: dict[object, SpeakerBuffer] = {}
        self._lock = threading.Lock()
        self.limiter = Limiter()

    def add_source(self, key: object) -> SpeakerBuffer:
        """Register a speaker and return the buffer its decoded audio goes into."""
        buffer = SpeakerBuffer()
        with self._lock:
            self._sources[key] = buffer
        return buffer

    def remove_source(self, key: object) -> None:
        """Forget a speaker (what it had buffered is dropped)."""
        with self._lock:
            self._sources.pop(key, None)

    def voiced(self, within: float = 1.5) -> list[object]:
        """The keys of the speakers who sent audible audio in the last `within` seconds."""
        since = time.monotonic() - within
        with self._lock:
            return [key for key, buffer in self._sources.items() if buffer.voiced_at >= since]

    @property
    def source_count(self) -> int:
        """How many speakers are connected."""
        return len(self._sources)

    def mix(self, n: int) -> np.ndarray:
        """Return the next n mixed samples as float32 in [-1, 1]."""
        with self._lock:
            sources = list(self._sources.values())
        total = np.zeros(n, dtype=np.float32)
        for source in sources:
            chunk = source.pull(n)
            if chunk is not None:
                total += chunk
        return self.limiter.process(total)
