"""The embed layer in the matching engine: candidates it adds, and pairs it decides
"different" before keypoints are spent on them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("onnxruntime", reason="the embed layer needs onnxruntime")

from lookalike.evaluate.attacks import apply_attack
from lookalike.features import extract_features
from lookalike.match import engine
from lookalike.match.cascade import DEFAULT_LAYERS


@pytest.fixture(scope="module")
def folder(sample_photos: list[Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("embed-layer")
    for k, p in enumerate(sample_photos):
        im = Image.open(p).convert("RGB")
        im.save(out / f"{k}.jpg", quality=90)
        for attack in ("crop", "border", "rotate"):
            apply_attack(im, attack, "medium").save(out / f"{k}__{attack}.jpg", quality=90)
    return out


def _source(path: str) -> str:
    return Path(path).stem.partition("__")[0]


def test_far_pairs_skip_keypoints_and_every_copy_is_still_found(folder: Path) -> None:
    paths = sorted(str(p) for p in folder.iterdir())
    plain = engine.layer_methods(DEFAULT_LAYERS)
    learned = engine.layer_methods([*DEFAULT_LAYERS, "embed"])
    fs = extract_features(paths, learned)
    digests = {p: p for p in fs.paths}  # distinct files: no byte duplicates
    without = engine.match_features(fs, plain, digests)
    with_embed = engine.match_features(fs, learned, digests)

    def pairs(m: engine.Matches) -> set[tuple[str, str]]:
        return {(fs.paths[i], fs.paths[j]) for i, j in zip(m.i.tolist(), m.j.tolist())}

    # each copy with its original (copy against copy is not asked: two edits compound)
    originals = [p for p in fs.paths if "__" not in Path(p).name]
    copies = [p for p in fs.paths if "__" in Path(p).name]
    truth = {(min(o, c), max(o, c)) for o in originals for c in copies if _source(o) == _source(c)}
    assert truth <= pairs(with_embed) and truth <= pairs(without)
    assert not {(a, b) for a, b in pairs(with_embed) if _source(a) != _source(b)}
    # the learned layer proposed more pairs, and decided some without keypoints
    assert with_embed.layer_counts["candidates"] > without.layer_counts["candidates"]
    assert with_embed.layer_counts.get("embed far", 0) > 0
    sims = fs.features["embed"] @ fs.features["embed"].T
    far = np.argwhere(np.triu(sims < engine.EMBED_DIFFERENT, 1))
    assert all(_source(fs.paths[i]) != _source(fs.paths[j]) for i, j in far)
