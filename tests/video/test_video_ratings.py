"""`lookalike eval pairs` on ratings of video pairs: Spearman's rho of the video scores."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from lookalike.cli import main


def test_eval_pairs_ranks_video_pairs_as_their_ratings(
    clips: dict[str, Path],
    edit_truth: dict,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    folder = tmp_path / "评分"
    folder.mkdir()
    for name in ("a", "b", "a.resize", "a.trim", "a.cut", "a.logo"):
        shutil.copy(clips[name], folder / f"{name}.mp4")
    (folder / "坏的.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 64)
    # ratings as a person would give them: the whole clip resized, most of it, a part,
    # another clip; the broken file's pair is left out and reported
    rows = [
        ("a.mp4", "a.resize.mp4", 5.0),
        ("a.mp4", "a.logo.mp4", 4.5),
        ("a.mp4", "a.cut.mp4", 3.5),
        ("a.mp4", "a.trim.mp4", 3.0),
        ("a.mp4", "b.mp4", 0.0),
        ("a.resize.mp4", "b.mp4", 0.0),
        ("a.mp4", "坏的.mp4", 5.0),
    ]
    ratings = folder / "ratings.csv"
    ratings.write_text(
        "a,b,rating\n" + "".join(f"{a},{b},{r}\n" for a, b, r in rows), encoding="utf-8"
    )
    assert main(["eval", "pairs", str(ratings), "--json"]) == 1  # one file failed
    out = json.loads(capsys.readouterr().out)
    assert out["pairs"] == 6
    assert [Path(f["path"]).name for f in out["failures"]] == ["坏的.mp4"]
    assert set(out["methods"]) == {"video", "video-shares"}
    assert out["methods"]["video"]["spearman"] >= 0.8
    sims = out["methods"]["video"]["similarity"]
    assert sims[0] > sims[4] and sims[0] > sims[5]  # the resized copy above another clip
