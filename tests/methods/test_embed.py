"""embed: a real ONNX model run by onnxruntime; its input and output checked at the door."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from onnx_models import projection_model
from PIL import Image

from lookalike.comparison import compare
from lookalike.decode import load
from lookalike.errors import UsageError
from lookalike.features import extract_features
from lookalike.features.cache import cached_features
from lookalike.methods import get_method
from lookalike.methods.embed import IMAGENET_MEAN, IMAGENET_STD, Embed
from lookalike.sources.folders import Entry, scan
from lookalike.store.catalog import Catalog

pytest.importorskip("onnxruntime", reason="embed needs onnxruntime: pip install 'lookalike[embed]'")


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return projection_model(tmp_path_factory.mktemp("models") / "投影模型.onnx")


def test_embed_runs_the_model_batched_and_normalises(
    model: Path, sample_photos: list[Path]
) -> None:
    m = get_method("embed", model=model)
    assert (m.height, m.width, m.dimensions) == (64, 64, 32)
    ims = [Image.open(p).convert("RGB") for p in sample_photos]
    f = m.features(ims)
    assert f.shape == (len(ims), 32) and f.dtype == np.float32
    assert np.allclose(np.linalg.norm(f, axis=1), 1.0, atol=1e-5)
    # the same numbers as onnxruntime on the documented preprocessing, by hand
    import onnxruntime as ort

    session = ort.InferenceSession(str(model), providers=["CPUExecutionProvider"])
    x = np.stack([np.asarray(im.resize((64, 64), Image.Resampling.BILINEAR)) for im in ims])
    x = (
        x.astype(np.float32).transpose(0, 3, 1, 2) / 255.0 - np.reshape(IMAGENET_MEAN, (1, 3, 1, 1))
    ) / np.reshape(IMAGENET_STD, (1, 3, 1, 1))
    raw = session.run(None, {"images": x.astype(np.float32)})[0]
    assert np.allclose(f, raw / np.linalg.norm(raw, axis=1, keepdims=True), atol=1e-4)
    one = np.concatenate([m.features([im]) for im in ims[:3]])
    assert np.allclose(f[:3], one, atol=1e-5)


def test_embed_keeps_a_resized_copy_nearer_than_other_photos(
    model: Path, sample_photos: list[Path]
) -> None:
    m = get_method("embed", model=model)
    ims = [Image.open(p).convert("RGB") for p in sample_photos]
    small = [im.resize((im.width // 4, im.height // 4), Image.Resampling.LANCZOS) for im in ims]
    f, g = m.features(ims), m.features(small)
    copies = m.similarity(f, g)
    cross = m.similarity(f[:, None], f[None])[~np.eye(len(ims), dtype=bool)]
    assert copies.min() > 0.98 and copies.min() > cross.max(), (copies, cross.max())


def test_symbolic_input_size_uses_the_size_option(
    tmp_path: Path, sample_photos: list[Path]
) -> None:
    path = projection_model(tmp_path / "any-size.onnx", side=None)
    m = Embed(path, size=96)
    assert (m.height, m.width) == (96, 96)
    assert m.features([Image.open(sample_photos[0])]).shape == (1, 32)


def test_embed_in_workers_and_the_cache_names_the_model_by_its_bytes(
    model: Path, sample_photos: list[Path], tmp_path: Path
) -> None:
    m = get_method("embed", model=model)
    fs = extract_features(sample_photos, [m], jobs=2)  # pickled into worker processes
    assert not fs.failures and np.allclose(
        fs.features["embed"],
        m.features([load(p, mode="RGB", min_size=m.min_size) for p in sample_photos]),
        atol=1e-5,
    )
    other = projection_model(tmp_path / "other.onnx", seed=1)
    assert Embed(other).cache_key != m.cache_key
    entries = [e for e in scan([str(p) for p in sample_photos[:3]]) if isinstance(e, Entry)]
    with Catalog(str(tmp_path / "catalog.sqlite")) as catalog:
        first, s1 = cached_features(entries, [m], catalog)
        again, s2 = cached_features(entries, [Embed(model)], catalog)
        moved, s3 = cached_features(entries, [Embed(other)], catalog)
    assert (s1.computed, s2.cached, s3.computed) == (3, 3, 3)
    assert np.allclose(first.features["embed"], again.features["embed"])
    assert not np.allclose(first.features["embed"], moved.features["embed"])


def test_compare_with_embed(model: Path, sample_photos: list[Path]) -> None:
    r = compare(sample_photos[0], sample_photos[0], ["phash", Embed(model)])
    assert r.scores["embed"].similarity == pytest.approx(1.0, abs=1e-5)
    assert r.scores["embed"].verdict == "identical"


@pytest.mark.parametrize(
    ("kwargs", "reason"),
    [
        ({"rank": 2}, "has rank 2"),
        ({"channels": 1}, "has 1 channels"),
        ({"flat_output": False}, "first output has rank 4"),
    ],
)
def test_a_model_of_the_wrong_shape_is_refused_naming_file_and_reason(
    tmp_path: Path, kwargs: dict[str, int], reason: str
) -> None:
    path = projection_model(tmp_path / "bad.onnx", **kwargs)
    with pytest.raises(UsageError) as info:
        Embed(path)
    assert str(path) in str(info.value) and reason in str(info.value)
    assert "(N, 3, H, W)" in str(info.value) or "(N, D)" in str(info.value)


def test_not_an_onnx_file_and_no_file_are_refused(
    tmp_path: Path, sample_photos: list[Path]
) -> None:
    for path, reason in (
        (sample_photos[0], "not an ONNX model"),
        (tmp_path / "empty.onnx", "not an ONNX model"),
        (tmp_path / "缺失.onnx", "no such model file"),
    ):
        if path.name == "empty.onnx":
            path.write_bytes(b"")
        with pytest.raises(UsageError) as info:
            Embed(path)
        assert str(path) in str(info.value) and reason in str(info.value)
    # no model named: the shipped one
    assert get_method("embed").model.endswith("copy-embed.onnx")  # type: ignore[attr-defined]


def test_without_onnxruntime_the_error_names_the_extra(model: Path) -> None:
    """A Python where onnxruntime cannot be imported (the import system is told it is absent)."""
    code = (
        "import sys; sys.modules['onnxruntime'] = None\n"
        "from lookalike.methods.embed import Embed\n"
        "try:\n    Embed(sys.argv[1])\n"
        "except ImportError as exc:\n    print('ImportError:', exc)\n"
    )
    src = str(Path(__file__).resolve().parents[2] / "src")
    out = subprocess.run(
        [sys.executable, "-c", code, str(model)],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": src},
        check=True,
    ).stdout
    assert "ImportError" in out and "pip install 'lookalike[embed]'" in out


def test_cli_compare_and_eval_pairs_take_the_model(
    model: Path, sample_photos: list[Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    from lookalike.cli import main

    a, b = str(sample_photos[0]), str(sample_photos[1])
    assert (
        main(["compare", a, a, "-m", "phash", "-m", "embed", "--model", str(model), "--json"]) == 0
    )
    out = json.loads(capsys.readouterr().out)
    assert out["methods"]["embed"]["similarity"] == pytest.approx(1.0, abs=1e-5)
    # embed without --model runs the shipped model
    assert main(["compare", a, b, "-m", "embed", "--json"]) == 0
    shipped = json.loads(capsys.readouterr().out)["methods"]["embed"]
    assert 0.0 <= shipped["similarity"] < 0.75
    # ratings: each photo against a smaller and a greyscale copy (5), another photo (1)
    rows = ["a,b,rating"]
    for k, p in enumerate(sample_photos[:4]):
        im = Image.open(p).convert("RGB")
        im.resize((im.width // 2, im.height // 2)).save(tmp_path / f"{k}_small.jpg")
        im.convert("L").save(tmp_path / f"{k}_grey.jpg")
        im.save(tmp_path / f"{k}.jpg")
        Image.open(sample_photos[k + 4]).save(tmp_path / f"{k}_other.jpg")
        rows += [f"{k}.jpg,{k}_small.jpg,5", f"{k}.jpg,{k}_grey.jpg,5", f"{k}.jpg,{k}_other.jpg,1"]
    (tmp_path / "ratings.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    args = ["eval", "pairs", str(tmp_path / "ratings.csv"), "--methods", "phash,gist"]
    assert main([*args, "--model", str(model), "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert set(res["methods"]) == {"phash", "gist", "embed"} and res["pairs"] == 12
    assert all(r["spearman"] > 0.6 for r in res["methods"].values()), res["methods"]
