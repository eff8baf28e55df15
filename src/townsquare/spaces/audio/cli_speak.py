"""`townsquare spaces speak`: stream an audio file into a live room as a speaker, paced in real time."""

from __future__ import annotations

import io
import time
from fractions import Fraction
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import typer

from townsquare.spaces.audio import SAMPLE_RATE

CHUNK_SECONDS = 0.05
LEAD_SECONDS = 0.2  # sent ahead of the clock so the room's jitter buffer never runs dry


def pcm_chunks(path: Path, chunk_seconds: float = CHUNK_SECONDS):
    """Yield the file's audio as s16le 48 kHz mono PCM in chunks of chunk_seconds (any format PyAV reads)."""
    import av

    size = int(SAMPLE_RATE * chunk_seconds) * 2
    pending = b""
    with av.open(str(path)) as container:
        resampler = av.AudioResampler(format="s16", layout="mono", rate=SAMPLE_RATE)
        for frame in container.decode(audio=0):
            for out in resampler.resample(frame):
                pending += out.to_ndarray().tobytes()
                while len(pending) >= size:
                    yield pending[:size]
                    pending = pending[size:]
        for out in resampler.resample(None):
            pending += out.to_ndarray().tobytes()
    if pending:
        yield pending


class _Pages(io.RawIOBase):
    """A write-only file collecting what the Ogg muxer writes, handed out page by page."""

    def __init__(self) -> None:
        super().__init__()
        self.data = bytearray()

    def writable(self) -> bool:
        """Yes: the muxer writes here."""
        return True

    def write(self, b) -> int:
        """Keep the bytes until take()."""
        self.data += b
        return len(b)

    def take(self) -> bytes:
        """Return and forget what was written so far."""
        out, self.data = bytes(self.data), bytearray()
        return out


def opus_chunks(path: Path):
    """Yield (Ogg/Opus bytes, seconds of audio they carry), one 20 ms Ogg page at a time, as MediaRecorder would."""
    import av
    import numpy as np  # here, not at the top: every `townsquare` command imports this module

    pages = _Pages()
    out = av.open(pages, "w", format="ogg", options={"page_duration": "20000"})
    stream = out.add_stream("libopus", rate=SAMPLE_RATE)
    stream.layout = "mono"
    stream.bit_rate = 32000
    pts = 0
    for pcm in pcm_chunks(path, 0.02):
        samples = np.frombuffer(pcm, dtype="<i2").reshape(1, -1)
        frame = av.AudioFrame.from_ndarray(samples, format="s16", layout="mono")
        frame.sample_rate, frame.pts, frame.time_base = SAMPLE_RATE, pts, Fraction(1, SAMPLE_RATE)
        pts += samples.shape[1]
        for packet in stream.encode(frame):
            out.mux(packet)
        yield pages.take(), samples.shape[1] / SAMPLE_RATE
    for packet in stream.encode(None):
        out.mux(packet)
    out.close()
    yield pages.take(), 0.0


def audio_ws_url(server: str, space_id: str, fmt: str = "s16le") -> str:
    """The speaker WebSocket URL of a room on this server (http -> ws, https -> wss)."""
    parts = urlsplit(server.rstrip("/"))
    scheme = "wss" if parts.scheme == "https" else "ws"
    return urlunsplit((scheme, parts.netloc, f"{parts.path}/api/v1/spaces/{space_id}/audio", f"format={fmt}", ""))


def speak(
    space_id: str = typer.Argument(..., help="The id of a live Space."),
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="An audio file ffmpeg/PyAV can read."),
    server: str = typer.Option("http://127.0.0.1:8000", "--server", help="The server's base URL."),
    token: str = typer.Option(..., "--token", envvar="TOWNSQUARE_TOKEN", help="Bearer token of a host, co-host or speaker."),
    opus: bool = typer.Option(False, "--opus", help="Send Ogg/Opus (as a browser does) instead of raw PCM."),
) -> None:
    """Stream an audio file into a live Space in real time, as a speaker."""
    from websockets.exceptions import ConnectionClosed, InvalidStatus
    from websockets.sync.client import connect

    sent = 0.0
    try:
        chunks = opus_chunks(file) if opus else ((c, len(c) / 2 / SAMPLE_RATE) for c in pcm_chunks(file))
        with connect(audio_ws_url(server, space_id, "ogg" if opus else "s16le"),
                     additional_headers={"Authorization": f"Bearer {token}"}, open_timeout=10, max_size=None) as ws:
            start = time.monotonic()
            for chunk, seconds in chunks:
                delay = start + sent - LEAD_SECONDS - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                if chunk:
                    ws.send(chunk)
                sent += seconds
            remaining = start + sent - time.monotonic()
            if remaining > 0:
                time.sleep(remaining)  # let the room play what is buffered before hanging up
    except InvalidStatus as exc:
        typer.echo(f"refused by the server: HTTP {exc.response.status_code}", err=True)
        raise typer.Exit(1) from None
    except ConnectionClosed as exc:
        typer.echo(f"the server closed the stream: {exc.rcvd.code if exc.rcvd else ''} {exc.rcvd.reason if exc.rcvd else ''}", err=True)
        raise typer.Exit(1) from None
    except OSError as exc:
        typer.echo(f"cannot reach {server}: {exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"streamed {sent:.1f} s of audio to space {space_id}")
