"""``lookalike train`` end to end on the sample photos: a real (tiny) training run on the
CPU, its ONNX model run by the embed method, and the errors a user can make."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="lookalike train needs torch (the train extra)")
pytest.importorskip("onnxruntime", reason="running the trained model needs onnxruntime")

from lookalike.cli import main  # noqa: E402
from lookalike.methods.embed import Embed  # noqa: E402
from lookalike.training import network  # noqa: E402

TINY = ["--steps", "2", "--batch", "8", "--charts", "16", "--jobs", "1"]


def test_train_writes_a_model_embed_runs(
    sample_photos: list[Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    photos = tmp_path / "照片"
    photos.mkdir()
    for p in sample_photos:
        shutil.copy(p, photos / p.name)
    out = tmp_path / "模型"
    assert main(["train", str(photos), "--out", str(out), "--init", "scratch", *TINY]) == 0
    printed = capsys.readouterr()
    assert "2 steps" in printed.out and str(out / "model.onnx") in printed.out
    recipe = json.loads((out / "recipe.json").read_text(encoding="utf-8"))
    assert recipe["steps_run"] == 2 and recipe["data"]["pictures"] == len(sample_photos)
    listed = (out / "data.tsv").read_text(encoding="utf-8").splitlines()[1:]
    assert sorted(Path(line.split("\t")[0]).name for line in listed) == sorted(
        p.name for p in sample_photos
    )
    method = Embed(out / "model.onnx")
    assert (method.height, method.width, method.dimensions) == (160, 160, 256)
    from PIL import Image

    vectors = method.compute([method.prepare(Image.open(p)) for p in sample_photos[:3]])
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_fine_tune_starts_from_the_shipped_weights(
    tmp_path: Path, sample_photos: list[Path]
) -> None:
    from lookalike.models import default_weights

    assert default_weights(), "the package ships copy-embed.npz"
    net = network.build()
    network.load_weights(net, default_weights())  # names and shapes match the network
    out = tmp_path / "tuned"
    folder = str(sample_photos[0].parent)
    assert main(["train", folder, "--out", str(out), *TINY]) == 0
    assert json.loads((out / "recipe.json").read_text())["config"]["init"] == default_weights()


def test_the_export_computes_what_the_network_computes(tmp_path: Path) -> None:
    from lookalike.models import default_weights

    net = network.build()
    network.load_weights(net, default_weights())
    net.eval()
    path = tmp_path / "m.onnx"
    network.export_onnx(net, str(path))
    x = np.random.default_rng(0).standard_normal((3, 3, 160, 160)).astype(np.float32)
    with torch.no_grad():
        want = net(torch.from_numpy(x)).numpy()
    got = Embed(path)._run(x)
    assert np.abs(got - want).max() < 1e-4


def test_unreadable_files_are_named_and_the_rest_trains(
    sample_photos: list[Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "messy"
    folder.mkdir()
    for p in sample_photos[:4]:
        shutil.copy(p, folder / p.name)
    (folder / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    out = tmp_path / "out"
    assert main(["train", str(folder), "--out", str(out), "--init", "scratch", *TINY]) == 1
    assert "broken.jpg" in capsys.readouterr().err
    assert (out / "model.onnx").is_file()


def test_bad_arguments_exit_2_naming_the_problem(
    tmp_path: Path, sample_photos: list[Path], capsys: pytest.CaptureFixture[str]
) -> None:
    folder = str(sample_photos[0].parent)
    missing = tmp_path / "nowhere.npz"
    assert main(["train", folder, "--out", str(tmp_path / "o"), "--init", str(missing)]) == 2
    assert str(missing) in capsys.readouterr().err
    a_file = tmp_path / "file"
    a_file.write_text("x")
    assert main(["train", folder, "--out", str(a_file)]) == 2
    assert "not a folder" in capsys.readouterr().err
    if not torch.cuda.is_available():
        assert main(["train", folder, "--out", str(tmp_path / "p"), "--device", "cuda:7"]) == 2
        assert "torch sees no CUDA GPU" in capsys.readouterr().err
