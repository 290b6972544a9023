"""The command line faces of video: ``compare A B`` on two videos, ``videos PATH...``."""

from __future__ import annotations

import json
import shutil

from lookalike.cli import main


def test_compare_two_videos_prints_segments_and_shares(capsys, clips, edit_truth):
    assert main(["compare", str(clips["a"]), str(clips["a.cut"])]) == 0
    out = capsys.readouterr().out
    assert "of A is" in out and "of frames" in out
    assert "verdict 结论: match" in out
    assert out.count(" of A is ") == 2  # the cut: two segments


def test_compare_two_videos_json(capsys, clips, edit_truth):
    assert main(["compare", str(clips["a"]), str(clips["a.trim"]), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["match"] is True
    (seg,) = data["segments"]
    assert abs(seg["offset"] - (-2.0)) <= 0.35  # trim drops the first 25% of 8 s
    assert set(seg) >= {"a_start", "a_end", "b_start", "b_end", "share", "text"}


def test_compare_unrelated_videos(capsys, clips):
    assert main(["compare", str(clips["a"]), str(clips["b"]), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["match"] is False and data["segments"] == []


def test_compare_a_broken_video_names_it(capsys, tmp_path, clips):
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(clips["a"].read_bytes()[:3000])
    assert main(["compare", str(clips["a"]), str(bad)]) == 1
    assert f"{bad}: no video stream" in capsys.readouterr().err


def test_videos_command_groups_copies(capsys, tmp_path, clips, edit_truth):
    for name in ("a", "a.resize", "a.logo", "b"):
        shutil.copy(clips[name], tmp_path / f"{name}.mp4")
    (tmp_path / "empty.mkv").write_bytes(b"")
    assert main(["videos", str(tmp_path), "--json"]) == 1  # one failure
    captured = capsys.readouterr()
    data = json.loads(captured.out)
    assert data["videos"] == 4 and len(data["groups"]) == 1
    assert len(data["groups"][0]["copies"]) == 2
    assert data["failures"] == [
        {"path": str(tmp_path / "empty.mkv"), "reason": "empty file (0 bytes)"}
    ]
    assert main(["videos", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "group 1: keeper" in out and "4 videos, 1 groups of copies" in out
