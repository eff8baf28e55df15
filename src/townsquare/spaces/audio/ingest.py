"""Speaker ingest: raw s16le PCM, or Ogg/WebM Opus decoded with PyAV on a thread, into a mixer buffer."""

from __future__ import annotations

import logging
import queue
import threading

import av
import numpy as np

from townsquare.spaces.audio import SAMPLE_RATE
from townsquare.spaces.audio.mixer import SpeakerBuffer

log = logging.getLogger("townsquare.spaces.audio")

FORMATS = {"s16le": "s16le", "pcm": "s16le", "ogg": "ogg", "opus": "ogg", "webm": "webm", "matroska": "webm"}
MAX_QUEUED = 256  # messages waiting for the decoder; a speaker far ahead of real time loses the excess


def detect_format(head: bytes, hint: str | None = None) -> str:
    """Return "ogg", "webm" or "s16le" from a `format=` hint, else from the first bytes of the stream."""
    if hint:
        if hint.lower() not in FORMATS:
            raise ValueError(f"unsupported audio format {hint!r}")
        return FORMATS[hint.lower()]
    if head.startswith(b"OggS"):
        return "ogg"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return "webm"
    return "s16le"


def pcm_to_float(data: bytes) -> np.ndarray:
    """Convert little-endian 16-bit PCM to float32 in [-1, 1)."""
    return np.frombuffer(data, dtype="<i2").astype(np.float32) / 32768.0


class _BlockingReader:
    """A file-like object whose read() waits for the next WebSocket message, for PyAV's demuxer."""

    def __init__(self) -> None:
        self.messages: queue.Queue[bytes | None] = queue.Queue(MAX_QUEUED)
        self._pending = b""
        self._eof = False

    def read(self, size: int = -1) -> bytes:
        """Return up to size bytes, blocking until some arrive; b"" at the end of the stream."""
        while not self._pending and not self._eof:
            message = self.messages.get()
            if message is None:
                self._eof = True
            else:
                self._pending = message
        if size is None or size < 0:
            size = len(self._pending)
        out, self._pending = self._pending[:size], self._pending[size:]
        return out


class SpeakerInput:
    """One speaker's connection: feed() it the bytes received, close() it when the speaker leaves."""

    def __init__(self, buffer: SpeakerBuffer, hint: str | None = None) -> None:
        self.buffer = buffer
        self.hint = hint
        self.format: str | None = None
        self._odd = b""
        self._reader: _BlockingReader | None = None
        self._thread: threading.Thread | None = None
        # While muted, compressed audio is still decoded (a container stream cannot skip bytes) but not mixed.
        self.muted = False
        if hint:
            detect_format(b"", hint)  # reject an unknown hint before any audio arrives

    def feed(self, data: bytes) -> None:
        """Accept one message of audio bytes (cheap: PCM is converted here, compressed audio goes to the decoder)."""
        if not data:
            return
        if self.format is None:
            self.format = detect_format(data, self.hint)
            if self.format != "s16le":
                self._reader = _BlockingReader()
                self._thread = threading.Thread(target=self._decode, name="spaces-decode", daemon=True)
                self._thread.start()
        if self._reader is not None:
            if not self._thread.is_alive():
                return  # the decoder gave up on this stream (not audio it can read): ignore the rest
            try:
                self._reader.messages.put_nowait(data)
            except queue.Full:
                log.warning("speaker is too far ahead of real time; dropping audio")
            return
        if self.muted:
            return
        data = self._odd + data
        cut = len(data) - len(data) % 2
        self._odd = data[cut:]
        self.buffer.push(pcm_to_float(data[:cut]))

    def _decode(self) -> None:
        try:
            with av.open(self._reader, mode="r", format=self.format) as container:
                resampler = av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)
                for frame in container.decode(audio=0):
                    for out in resampler.resample(frame):
                        if not self.muted:
                            self.buffer.push(out.to_ndarray().reshape(-1))
        except (av.error.FFmpegError, ValueError, StopIteration) as exc:
            log.info("speaker stream ended: %s", exc)

    def close(self) -> None:
        """End this speaker's stream; the decoder thread drains and stops."""
        if self._reader is not None:
            if not self._thread.is_alive():
                return  # the decoder gave up on this stream (not audio it can read): ignore the rest
            try:
                self._reader.messages.put(None, timeout=1)
            except queue.Full:
                pass
        if self._thread is not None:
            self._thread.join(timeout=2)
