"""The shipped copy-detection model: what the package holds, what it finds among the sample
photos, and the engine's embed candidates."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("onnxruntime", reason="the embed method needs onnxruntime")

from lookalike.evaluate.attacks import apply_attack
from lookalike.features import extract_features
from lookalike.match.engine import candidate_pairs, layer_methods
from lookalike.methods import get_method
from lookalike.methods.embed import Embed
from lookalike.models import default_card, default_model, default_weights

ATTACKS = ("corner", "paste", "screenshot", "rotate", "crop")


def test_the_package_ships_a_small_model_with_measured_thresholds() -> None:
    model, weights = default_model(), default_weights()
    assert model and weights
    assert os.path.getsize(model) + os.path.getsize(weights) <= 10 * 2**20
    card = default_card()
    method = get_method("embed")
    assert isinstance(method, Embed) and method.model == model
    assert method.thresholds.similar == card["thresholds"]["similar"]
    assert (method.height, method.width, method.dimensions) == (160, 160, 256)
    assert card["training"]["recipe"]["steps_run"] > 1000


@pytest.mark.parametrize("attack", ATTACKS)
def test_edited_copies_find_their_photo_first(sample_photos: list[Path], attack: str) -> None:
    """Each sample photo, edited (medium severity), is nearest to its own original."""
    method = Embed()
    photos = [Image.open(p).convert("RGB") for p in sample_photos]
    refs = method.compute([method.prepare(im) for im in photos])
    edits = method.compute([method.prepare(apply_attack(im, attack, "medium")) for im in photos])
    sims = edits @ refs.T
    assert (sims.argmax(axis=1) == np.arange(len(photos))).all(), np.round(sims, 2)


def test_distinct_photos_stay_below_the_similar_threshold(sample_photos: list[Path]) -> None:
    method = Embed()
    v = method.compute([method.prepare(Image.open(p)) for p in sample_photos])
    others = (v @ v.T)[np.triu_indices(len(v), 1)]
    assert others.max() < method.thresholds.similar


def test_the_engine_proposes_crops_and_pastes_through_embed(
    sample_photos: list[Path], tmp_path: Path
) -> None:
    """Corner crops (55% of each side) and pastes (medium): the hashes and region codes miss
    some; with the embed layer every (copy, photo) pair is a candidate."""
    paths = []
    for k, p in enumerate(sample_photos):
        im = Image.open(p).convert("RGB")
        for attack in ("corner", "paste"):
            q = tmp_path / f"{k}-{attack}.jpg"
            apply_attack(im, attack, "medium").save(q, quality=90)
            paths.append(str(q))
        ref = tmp_path / f"{k}.jpg"
        im.save(ref, quality=90)
        paths.append(str(ref))
    methods = layer_methods(["phash8", "embed"])
    fs = extract_features(paths, methods)
    n = len(fs.paths)
    index = {Path(p).name: i for i, p in enumerate(fs.paths)}
    truth = {
        min(index[f"{k}-{a}.jpg"], index[f"{k}.jpg"]) * n
        + max(index[f"{k}-{a}.jpg"], index[f"{k}.jpg"])
        for k in range(len(sample_photos))
        for a in ("corner", "paste")
    }
    without = set(candidate_pairs(fs, methods, embed=False).tolist())
    with_embed = set(candidate_pairs(fs, methods).tolist())
    assert without < with_embed
    assert truth <= with_embed, len(truth - with_embed)
    assert len(truth - without) > 0
