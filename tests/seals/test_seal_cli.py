"""``lookalike seal A B`` end to end, on generated impressions with Chinese file names."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from seal_fonts import require_cjk_font

from lookalike.cli import main
from lookalike.seals import design, impression
from lookalike.seals.generate import TEST_SEEDS

require_cjk_font()


@pytest.fixture(scope="module")
def prints(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("印章")
    rng = np.random.default_rng(0)
    seal, other = design(TEST_SEEDS + 3), design(TEST_SEEDS + 5)
    paths = {"a": folder / "印章A.png", "b": folder / "印章B.jpg", "c": folder / "其他印章.png"}
    impression(seal, rng).save(paths["a"])
    impression(seal, rng).save(paths["b"], quality=90)
    impression(other, rng).save(paths["c"])
    return paths


def test_same_seal_in_both_verifiers_as_json(prints: dict[str, Path], capsys) -> None:
    pytest.importorskip("onnxruntime", reason="the Siamese model needs onnxruntime")
    assert main(["seal", str(prints["a"]), str(prints["b"]), "--method", "both", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["a"].endswith("印章A.png")
    assert [r["method"] for r in out["results"]] == ["siamese", "baseline"]
    assert all(r["same"] and r["score"] >= r["threshold"] for r in out["results"])


def test_different_seal_in_words(prints: dict[str, Path], capsys) -> None:
    assert main(["seal", str(prints["a"]), str(prints["c"]), "-m", "baseline"]) == 0
    out = capsys.readouterr().out
    assert "different seal 不同印章" in out and "其他印章.png" in out


def test_an_image_without_red_ink_is_named_with_exit_2(
    prints: dict[str, Path], tmp_path: Path, capsys
) -> None:
    blank = tmp_path / "空白.png"
    Image.new("RGB", (200, 200), (250, 248, 240)).save(blank)
    assert main(["seal", str(blank), str(prints["a"])]) == 2
    err = capsys.readouterr().err
    assert str(blank) in err and "no red seal ink" in err


@pytest.mark.parametrize("which", ["missing", "not an image"])
def test_a_bad_file_is_named_with_exit_2(
    which: str, prints: dict[str, Path], tmp_path: Path, capsys
) -> None:
    bad = tmp_path / ("缺失.png" if which == "missing" else "不是图片.png")
    if which == "not an image":
        bad.write_text("这不是图片", encoding="utf-8")
    assert main(["seal", str(prints["a"]), str(bad), "-m", "baseline"]) == 2
    err = capsys.readouterr().err
    assert str(bad) in err
    assert ("no such file" if which == "missing" else "image") in err


def test_without_onnxruntime_the_siamese_names_the_extra_and_the_baseline_runs(
    prints: dict[str, Path],
) -> None:
    """A Python where onnxruntime cannot be imported, as after a plain ``pip install .``."""
    import subprocess
    import sys

    code = (
        "import sys; sys.modules['onnxruntime'] = None\n"
        "from lookalike.cli import main\n"
        "sys.exit(main(['seal', *sys.argv[1:]]))\n"
    )
    src = str(Path(__file__).resolve().parents[2] / "src")
    a, b = str(prints["a"]), str(prints["b"])
    done = subprocess.run(
        [sys.executable, "-c", code, a, b], capture_output=True, text=True, env={"PYTHONPATH": src}
    )
    assert done.returncode == 2, done.stderr
    assert "lookalike[embed]" in done.stderr and "--method baseline" in done.stderr
    done = subprocess.run(
        [sys.executable, "-c", code, a, b, "--method", "baseline"],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": src},
    )
    assert done.returncode == 0 and "baseline" in done.stdout, done.stderr
