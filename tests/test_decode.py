"""The loader: every mode and format it must read, and every bad input it must refuse clearly."""

from __future__ import annotations

import io
import shutil
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from lookalike.decode import SIZE_KEY, load, load_raw, probe
from lookalike.errors import DecodeError


@pytest.fixture
def photo(sample_photos: list[Path]) -> Image.Image:
    return Image.open(sample_photos[0]).convert("RGB")


def _save(im: Image.Image, path: Path, **kw: object) -> Path:
    im.save(path, **kw)
    return path


def test_zero_byte_file_is_refused_with_its_name(tmp_path: Path) -> None:
    p = tmp_path / "empty.jpg"
    p.write_bytes(b"")
    with pytest.raises(DecodeError, match="empty file") as info:
        load(p)
    assert info.value.source == str(p)


def test_truncated_jpeg_is_refused(tmp_path: Path, sample_photos: list[Path]) -> None:
    data = sample_photos[0].read_bytes()
    p = tmp_path / "cut.jpg"
    p.write_bytes(data[: len(data) // 2])
    with pytest.raises(DecodeError, match="truncated"):
        load(p)


def test_text_named_jpg_is_not_an_image(tmp_path: Path) -> None:
    p = tmp_path / "notes.jpg"
    p.write_text("these are notes, not pixels\n")
    with pytest.raises(DecodeError, match="not an image: the content is text"):
        load(p)


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG that declares a huge size but holds almost nothing (a decompression bomb)."""

    def chunk(kind: bytes, payload: bytes) -> bytes:
        body = kind + payload
        return struct.pack(">I", len(payload)) + body + struct.pack(">I", zlib.crc32(body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 1024)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def test_png_bomb_is_refused_before_decoding(tmp_path: Path) -> None:
    p = tmp_path / "bomb.png"
    p.write_bytes(_png_header_only(30000, 30000))
    with pytest.raises(DecodeError, match="too large: 900 MP exceeds the limit"):
        load(p)
    with pytest.raises(DecodeError, match="decompression bomb"):
        load_raw(p)


def test_animated_gif_gives_its_first_frame(tmp_path: Path) -> None:
    frames = [Image.new("RGB", (40, 30), c) for c in ("red", "blue", "green")]
    p = tmp_path / "anim.gif"
    frames[0].save(p, save_all=True, append_images=frames[1:], duration=100, loop=0)
    assert probe(p).frames == 3
    im = load(p)
    assert im.mode == "RGB" and im.size == (40, 30)
    assert im.getpixel((5, 5))[0] > 200 and im.getpixel((5, 5))[2] < 50  # red, frame 0


def test_cmyk_jpeg_is_converted(tmp_path: Path, photo: Image.Image) -> None:
    p = _save(photo.convert("CMYK"), tmp_path / "cmyk.jpg", quality=95)
    im = load(p)
    assert im.mode == "RGB"
    diff = np.abs(np.asarray(im, float) - np.asarray(photo, float)).mean()
    assert diff < 12, diff


def test_16bit_png_is_scaled_not_clipped(tmp_path: Path) -> None:
    ramp = (np.linspace(0, 65535, 256)[None, :].repeat(16, 0)).astype(np.uint16)
    p = tmp_path / "deep.png"
    Image.fromarray(ramp).save(p)
    assert Image.open(p).mode.startswith("I")
    grey = np.asarray(load(p, mode="L"))
    assert grey[0, 0] == 0 and grey[0, -1] == 255
    assert 120 <= grey[0, 128] <= 135  # mid-grey, not clipped to 255


def test_one_by_one_image(tmp_path: Path) -> None:
    p = _save(Image.new("RGB", (1, 1), (10, 200, 30)), tmp_path / "dot.png")
    im = load(p)
    assert im.size == (1, 1) and im.getpixel((0, 0)) == (10, 200, 30)


def test_palette_png_with_transparency_lands_on_white(tmp_path: Path) -> None:
    im = Image.new("P", (20, 20), 0)
    im.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)
    im.paste(1, (10, 0, 20, 20))
    im.info["transparency"] = 0
    p = tmp_path / "pal.png"
    im.save(p, transparency=0)
    out = load(p)
    assert out.getpixel((2, 2)) == (255, 255, 255)  # transparent -> white
    assert out.getpixel((15, 2)) == (255, 0, 0)


@pytest.mark.parametrize("mode", ["RGBA", "LA"])
def test_alpha_is_composited_on_white(tmp_path: Path, mode: str) -> None:
    im = Image.new(mode, (10, 10), (0, 0, 0, 0) if mode == "RGBA" else (0, 0))
    p = _save(im, tmp_path / f"alpha_{mode}.png")
    assert load(p).getpixel((5, 5)) == (255, 255, 255)


def test_one_bit_image(tmp_path: Path) -> None:
    im = Image.new("1", (16, 8), 0)
    im.paste(1, (8, 0, 16, 8))
    p = _save(im, tmp_path / "bits.png")
    grey = np.asarray(load(p, mode="L"))
    assert grey[0, 0] == 0 and grey[0, 15] == 255


def test_chinese_file_name(tmp_path: Path, sample_photos: list[Path]) -> None:
    folder = tmp_path / "图片"
    folder.mkdir()
    p = folder / "相似图片搜索.jpg"
    shutil.copy(sample_photos[0], p)
    assert load(p).size == Image.open(sample_photos[0]).size
    bad = folder / "损坏.jpg"
    bad.write_bytes(b"")
    with pytest.raises(DecodeError) as info:
        load(bad)
    assert "损坏.jpg" in str(info.value)


def test_exif_orientation_is_applied(tmp_path: Path, photo: Image.Image) -> None:
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    p = tmp_path / "rotated.jpg"
    photo.save(p, exif=exif.tobytes())
    w, h = photo.size
    im = load(p)
    assert im.size == (h, w)
    assert im.info[SIZE_KEY] == (h, w)
    assert load_raw(p).size == (w, h)  # imagehash sees the file unrotated


@pytest.mark.parametrize("fmt", ["PNG", "GIF", "BMP", "TIFF", "WEBP", "ICO"])
def test_formats_are_recognised_by_content(tmp_path: Path, photo: Image.Image, fmt: str) -> None:
    small = photo.resize((64, 40))
    p = tmp_path / "no_extension"
    small.save(p, format=fmt)
    im = load(p)
    assert im.mode == "RGB"
    if fmt != "ICO":
        assert im.size == (64, 40)


def test_heic_needs_the_optional_plugin_or_reads(tmp_path: Path, photo: Image.Image) -> None:
    pillow_heif = pytest.importorskip("pillow_heif")
    pillow_heif.register_heif_opener()
    p = tmp_path / "photo.heic"
    try:
        photo.save(p, format="HEIF", quality=90)
    except Exception as exc:  # this libheif build may lack an encoder
        pytest.skip(f"pillow-heif cannot encode here: {exc}")
    assert load(p).size == photo.size


def test_bytes_and_file_objects(sample_photos: list[Path]) -> None:
    data = sample_photos[0].read_bytes()
    assert load(data).size == load(io.BytesIO(data)).size == load(sample_photos[0]).size
    with pytest.raises(DecodeError, match="<bytes>: not an image"):
        load(b"\x00\x01garbage" * 10)


def test_draft_decoding_gives_at_least_the_requested_size(sample_photos: list[Path]) -> None:
    full = load(sample_photos[0])
    small = load(sample_photos[0], min_size=64)
    assert min(small.size) >= 64
    assert small.size[0] < full.size[0]
    assert small.info[SIZE_KEY] == full.size  # the original size is kept for aspect checks


def test_missing_file_and_directory(tmp_path: Path) -> None:
    with pytest.raises(DecodeError, match="no such file"):
        load(tmp_path / "nope.jpg")
    with pytest.raises(DecodeError, match="directory"):
        load(tmp_path)
