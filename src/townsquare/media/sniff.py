"""Deciding what an upload is from its first bytes, never from its name or the client's Content-Type."""

from __future__ import annotations

from dataclasses import dataclass

# ISO base media (MP4/QuickTime/HEIF) brands, read from the `ftyp` box.
_HEIF_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"hevm", b"hevs", b"mif1", b"msf1"}
_AVIF_BRANDS = {b"avif", b"avis"}
_AUDIO_BRANDS = {b"M4A ", b"M4B ", b"M4P "}


@dataclass(frozen=True)
class Sniffed:
    """What the bytes say an upload is: a kind (image, av, audio) and a MIME type."""

    kind: str  # image | av (a container that may hold video or only audio) | audio
    mime: str


def sniff(head: bytes) -> Sniffed | None:
    """Return the type of a file from its first bytes (64 are enough), or None when it is not a supported one."""
    if head.startswith(b"\xff\xd8\xff"):
        return Sniffed("image", "image/jpeg")
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return Sniffed("image", "image/png")
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return Sniffed("image", "image/gif")
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return Sniffed("image", "image/webp")
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return Sniffed("audio", "audio/wave")
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        compatible = {head[i:i + 4] for i in range(16, min(len(head), 64) - 3, 4)} | {brand}
        if brand in _AVIF_BRANDS:
            return Sniffed("image", "image/avif")
        if brand in _HEIF_BRANDS or (compatible & _HEIF_BRANDS and not compatible & {b"isom", b"mp41", b"mp42"}):
            return Sniffed("image", "image/heic")
        if brand in _AUDIO_BRANDS:
            return Sniffed("audio", "audio/mp4")
        if brand == b"qt  ":
            return Sniffed("av", "video/quicktime")
        return Sniffed("av", "video/mp4")
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return Sniffed("av", "video/webm")
    if head.startswith(b"OggS"):
        return Sniffed("av", "video/ogg")
    if head.startswith(b"ID3") or (len(head) > 1 and head[0] == 0xFF and head[1] & 0xE6 in (0xE2, 0xE4, 0xE6)):
        return Sniffed("audio", "audio/mpeg")  # MPEG audio layer III/II frame sync (or an ID3 tag before it)
    if len(head) > 1 and head[0] == 0xFF and head[1] & 0xF6 == 0xF0:
        return Sniffed("audio", "audio/aac")  # ADTS
    if head.startswith(b"fLaC"):
        return Sniffed("audio", "audio/flac")
    return None
