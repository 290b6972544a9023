"""`lookalike eval make / run / pairs` end to end on the committed sample photos."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import spearmanr

from lookalike.cli import main
from lookalike.comparison import compare
from lookalike.evaluate.dataset import load_benchmark
from lookalike.evaluate.metrics import micro_ap

ATTACKS = "jpeg,blur,crop,flip,paste"


@pytest.fixture(scope="module")
def bench(tmp_path_factory: pytest.TempPathFactory, sample_photos: list[Path]) -> Path:
    photos = tmp_path_factory.mktemp("photos")
    for p in sample_photos:
        shutil.copy(p, photos / p.name)
    out = tmp_path_factory.mktemp("bench")
    argv = ["eval", "make", str(photos), "--out", str(out), "--attacks", ATTACKS,
            "--severities", "mild,strong", "--distractors", "2", "--seed", "7"]  # fmt: skip
    assert main(argv) == 0
    return out


def test_make_writes_references_queries_and_ground_truth(bench: Path) -> None:
    with (bench / "ground_truth.csv").open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0])[:4] == ["query", "reference", "attack", "severity"]
    assert len(rows) == 6 * 5 * 2  # 8 photos - 2 distractors, 5 attacks, 2 severities
    refs = sorted(p.name for p in (bench / "references").iterdir())
    assert len(refs) == 8  # sources and distractors
    used = {Path(r["reference"]).name for r in rows}
    assert len(used) == 6  # the distractors have no query
    for r in rows:
        assert (bench / r["query"]).is_file() and (bench / r["reference"]).is_file()
        assert r["family"] == ("geometric" if r["attack"] in ("crop", "flip", "paste") else "mild")


def test_make_is_deterministic(bench: Path, tmp_path: Path, sample_photos: list[Path]) -> None:
    photos = tmp_path / "photos"
    photos.mkdir()
    for p in sample_photos:
        shutil.copy(p, photos / p.name)
    argv = ["eval", "make", str(photos), "--out", str(tmp_path / "b"), "--attacks", "paste",
            "--severities", "strong", "--distractors", "2", "--seed", "7"]  # fmt: skip
    assert main(argv) == 0
    again = sorted((tmp_path / "b" / "queries").iterdir())
    assert again
    for q in again:
        assert q.read_bytes() == (bench / "queries" / q.name).read_bytes()


def test_run_reports_metrics(bench: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "res"
    argv = ["eval", "run", str(bench), "--methods", "phash,color,ssim", "--out", str(out),
            "--json", "--candidates", "2"]  # fmt: skip
    assert main(argv) == 0
    report = json.loads(capsys.readouterr().out)
    methods = report["methods"]
    assert set(methods) == {"phash", "color", "ssim", "cascade"}
    for r in methods.values():
        assert 0.0 <= r["uap"] <= 1.0 and 0.0 <= r["recall_at_p99"] <= 1.0
        assert set(r["per_attack"]) == set(ATTACKS.split(","))
        assert set(r["families"]) == {"mild", "geometric"}
    # pHash survives recompression and blur but not mirror images
    ph = methods["phash"]
    assert ph["per_attack"]["jpeg"]["recall"] == 1.0
    assert ph["families"]["mild"]["uap"] > 0.9
    assert ph["per_attack"]["flip"]["uap"] < 0.5
    assert methods["ssim"]["scoring"] == "candidates"
    assert (out / "results.md").read_text().startswith("# Evaluation")
    assert json.loads((out / "results.json").read_text())["methods"]["phash"] == ph
    try:
        import matplotlib  # noqa: F401  (optional: the `eval` extra)

        plotted = True
    except ImportError:
        plotted = False
    assert (out / "pr_curves.png").is_file() == plotted
    assert (out / "recall_per_attack.png").is_file() == plotted

    # the pHash µAP agrees with one computed from `compare` pair by pair
    b = load_benchmark(bench)
    sims = np.array(
        [[compare(bench / q, bench / r, ["phash"]).scores["phash"].similarity
          for r in b.references] for q in b.queries]
    )  # fmt: skip
    assert ph["uap"] == pytest.approx(micro_ap(sims.ravel(), b.labels().ravel(), b.n_positives))


def test_run_bad_usage(bench: Path, tmp_path: Path) -> None:
    assert main(["eval", "run", str(tmp_path)]) == 2  # no ground truth
    assert main(["eval", "run", str(bench), "--methods", "nope"]) == 2


def test_pairs_spearman(
    tmp_path: Path, sample_photos: list[Path], capsys: pytest.CaptureFixture
) -> None:
    from PIL import Image

    a, b, c = sample_photos[:3]
    for p in (a, b, c):
        shutil.copy(p, tmp_path / p.name)
    with Image.open(a) as im:
        im.convert("RGB").save(tmp_path / "a_q20.jpg", quality=20)
        im.convert("RGB").crop((0, 0, im.width * 3 // 4, im.height)).save(tmp_path / "a_crop.jpg")
    rows = [(a.name, a.name, 5), (a.name, "a_q20.jpg", 4), (a.name, "a_crop.jpg", 3),
            (a.name, b.name, 1), (b.name, c.name, 1), (a.name, c.name, 1)]  # fmt: skip
    with (tmp_path / "ratings.csv").open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["a", "b", "rating"])
        w.writerows(rows)
    assert main(["eval", "pairs", str(tmp_path / "ratings.csv"), "--methods", "phash,color",
                 "--json"]) == 0  # fmt: skip
    res = json.loads(capsys.readouterr().out)
    assert res["pairs"] == 6
    for name in ("phash", "color"):
        sims = res["methods"][name]["similarity"]
        expect = [compare(tmp_path / x, tmp_path / y, ["phash", "color"]).scores[name].similarity
                  for x, y, _ in rows]  # fmt: skip
        np.testing.assert_allclose(sims, expect, atol=1e-9)
        rho = spearmanr(sims, [r for *_, r in rows]).statistic
        assert res["methods"][name]["spearman"] == pytest.approx(rho)
    assert res["methods"]["phash"]["spearman"] > 0.5


def test_make_with_real_variants(tmp_path: Path, sample_photos: list[Path]) -> None:
    from PIL import Image, ImageEnhance

    from lookalike.evaluate.runner import evaluate_scores

    photos, variants = tmp_path / "photos", tmp_path / "variants"
    photos.mkdir()
    variants.mkdir()
    for p in sample_photos[:3]:
        shutil.copy(p, photos / p.name)
    stem = sample_photos[0].stem
    with Image.open(sample_photos[0]) as im:
        rgb = im.convert("RGB")
        rgb.resize((240, rgb.height * 240 // rgb.width)).save(variants / f"{stem}__240x150.jpg")
        rgb.crop((0, 0, rgb.height, rgb.height)).save(variants / f"{stem}__300x300.jpg")
        ImageEnhance.Brightness(rgb).enhance(0.3).save(variants / f"{stem}__dark.jpg")
    (variants / "Unknown__dark.jpg").write_bytes((variants / f"{stem}__dark.jpg").read_bytes())
    argv = ["eval", "make", str(photos), "--out", str(tmp_path / "b"), "--attacks", "none",
            "--variants", str(variants)]  # fmt: skip
    assert main(argv) == 0
    b = load_benchmark(tmp_path / "b")
    kinds = dict(zip(b.queries, zip(b.attack, b.positive.tolist(), strict=True), strict=True))
    assert kinds == {
        f"queries/{stem}__240x150.jpg": ("resize", True),
        f"queries/{stem}__300x300.jpg": ("reframe", True),
        f"queries/{stem}__dark.jpg": ("dark", False),
    }
    assert b.n_positives == 2 and b.labels().sum() == 2
    # a similarity matrix that ranks the dark look-alike above a copy: it is a hard negative
    sims = np.zeros((3, 3))
    sims[0, b.reference_of[0]] = 0.9
    sims[1, b.reference_of[1]] = 0.5
    sims[2, b.reference_of[2]] = 0.7
    res = evaluate_scores(b, sims, 0.6)
    assert res["hard_negatives"]["n"] == 1 and res["hard_negatives"]["above_default"] == 1
    assert res["uap"] == pytest.approx((1 + 2 / 3) / 2)
