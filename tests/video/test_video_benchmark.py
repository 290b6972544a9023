"""``eval make-video`` and ``eval run`` on a video benchmark: recall, precision, Spearman."""

from __future__ import annotations

import csv
import json
import shutil

from lookalike.cli import main
from lookalike.video.benchmark import rating


def test_derived_ratings_follow_the_stated_rule():
    assert rating("resize", [(0.0, 8.0, 0.0)], 8.0) == 5.0
    assert rating("logo", [(0.0, 8.0, 0.0)], 8.0) == 4.5
    assert rating("trim", [(2.0, 6.8, 0.0)], 8.0) == 3.0
    assert rating("cut", [(0.0, 2.8, 0.0), (5.2, 8.0, 2.8)], 8.0) == 3.5


def test_make_video_and_run_report_every_edit(tmp_path, clips, capsys):
    src = tmp_path / "clips"
    src.mkdir()
    shutil.copy(clips["a"], src / "a.mp4")
    shutil.copy(clips["b"], src / "b.mp4")
    bench = tmp_path / "bench"
    assert main(["eval", "make-video", str(src), "--out", str(bench), "--edits", "trim,cut"]) == 0
    with (bench / "ratings.csv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 8 and sum(float(r["rating"]) == 0 for r in rows) == 4
    assert "DERIVED" in (bench / "notes.txt").read_text(encoding="utf-8")
    capsys.readouterr()
    assert main(["eval", "run", str(bench), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert set(report["edits"]) == {"trim", "cut"}
    for e in report["edits"].values():
        assert e["recall"] == 1.0 and e["aligned"] == 1.0 and e["precision"] == 1.0
    assert report["spearman"] > 0.8
    assert (bench / "results" / "results.json").is_file()
