"""Clean-up of duplicate videos: the image plans, journal and undo, and the videos' own
rule (a copy is acted on only when its keeper holds it)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lookalike.cli import main
from lookalike.dupes.plan import Plan
from lookalike.video.collection import find_video_duplicates
from lookalike.video.edits import EDITS, make_slideshow
from lookalike.video.plan import CONTAINED, plan_from_videos


@pytest.fixture
def folder(tmp_path: Path, clips: dict[str, Path], edit_truth: dict) -> Path:
    """视频/: the source a, its trimmed and resized copies, b (unrelated), and a longer
    video at a quarter of a's pixels that holds a and 4 s more (a is its keeper)."""
    from corpus import SAMPLES
    from video_folders import folder_of_copies

    root = folder_of_copies(tmp_path / "视频", clips)
    photos = sorted(SAMPLES.glob("*.jpg"))
    make_slideshow(photos[4:6] + photos[:4], root / "合集.mp4", size=(80, 60))
    return root


def test_every_edit_is_held_by_its_source(clips: dict[str, Path], edit_truth: dict) -> None:
    """CONTAINED is below the coverage of every edit's copy by its source (so re-encoded,
    resized, trimmed, cut, logo and border copies can all be cleaned up)."""
    from lookalike.video import fingerprint_video, match_videos

    source = fingerprint_video(clips["a"])
    for edit in EDITS:
        m = match_videos(source, fingerprint_video(clips[f"a.{edit}"]))
        assert m.match and m.coverage_b >= CONTAINED, (edit, m.coverage_b)


def test_plan_acts_on_held_copies_and_keeps_a_longer_video(folder: Path) -> None:
    report = find_video_duplicates([folder])
    plan = plan_from_videos(report, "trash", roots=[folder])
    by_path = {Path(a.path).name: a for a in plan.actions}
    assert by_path["原片.mp4"].action == "keep" and by_path["原片.mp4"].keeper is None
    assert {by_path["剪短.mp4"].action, by_path["缩小.mp4"].action} == {"trash"}
    assert by_path["剪短.mp4"].keeper == str(folder / "原片.mp4")
    assert by_path["剪短.mp4"].digest and by_path["剪短.mp4"].keeper_digest
    longer = by_path["合集.mp4"]
    assert longer.action == "keep" and "holds footage" in longer.reason
    assert "无关.mp4" not in by_path
    assert Plan.from_json(plan.to_json()).actions == plan.actions  # the image plans' format


def test_move_then_undo_from_the_command_line(
    folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dest = tmp_path / "重复"
    journal = tmp_path / "日志.jsonl"
    argv = ["videos", str(folder), "--move-to", str(dest), "--journal", str(journal), "--json"]
    assert main(argv) == 0
    data = json.loads(capsys.readouterr().out)
    moved = sorted(Path(a["path"]).name for a in data["actions"] if a["done"])
    assert moved == ["剪短.mp4", "缩小.mp4"]
    assert sorted(p.name for p in dest.iterdir()) == moved
    assert (folder / "合集.mp4").exists() and (folder / "原片.mp4").exists()
    assert main(["undo", str(journal)]) == 0
    assert sorted(p.name for p in folder.iterdir()) == [
        "剪短.mp4", "原片.mp4", "合集.mp4", "无关.mp4", "缩小.mp4"
    ]  # fmt: skip


def test_a_plan_applied_later_skips_a_copy_changed_since(
    folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plan = tmp_path / "计划.json"
    assert main(["videos", str(folder), "--delete", "--plan", str(plan)]) == 0
    assert "lookalike apply" in capsys.readouterr().out
    (folder / "剪短.mp4").write_bytes((folder / "剪短.mp4").read_bytes() + b"\0")
    assert main(["apply", str(plan), "--yes", "--json"]) == 0
    steps = {Path(a["path"]).name: a for a in json.loads(capsys.readouterr().out)["actions"]}
    assert steps["缩小.mp4"]["done"] and not (folder / "缩小.mp4").exists()
    assert not steps["剪短.mp4"]["done"] and (folder / "剪短.mp4").exists()


def test_deleting_without_a_terminal_needs_yes(
    folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["videos", str(folder), "--delete"]) == 0
    assert "deleting needs --yes" in capsys.readouterr().err
    assert len(list(folder.iterdir())) == 5


def test_contradictory_actions_are_refused_before_decoding(
    folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["videos", str(folder), "--trash", "--delete"]) == 2
    assert "choose one of" in capsys.readouterr().err
    assert main(["videos", str(folder), "--keep-in", str(tmp_path / "none")]) == 2
    assert main(["videos", str(folder), "--move-to", str(folder)]) == 2
