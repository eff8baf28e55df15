"""Benchmark: media processing throughput and memory.

Usage: .venv/bin/python bench/media.py [IMAGES] [VIDEO_SECONDS]   (defaults 10 and 30)
Prints images per second for a 12 MP camera JPEG (4000x3000 with EXIF orientation and GPS, processed into
its <= 8.3 MP original, <= 230,400 px small version and blurhash), the peak memory one such image adds
(growth of the process's RSS high-water mark), and the time to transcode a VIDEO_SECONDS 1080p30 MPEG-4 part 2/Opus
Matroska file to H.264/AAC MP4 (plus the stream-copy time of an already compliant MP4 of the same length).
"""

from __future__ import annotations

import io
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import av
import numpy as np
from PIL import Image
from PIL.TiffImagePlugin import IFDRational

from townsquare.media.images import process_image
from townsquare.media.video import process_video


def camera_jpeg(width: int = 4000, height: int = 3000) -> bytes:
    """A 12 MP JPEG with texture (so the encoder works as on a photo), EXIF orientation and GPS."""
    rng = np.random.default_rng(1)
    base = np.linspace(0, 255, width, dtype=np.float32)[None, :, None].repeat(height, 0).repeat(3, 2)
    noise = rng.normal(0, 18, (height // 8, width // 8, 3)).repeat(8, 0).repeat(8, 1)
    pixels = np.clip(base + noise, 0, 255).astype(np.uint8)
    exif = Image.Exif()
    exif[0x0112] = 6
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2] = "N", (IFDRational(52, 1), IFDRational(22, 1), IFDRational(1, 1))
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, "JPEG", quality=92, exif=exif)
    return out.getvalue()


def make_video(path: Path, seconds: int, codec: str, audio: str, size=(1920, 1080), rate: int = 30) -> None:
    """A moving test pattern of the given length, with a tone."""
    width, height = size
    with av.open(str(path), "w") as out:
        v = out.add_stream(codec, rate=rate)
        v.width, v.height, v.pix_fmt = width, height, "yuv420p"
        if codec == "libx264":
            v.options = {"preset": "ultrafast"}
        a = out.add_stream(audio, rate=48000, layout="stereo")
        x = np.arange(width)[None, :]
        y = np.arange(height)[:, None]
        # One second of distinct frames, repeated: making the input must not cost more than the measurement.
        frames = [np.stack([((x + y + i * 8) % 256).astype(np.uint8)] * 3, axis=2) for i in range(rate)]
        for i in range(seconds * rate):
            frame = av.VideoFrame.from_ndarray(frames[i % rate], format="rgb24")
            frame.pts = i
            out.mux(v.encode(frame))
        out.mux(v.encode(None))
        size_ = a.codec_context.frame_size or 1024
        t = np.arange(seconds * 48000) / 48000
        tone = (0.2 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
        for start in range(0, len(tone) - size_, size_):
            af = av.AudioFrame.from_ndarray(np.stack([tone[start:start + size_]] * 2), format="fltp", layout="stereo")
            af.sample_rate, af.pts = 48000, start
            out.mux(a.encode(af))
        out.mux(a.encode(None))


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _high_water_kb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def memory_of_one(path: str) -> None:
    """Print how far one image raises this (fresh) process's peak memory."""
    data = Path(path).read_bytes()
    try:  # a forked child inherits its parent's high-water mark: reset it (Linux)
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass
    before = _high_water_kb()
    process_image(data)
    grown = _high_water_kb() - before
    print(f"memory peak per image: {grown / 1024:.0f} MB above the process before it")


def main() -> None:
    """Run the three measurements and print them."""
    images = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    seconds = int(sys.argv[2]) if len(sys.argv) > 2 else 30
    data = camera_jpeg()
    print(f"12 MP JPEG: {len(data) / 1e6:.1f} MB")
    with tempfile.NamedTemporaryFile(suffix=".jpg") as photo:
        photo.write(data)
        photo.flush()
        # A fresh process: its high-water mark before and after one image is that image's peak (Pillow's pixel
        # buffers are outside tracemalloc's view, so the RSS peak is the honest figure).
        child = subprocess.run([sys.executable, __file__, "--memory", photo.name], capture_output=True, text=True, check=True)
        print(child.stdout.strip())
    process_image(data)  # warm-up
    started, cpu = time.perf_counter(), time.process_time()
    for _ in range(images):
        result = process_image(data)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    print(f"images: {images / elapsed:.2f} per second wall ({elapsed / images * 1000:.0f} ms each), "
          f"{cpu / images * 1000:.0f} ms CPU each (= {images / cpu:.2f}/s per free core); "
          f"original {result.meta['original']['size']}, small {result.meta['small']['size']}")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        source = folder / "in.mkv"
        made = time.perf_counter()
        make_video(source, seconds, "mpeg4", "libopus")
        print(f"made a {seconds} s 1080p30 MPEG-4 part 2/Opus Matroska file in {time.perf_counter() - made:.0f} s "
              f"({source.stat().st_size / 1e6:.1f} MB)")
        started, cpu = time.perf_counter(), _cpu()
        out = process_video(source, folder)
        print(f"transcode {seconds} s 1080p30 -> H.264/AAC MP4: {time.perf_counter() - started:.1f} s wall, "
              f"{_cpu() - cpu:.1f} s CPU (all threads) ({out.path.stat().st_size / 1e6:.1f} MB, "
              f"{out.meta['original']['size']})")
        compliant = folder / "h264.mp4"
        make_video(compliant, seconds, "libx264", "aac")
        copy_dir = folder / "copy"
        copy_dir.mkdir()
        started = time.perf_counter()
        process_video(compliant, copy_dir)
        print(f"stream copy of a compliant {seconds} s 1080p H.264/AAC MP4: {time.perf_counter() - started:.2f} s")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--memory":
        memory_of_one(sys.argv[2])
    else:
        main()
