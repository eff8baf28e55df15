"""Media fixtures made by the tests themselves (Pillow, PyAV): no binary blob is committed."""

from __future__ import annotations

import io
import struct
import tempfile
import zlib
from pathlib import Path

import av
import numpy as np
from PIL import Image
from PIL.TiffImagePlugin import IFDRational


def jpeg_with_gps(width: int = 640, height: int = 480, orientation: int = 6) -> bytes:
    """A JPEG with an EXIF orientation tag and GPS coordinates (what a phone writes)."""
    pixels = np.zeros((height, width, 3), np.uint8)
    pixels[:, : width // 2] = (220, 40, 30)
    pixels[:, width // 2:] = (20, 60, 200)
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x010F] = "PhoneMaker"
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2] = "N", (IFDRational(52, 1), IFDRational(22, 1), IFDRational(1, 1))
    gps[3], gps[4] = "E", (IFDRational(4, 1), IFDRational(53, 1), IFDRational(2, 1))
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, "JPEG", exif=exif, quality=90)
    return out.getvalue()


def png(width: int = 64, height: int = 48, mode: str = "RGBA") -> bytes:
    """A small PNG."""
    out = io.BytesIO()
    Image.new(mode, (width, height), (10, 200, 30, 128) if mode == "RGBA" else (10, 200, 30)).save(out, "PNG")
    return out.getvalue()


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)


def png_bomb(side: int = 40_000) -> bytes:
    """A real decompression bomb: a side x side 1-bit PNG of zeros (~200 MB of pixels in ~200 KB)."""
    packer = zlib.compressobj(9)
    row = b"\x00" * (1 + (side + 7) // 8)
    parts = [packer.compress(row * 1000) for _ in range(side // 1000)]
    parts.append(packer.flush())
    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", b"".join(parts)) + _chunk(b"IEND", b"")


def animated_gif(frames: int = 6, size: tuple[int, int] = (81, 61)) -> bytes:
    """An animated GIF whose frames differ (odd dimensions, as GIFs often have)."""
    images = [Image.new("RGB", size, (i * 40 % 256, 255 - i * 30, 90)) for i in range(frames)]
    out = io.BytesIO()
    images[0].save(out, "GIF", save_all=True, append_images=images[1:], duration=100, loop=0)
    return out.getvalue()


def video(codec: str = "libvpx-vp9", container: str = "webm", seconds: float = 1.0, size=(160, 120),
          audio: str | None = "libopus", rate: int = 24) -> bytes:
    """A tiny video with moving colours (and a tone, unless audio is None)."""
    width, height = size
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"v.{container}"
        with av.open(str(path), "w") as out:
            stream = out.add_stream(codec, rate=rate)
            stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
            astream = out.add_stream(audio, rate=48000, layout="stereo") if audio else None
            for i in range(int(seconds * rate)):
                pixels = np.full((height, width, 3), (i * 9) % 256, np.uint8)
                pixels[:, : width // 3, 0] = 200
                frame = av.VideoFrame.from_ndarray(pixels, format="rgb24")
                frame.pts = i
                out.mux(stream.encode(frame))
            out.mux(stream.encode(None))
            if astream is not None:
                size_ = astream.codec_context.frame_size or 1024
                t = np.arange(int(seconds * 48000)) / 48000
                tone = (0.2 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
                for start in range(0, len(tone) - size_, size_):
                    chunk = np.stack([tone[start:start + size_]] * 2)
                    frame = av.AudioFrame.from_ndarray(chunk, format="fltp", layout="stereo")
                    frame.sample_rate, frame.pts = 48000, start
                    out.mux(astream.encode(frame))
                out.mux(astream.encode(None))
        return path.read_bytes()


def wav(seconds: float = 1.0) -> bytes:
    """A WAV file with a 440 Hz tone."""
    import wave

    t = np.arange(int(seconds * 22050)) / 22050
    samples = (8000 * np.sin(2 * np.pi * 440 * t)).astype("<i2")
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(22050)
        w.writeframes(samples.tobytes())
    return out.getvalue()
