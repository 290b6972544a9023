"""Rotated copies on an expanded canvas: the turn is found from the corner triangles, and
the straightened picture is the original again; pictures that are not turned are left
alone."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageOps

from lookalike.methods.regions import trim
from lookalike.methods.rotated_frame import RotatedFrame, find_rotated_frame, straighten

SAMPLES = Path(__file__).resolve().parents[2] / "samples"
PHOTOS = sorted(SAMPLES.glob("*.jpg"))


def _turned(path: Path, angle: float, fill: int, expand: bool = True) -> np.ndarray:
    """The photo turned by ``angle`` degrees on an expanded canvas (or, ``expand=False``,
    cut to its own size) filled with ``fill``, saved as JPEG 90 and read back in grey, as
    an editor's rotated copy arrives."""
    im = Image.open(path).convert("RGB")
    im.thumbnail((800, 800))
    turned = im.rotate(
        angle, resample=Image.Resampling.BILINEAR, expand=expand, fillcolor=(fill,) * 3
    )
    buf = io.BytesIO()
    turned.save(buf, "JPEG", quality=90)
    return np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("L"))


@pytest.mark.parametrize("angle", [3.0, -8.0, 20.0])
@pytest.mark.parametrize("fill", [0, 255])
def test_the_turn_of_every_sample_is_found(angle: float, fill: int) -> None:
    for path in PHOTOS:
        frame = find_rotated_frame(_turned(path, angle, fill))
        assert frame is not None, path.name
        assert frame.angle == pytest.approx(angle, abs=0.4), path.name


@pytest.mark.parametrize("angle", [8.0, -20.0])
@pytest.mark.parametrize("fill", [0, 255])
def test_the_turn_of_a_copy_cut_to_its_own_size_is_found(angle: float, fill: int) -> None:
    for path in PHOTOS:
        if (path.name, angle, fill) == ("MilkyWay.jpg", 8.0, 0):
            continue  # its cut corners are night sky as black as the fill: no edge to see
        frame = find_rotated_frame(_turned(path, angle, fill, expand=False))
        assert frame is not None, path.name
        assert frame.kept, path.name
        assert frame.angle == pytest.approx(angle, abs=0.5), path.name


def test_a_cut_copy_straightens_to_the_originals_centre() -> None:
    path = SAMPLES / "Kite.jpg"
    grey = _turned(path, 8.0, 0, expand=False)
    frame = find_rotated_frame(grey)
    assert frame is not None and frame.kept
    left, top, width, height = frame.view
    assert left > 0 and top > 0 and width < frame.width and height < frame.height
    original = Image.open(path).convert("L")
    original.thumbnail((800, 800))
    box = (round(left), round(top), round(left + width), round(top + height))
    centre = original.crop(box)
    back = Image.fromarray(straighten(grey, frame)).resize(centre.size)
    a = np.asarray(back, np.float64)[8:-8, 8:-8]
    b = np.asarray(centre, np.float64)[8:-8, 8:-8]
    assert np.corrcoef(a.ravel(), b.ravel())[0, 1] > 0.95


def test_the_straightened_picture_is_the_original() -> None:
    path = SAMPLES / "Kite.jpg"
    grey = _turned(path, -8.0, 255)
    frame = find_rotated_frame(grey)
    assert frame is not None
    original = Image.open(path).convert("L")
    original.thumbnail((800, 800))
    assert abs(frame.width - original.width) <= 3 and abs(frame.height - original.height) <= 3
    back = straighten(grey, frame)
    size = (original.width, original.height)
    a = np.asarray(Image.fromarray(back).resize(size), np.float64)[8:-8, 8:-8]
    b = np.asarray(original, np.float64)[8:-8, 8:-8]
    assert np.corrcoef(a.ravel(), b.ravel())[0, 1] > 0.95


def test_the_trimmed_view_is_the_straightened_picture() -> None:
    grey = Image.fromarray(_turned(SAMPLES / "Path.jpg", 8.0, 0))
    trimmed = trim(grey)
    frame = find_rotated_frame(np.asarray(grey))
    assert frame is not None
    assert trimmed.size == (int(frame.width), int(frame.height))


def test_pictures_that_are_not_turned_have_no_frame() -> None:
    for path in PHOTOS:
        grey = Image.open(path).convert("L")
        assert find_rotated_frame(np.asarray(grey)) is None, path.name
        # a uniform border all round is a frame, but not a turned one
        framed = ImageOps.expand(grey, border=grey.width // 10, fill=255)
        assert find_rotated_frame(np.asarray(framed)) is None, path.name


def test_a_frame_maps_canvas_corners_to_picture_corners() -> None:
    frame = RotatedFrame.of(10.0, (300, 400))
    to_picture = frame.to_picture((300, 400))
    centre = to_picture @ np.array([200.0, 150.0, 1.0])
    assert centre[:2] == pytest.approx([frame.width / 2, frame.height / 2])
    # the canvas is the picture's bounding box: the turned picture touches all four sides
    t = np.radians(10.0)
    assert frame.width * np.cos(t) + frame.height * np.sin(t) == pytest.approx(400.0)
    assert frame.width * np.sin(t) + frame.height * np.cos(t) == pytest.approx(300.0)


def test_hostile_arrays_have_no_frame_and_cost_a_bounded_search() -> None:
    rng = np.random.default_rng(0)
    huge_flat = np.full((6000, 9000), 255, np.uint8)  # shrunk to 256 px before any search
    one_dot = np.full((300, 400), 0, np.uint8)
    one_dot[150, 200] = 255
    for grey in (
        huge_flat,
        one_dot,
        np.zeros((1, 500), np.uint8),
        np.zeros((63, 63), np.uint8),
        rng.integers(0, 256, (300, 400), dtype=np.uint8),
        np.zeros((40, 40, 3), np.uint8),  # not grey
    ):
        assert find_rotated_frame(grey) is None, grey.shape
