"""Video, GIF and audio processing with PyAV: H.264/AAC MP4 (faststart, yuv420p, even sizes), MP3 or AAC audio.

Chosen encoders (what the PyAV wheel ships and Chromium and ffmpeg both play): libx264 for video (H.264 High,
yuv420p), FFmpeg's native `aac` for the audio track of a video (AAC-LC), and libmp3lame for audio uploads, as
Mastodon stores audio as MP3; when a build lacks one of them the next choice in each list below is taken.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av

from townsquare.domain.media import VIDEO_FRAME_RATE_LIMIT, VIDEO_MATRIX_LIMIT
from townsquare.media.errors import MediaError
from townsquare.media.images import preview_from_frame

VIDEO_ENCODERS = ("libx264", "libopenh264", "h264")
AUDIO_ENCODERS = (("libmp3lame", "mp3", "mp3", "audio/mpeg"), ("aac", "mp4", "m4a", "audio/mp4"))
VIDEO_AUDIO_ENCODER = "aac"
COPYABLE_CONTAINERS = {"mov,mp4,m4a,3gp,3g2,mj2"}


def _encoder(names) -> str | None:
    for name in names:
        try:
            av.codec.Codec(name, "w")
            return name
        except Exception:  # not in this build
            continue
    return None


@dataclass
class Probe:
    """What an audio/video file holds, read from its headers and streams."""

    container: str
    has_video: bool
    has_audio: bool
    width: int = 0
    height: int = 0
    rate: Fraction | None = None
    duration: float = 0.0
    video_codec: str = ""
    pix_fmt: str = ""
    audio_codec: str = ""
    bitrate: int = 0


def probe(path: Path) -> Probe:
    """Read a file's streams; refuse files that are not audio/video or break the limits."""
    try:
        with av.open(str(path)) as container:
            video = next(iter(container.streams.video), None)
            audio = next(iter(container.streams.audio), None)
            if video is None and audio is None:
                raise MediaError("Validation failed: File has no audio or video stream")
            info = Probe(container=container.format.name, has_video=video is not None, has_audio=audio is not None,
                         duration=float(container.duration or 0) / av.time_base, bitrate=int(container.bit_rate or 0))
            if video is not None:
                ctx = video.codec_context
                info.width, info.height = ctx.width, ctx.height
                info.rate = video.average_rate or video.guessed_rate or Fraction(25)
                info.video_codec, info.pix_fmt = ctx.name, str(ctx.pix_fmt or "")
                if video.duration and video.time_base and not info.duration:
                    info.duration = float(video.duration * video.time_base)
            if audio is not None:
                info.audio_codec = audio.codec_context.name
    except MediaError:
        raise
    except (av.error.FFmpegError, OSError, ValueError) as exc:
        raise MediaError(f"Validation failed: File could not be read as audio or video ({exc})") from None
    if info.has_video:
        if info.width * info.height > VIDEO_MATRIX_LIMIT:
            raise MediaError(f"Validation failed: Video dimensions are too large ({info.width}x{info.height}, "
                             f"maximum is {VIDEO_MATRIX_LIMIT} pixels)")
        if info.rate and float(info.rate) > VIDEO_FRAME_RATE_LIMIT:
            raise MediaError(f"Validation failed: Video frame rate is too high (maximum is {VIDEO_FRAME_RATE_LIMIT} fps)")
    return info


def _compliant(info: Probe, silent: bool) -> bool:
    audio_ok = not info.has_audio or silent or info.audio_codec == "aac"
    return (info.container in COPYABLE_CONTAINERS and info.video_codec == "h264" and info.pix_fmt == "yuv420p"
            and info.width % 2 == 0 and info.height % 2 == 0 and audio_ok and not (silent and info.has_audio))


def _remux(src: Path, dst: Path) -> None:
    with av.open(str(src)) as inp, av.open(str(dst), "w", format="mp4", options={"movflags": "+faststart"}) as out:
        streams = [s for s in (next(iter(inp.streams.video), None), next(iter(inp.streams.audio), None)) if s]
        mapping = {s.index: out.add_stream_from_template(s) for s in streams}
        for packet in inp.demux(streams):
            if packet.dts is None:
                continue
            packet.stream = mapping[packet.stream.index]
            out.mux(packet)


def _transcode(src: Path, dst: Path, info: Probe, silent: bool) -> None:
    encoder = _encoder(VIDEO_ENCODERS)
    if encoder is None:
        raise RuntimeError("this PyAV build has no H.264 encoder")
    rate = Fraction(info.rate).limit_denominator(1001) if info.rate else Fraction(25)
    width, height = max(2, info.width - info.width % 2), max(2, info.height - info.height % 2)
    with av.open(str(src)) as inp, av.open(str(dst), "w", format="mp4", options={"movflags": "+faststart"}) as out:
        vin = inp.streams.video[0]
        vin.thread_type = "AUTO"
        vout = out.add_stream(encoder, rate=rate)
        vout.width, vout.height, vout.pix_fmt = width, height, "yuv420p"
        if encoder == "libx264":
            vout.options = {"preset": "veryfast", "crf": "23", "profile": "high"}
        ain = None if silent or not info.has_audio else inp.streams.audio[0]
        aout = resampler = None
        if ain is not None:
            aout = out.add_stream(VIDEO_AUDIO_ENCODER, rate=48000, layout="stereo")
            aout.bit_rate = 128_000
            resampler = av.AudioResampler(format="fltp", layout="stereo", rate=48000)
        count = 0
        for packet in inp.demux([s for s in (vin, ain) if s is not None]):
            for frame in packet.decode():
                if packet.stream.type == "video":
                    frame = frame.reformat(width=width, height=height, format="yuv420p")
                    frame.pts, frame.time_base = count, 1 / rate  # constant frame rate, in order
                    count += 1
                    out.mux(vout.encode(frame))
                else:
                    for chunk in resampler.resample(frame):
                        chunk.pts = None
                        out.mux(aout.encode(chunk))
        out.mux(vout.encode(None))
        if aout is not None:
            for chunk in resampler.resample(None):
                chunk.pts = None
                out.mux(aout.encode(chunk))
            out.mux(aout.encode(None))


def first_frame(path: Path):
    """The first picture of a video, as a PIL image."""
    with av.open(str(path)) as inp:
        for frame in inp.decode(video=0):
            return frame.to_image()
    raise MediaError("Validation failed: Video has no frames")


@dataclass
class ProcessedAV:
    """The stored file of a video/GIF/audio upload, its preview and the entity's type and meta."""

    type: str
    path: Path
    ext: str
    mime: str
    meta: dict
    preview: bytes | None = None
    blurhash: str | None = None


def process_video(src: Path, workdir: Path, *, gif: bool = False) -> ProcessedAV:
    """Make a browser-ready MP4 (copying compliant streams) and its first-frame preview; a silent one is gifv."""
    info = probe(src)
    if not info.has_video:
        return process_audio(src, workdir, info)
    silent = gif or not info.has_audio
    dst = workdir / "out.mp4"
    try:
        if _compliant(info, silent):
            _remux(src, dst)
        else:
            _transcode(src, dst, info, silent)
    except (av.error.FFmpegError, ValueError) as exc:
        raise MediaError(f"Validation failed: Video could not be converted ({exc})") from None
    done = probe(dst)
    preview, small, blur = preview_from_frame(first_frame(dst))
    original = {"width": done.width, "height": done.height, "size": f"{done.width}x{done.height}",
                "aspect": round(done.width / done.height, 6), "frame_rate": _fraction(done.rate),
                "duration": round(done.duration, 3), "bitrate": done.bitrate}
    return ProcessedAV(type="gifv" if silent else "video", path=dst, ext="mp4", mime="video/mp4",
                       meta={"original": original, "small": small, "length": _length(done.duration),
                             "fps": round(float(done.rate or 0)), "duration": round(done.duration, 3)},
                       preview=preview, blurhash=blur)


def _fraction(rate: Fraction | None) -> str:
    """A frame rate as Mastodon writes it ("30/1", "30000/1001")."""
    rate = Fraction(rate or 0)
    return f"{rate.numerator}/{rate.denominator}"


def _length(seconds: float) -> str:
    whole = int(seconds)
    return f"{whole // 3600}:{whole // 60 % 60:02d}:{whole % 60:02d}.{int((seconds - whole) * 100):02d}"


def process_audio(src: Path, workdir: Path, info: Probe | None = None) -> ProcessedAV:
    """Transcode any audio to MP3 (or AAC in MP4 where the build has no MP3 encoder), dropping its tags."""
    info = info or probe(src)
    choice = next(((enc, fmt, ext, mime) for enc, fmt, ext, mime in AUDIO_ENCODERS if _encoder([enc])), None)
    if choice is None:
        raise RuntimeError("this PyAV build has no MP3 or AAC encoder")
    encoder, fmt, ext, mime = choice
    dst = workdir / f"out.{ext}"
    try:
        with av.open(str(src)) as inp, av.open(str(dst), "w", format=fmt) as out:
            ain = inp.streams.audio[0]
            rate = 44100 if encoder == "libmp3lame" else 48000
            aout = out.add_stream(encoder, rate=rate, layout="stereo")
            aout.bit_rate = 128_000
            sample_fmt = "s16p" if encoder == "libmp3lame" else "fltp"
            resampler = av.AudioResampler(format=sample_fmt, layout="stereo", rate=rate)
            for frame in inp.decode(ain):
                for chunk in resampler.resample(frame):
                    chunk.pts = None
                    out.mux(aout.encode(chunk))
            for chunk in resampler.resample(None):
                chunk.pts = None
                out.mux(aout.encode(chunk))
            out.mux(aout.encode(None))
    except (av.error.FFmpegError, ValueError, IndexError) as exc:
        raise MediaError(f"Validation failed: Audio could not be converted ({exc})") from None
    done = probe(dst)
    return ProcessedAV(type="audio", path=dst, ext=ext, mime=mime,
                       meta={"original": {"duration": round(done.duration, 3), "bitrate": done.bitrate},
                             "length": _length(done.duration), "duration": round(done.duration, 3)})
