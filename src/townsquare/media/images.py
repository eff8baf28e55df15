"""Image processing with Pillow: bomb check from the header, EXIF orientation, metadata stripped, two sizes, blurhash."""

from __future__ import annotations

import io
import math
import warnings
from dataclasses import dataclass

import blurhash
from PIL import Image, ImageOps, UnidentifiedImageError

from townsquare.domain.media import IMAGE_MATRIX_LIMIT, ORIGINAL_PIXELS, SMALL_PIXELS
from townsquare.media.errors import MediaError

# Pillow's own bomb guard (an error above twice this) stays as a second line behind the header check below.
Image.MAX_IMAGE_PIXELS = IMAGE_MATRIX_LIMIT
BLURHASH_SIDE = 24  # the small image is averaged down to this before the (pure-Python) 4x4 blurhash: same hash, far faster
JPEG_QUALITY = 90
# What each input becomes: formats browsers show stay, HEIC/AVIF become JPEG, a still GIF becomes PNG.
_OUTPUT = {"JPEG": "JPEG", "PNG": "PNG", "WEBP": "WEBP", "GIF": "PNG", "HEIF": "JPEG", "AVIF": "JPEG", "MPO": "JPEG"}
EXTENSIONS = {"JPEG": ("jpg", "image/jpeg"), "PNG": ("png", "image/png"), "WEBP": ("webp", "image/webp")}


@dataclass
class ProcessedImage:
    """The stored original and small version of an image, with the entity's meta and blurhash."""

    original: bytes
    small: bytes
    ext: str
    mime: str
    meta: dict
    blurhash: str


@dataclass
class Animated:
    """The upload is an animated GIF: it goes to the video pipeline as gifv."""

    frames: int


def fitted(width: int, height: int, max_pixels: int) -> tuple[int, int]:
    """The size that keeps the aspect and has at most max_pixels (never larger than the input)."""
    if width * height <= max_pixels:
        return width, height
    scale = math.sqrt(max_pixels / (width * height))
    return max(1, int(width * scale)), max(1, int(height * scale))


def size_meta(width: int, height: int) -> dict:
    """The {width, height, size, aspect} part of a MediaAttachment's meta."""
    return {"width": width, "height": height, "size": f"{width}x{height}", "aspect": round(width / height, 6) if height else 1}


def open_checked(data: bytes) -> Image.Image:
    """Open an image lazily and refuse it by its header's dimensions, before any pixel is decoded."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # refused just below, with its size
            im = Image.open(io.BytesIO(data))
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise MediaError(f"Validation failed: File could not be read as an image ({exc.__class__.__name__})") from None
    except Image.DecompressionBombError:
        raise MediaError(f"Validation failed: Image dimensions are too large (maximum is {IMAGE_MATRIX_LIMIT} pixels)") from None
    width, height = im.size
    if width * height > IMAGE_MATRIX_LIMIT:
        raise MediaError(f"Validation failed: Image dimensions are too large ({width}x{height}, maximum is "
                         f"{IMAGE_MATRIX_LIMIT} pixels)")
    if width < 1 or height < 1:
        raise MediaError("Validation failed: Image has no pixels")
    return im


def _encode(im: Image.Image, fmt: str, icc: bytes | None) -> bytes:
    out = io.BytesIO()
    options: dict = {}
    if icc:
        options["icc_profile"] = icc  # the colour profile is the one piece of metadata that stays
    if fmt == "JPEG":
        if im.mode != "RGB":
            im = im.convert("RGB")
        options.update(quality=JPEG_QUALITY)
    elif fmt == "WEBP":
        if im.mode not in ("RGB", "RGBA"):
            im = im.convert("RGBA" if "A" in im.getbands() or "transparency" in im.info else "RGB")
        options.update(quality=JPEG_QUALITY)
    elif fmt == "PNG" and im.mode not in ("1", "L", "LA", "P", "RGB", "RGBA", "I;16"):
        im = im.convert("RGBA")
    im.save(out, fmt, **options)
    return out.getvalue()


def image_blurhash(im: Image.Image) -> str:
    """The 4x4-component blurhash of an image (computed on a copy shrunk to BLURHASH_SIDE px)."""
    import numpy as np  # here, not at the top: every CLI command imports this module, few hash an image
    rgb = im.convert("RGB")
    rgb.thumbnail((BLURHASH_SIDE, BLURHASH_SIDE), Image.Resampling.BOX)
    return blurhash.encode(np.asarray(rgb, dtype=np.uint8).tolist(), components_x=4, components_y=4)


def process_image(data: bytes) -> ProcessedImage | Animated:
    """Turn an uploaded image into its stored files; raise MediaError for anything that is not a safe image."""
    im = open_checked(data)
    if im.format == "GIF" and getattr(im, "n_frames", 1) > 1:
        return Animated(im.n_frames)
    fmt = _OUTPUT.get(im.format or "")
    if fmt is None:
        raise MediaError(f"Validation failed: Image format {im.format} is not supported")
    icc = im.info.get("icc_profile")
    orientation = im.getexif().get(0x0112, 1)
    try:
        im.load()
        # Shrink first, then apply the EXIF orientation to the pixels (cheaper on fewer of them); dropping
        # EXIF afterwards loses nothing. The pixel count is the same either way round.
        width, height = fitted(*im.size, ORIGINAL_PIXELS)
        if (width, height) != im.size:
            im = im.resize((width, height), Image.Resampling.BICUBIC)
        if orientation != 1:
            im.getexif()[0x0112] = orientation
            im = ImageOps.exif_transpose(im)
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        raise MediaError(f"Validation failed: Image file is damaged or truncated ({exc})") from None
    if im.mode == "P" and fmt != "PNG":
        im = im.convert("RGBA" if "transparency" in im.info else "RGB")
    if im.mode in ("CMYK", "YCbCr", "I", "F") and fmt != "PNG":
        im = im.convert("RGB")
    width, height = im.size
    small = im.resize(fitted(width, height, SMALL_PIXELS), Image.Resampling.LANCZOS, reducing_gap=2.0) \
        if width * height > SMALL_PIXELS else im
    ext, mime = EXTENSIONS[fmt]
    return ProcessedImage(
        original=_encode(im, fmt, icc), small=_encode(small, fmt, icc), ext=ext, mime=mime,
        meta={"original": size_meta(width, height), "small": size_meta(*small.size)},
        blurhash=image_blurhash(small))


def preview_from_frame(im: Image.Image, max_side: int = 640) -> tuple[bytes, dict, str]:
    """A JPEG preview of a video frame (longest side at most max_side), its size meta and blurhash."""
    im = im.convert("RGB")
    im.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    return _encode(im, "JPEG", None), size_meta(*im.size), image_blurhash(im)


def process_thumbnail(data: bytes) -> tuple[bytes, str, str, dict]:
    """A custom preview image: (bytes, extension, MIME type, size meta), at most SMALL_PIXELS."""
    result = process_image(data)
    if isinstance(result, Animated):
        im = open_checked(data)
        im.seek(0)
        jpeg, meta, _ = preview_from_frame(im.copy(), 640)
        return jpeg, "jpg", "image/jpeg", meta
    return result.small, result.ext, result.mime, result.meta["small"]
