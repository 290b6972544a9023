"""The attack suite on a real photo: deterministic, right sizes, and really edited."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from lookalike.evaluate.attacks import ATTACKS, FAMILIES, SEVERITIES, apply_attack


@pytest.fixture(scope="module")
def photo(sample_photos: list[Path]) -> Image.Image:
    with Image.open(sample_photos[0]) as im:
        return im.convert("RGB").resize((240, 150))


def test_families_cover_the_suite() -> None:
    assert set(FAMILIES["mild"]) | set(FAMILIES["geometric"]) == set(ATTACKS)
    assert {"crop", "rotate90", "rotate", "flip", "paste"} <= set(FAMILIES["geometric"])
    assert {"jpeg", "scale", "colour", "blur", "noise", "caption"} <= set(FAMILIES["mild"])


@pytest.mark.parametrize("name", list(ATTACKS))
def test_attack_is_deterministic_and_edits(photo: Image.Image, name: str) -> None:
    for sev in SEVERITIES:
        a = apply_attack(photo, name, sev, seed=3)
        b = apply_attack(photo, name, sev, seed=3)
        assert a.mode == "RGB"
        assert np.array_equal(np.asarray(a), np.asarray(b)), (name, sev)
        same_size = a.size == photo.size
        assert not (same_size and np.array_equal(np.asarray(a), np.asarray(photo))), (name, sev)


def test_seed_changes_random_choices(photo: Image.Image) -> None:
    a = np.asarray(apply_attack(photo, "paste", "strong", seed=1))
    b = np.asarray(apply_attack(photo, "paste", "strong", seed=2))
    assert not np.array_equal(a, b)


def test_geometry_of_attacks(photo: Image.Image) -> None:
    w, h = photo.size
    assert apply_attack(photo, "scale", "medium").size == (60, 38)
    assert apply_attack(photo, "crop", "strong").size == (120, 75)  # half of each side
    assert apply_attack(photo, "rotate90", "medium").size == (h, w)
    assert apply_attack(photo, "border", "mild").size == (w + 2 * 8, h + 2 * 8)
    assert apply_attack(photo, "paste", "mild").size == (w, h)
    stretched = apply_attack(photo, "aspect", "strong").size
    assert stretched in ((round(w * 1.7), h), (w, round(h * 1.7)))
    mirror = np.asarray(apply_attack(photo, "flip", "mild"))
    assert np.array_equal(mirror, np.asarray(photo)[:, ::-1])
    upside = np.asarray(apply_attack(photo, "rotate90", "mild"))
    assert np.array_equal(upside, np.asarray(photo)[::-1, ::-1])


def test_severity_orders_the_damage(photo: Image.Image) -> None:
    ref = np.asarray(photo, dtype=float)
    err = [np.abs(np.asarray(apply_attack(photo, "noise", s)) - ref).mean() for s in SEVERITIES]
    assert err[0] < err[1] < err[2]


def test_unknown_attack_or_severity(photo: Image.Image) -> None:
    with pytest.raises(ValueError, match="unknown attack"):
        apply_attack(photo, "sharpen")
    with pytest.raises(ValueError, match="unknown severity"):
        apply_attack(photo, "jpeg", "extreme")  # type: ignore[arg-type]


def test_each_source_gets_its_own_host_and_window(sample_photos, tmp_path) -> None:
    """eval make draws every source's pastes and screenshots from its own seed: with one
    seed for all, the pasted copies of different photos shared one host picture (84% of
    their pixels at 40% size), and dupes rightly grouped them, as false pairs."""
    from lookalike import phash
    from lookalike.evaluate.dataset import load_benchmark, make_benchmark

    photos = tmp_path / "photos"
    photos.mkdir()
    for p in sample_photos[:3]:
        (photos / p.name).write_bytes(p.read_bytes())
    out = tmp_path / "bench"
    make_benchmark(photos, out, attacks=["paste", "screenshot"], severities=("strong",))
    bench = load_benchmark(out)
    for attack in ("paste", "screenshot"):
        queries = [out / q for q, a in zip(bench.queries, bench.attack, strict=True) if a == attack]
        assert len(queries) == 3
        codes = [phash(q) for q in queries]
        assert min(a - b for i, a in enumerate(codes) for b in codes[i + 1 :]) > 10, attack
    again = tmp_path / "again"
    make_benchmark(photos, again, attacks=["paste"], severities=("strong",))
    for q in (out / "queries").glob("*paste*"):  # still deterministic
        assert (again / "queries" / q.name).read_bytes() == q.read_bytes()
