"""Type sniffing and image processing on real bytes made here: formats, bombs, damage, sizes."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from tests.media_fixtures import animated_gif, jpeg_with_gps, png, png_bomb, video, wav
from townsquare.media.errors import MediaError
from townsquare.media.images import Animated, fitted, process_image
from townsquare.media.sniff import sniff


def _encoded(fmt: str, mode: str = "RGB", size=(300, 200)) -> bytes:
    out = io.BytesIO()
    Image.new(mode, size, (30, 60, 90)).save(out, fmt)
    return out.getvalue()


def test_sniffing_reads_the_bytes():
    assert sniff(jpeg_with_gps(32, 32)[:64]).mime == "image/jpeg"
    assert sniff(png()[:64]).mime == "image/png"
    assert sniff(animated_gif()[:64]).mime == "image/gif"
    assert sniff(_encoded("WEBP")[:64]).mime == "image/webp"
    assert sniff(_encoded("AVIF")[:64]).mime == "image/avif"
    assert sniff(video()[:64]).mime == "video/webm"
    assert sniff(video("libx264", "mp4", audio="aac")[:64]).kind == "av"
    assert sniff(wav()[:64]).mime == "audio/wave"
    for junk in (b"", b"<?php echo 1; ?>", b"#!/bin/sh\n", b"<svg xmlns='http://www.w3.org/2000/svg'/>", b"%PDF-1.7"):
        assert sniff(junk) is None


@pytest.mark.parametrize("fmt,expected", [("PNG", "image/png"), ("WEBP", "image/webp"), ("AVIF", "image/jpeg"),
                                          ("GIF", "image/png"), ("JPEG", "image/jpeg")])
def test_formats_become_what_browsers_show(fmt, expected):
    result = process_image(_encoded(fmt))
    assert result.mime == expected
    assert Image.open(io.BytesIO(result.original)).size == (300, 200)


def test_colour_profile_is_the_only_metadata_kept():
    from PIL import ImageCms

    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    out = io.BytesIO()
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"
    Image.new("RGB", (50, 40)).save(out, "JPEG", icc_profile=icc, exif=exif)
    stored = Image.open(io.BytesIO(process_image(out.getvalue()).original))
    assert stored.info.get("icc_profile") == icc and dict(stored.getexif()) == {}


def test_bombs_are_refused_from_the_header():
    with pytest.raises(MediaError) as err:
        process_image(png_bomb(40_000))
    assert err.value.status == 422 and "too large" in err.value.error
    with pytest.raises(MediaError):
        process_image(png_bomb(5_800))  # 33.6 MP: just over the limit


def test_damaged_images_are_refused():
    data = jpeg_with_gps(200, 200)
    for broken in (data[:300], data[: len(data) - 400], png()[:40]):
        with pytest.raises(MediaError):
            process_image(broken)


def test_sizes_shrink_only_and_keep_the_aspect():
    assert fitted(640, 360, 230_400) == (640, 360)
    w, h = fitted(7680, 4320, 8_294_400)
    assert w * h <= 8_294_400 and abs(w / h - 16 / 9) < 0.01
    assert fitted(100, 50, 230_400) == (100, 50)
    assert isinstance(process_image(animated_gif()), Animated)
