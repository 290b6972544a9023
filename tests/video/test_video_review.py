"""`lookalike dupes --videos`: the video groups with the image command's plan, actions and
review page (a real server on 127.0.0.1, each video card a frame of the video)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lookalike.cli import main

httpx = pytest.importorskip("httpx")
pytest.importorskip("uvicorn")


@pytest.fixture
def folder(tmp_path: Path, clips: dict[str, Path], edit_truth: dict) -> Path:
    """片库/: the source, its resized and trimmed copies, and an unrelated clip."""
    from video_folders import folder_of_copies

    return folder_of_copies(tmp_path / "片库", clips)


def test_dupes_videos_plans_what_videos_plans(folder: Path, tmp_path: Path) -> None:
    by_dupes, by_videos = tmp_path / "dupes.json", tmp_path / "videos.json"
    assert main(["dupes", str(folder), "--videos", "--plan", str(by_dupes)]) == 0
    assert main(["videos", str(folder), "--plan", str(by_videos)]) == 0

    def actions(path: Path) -> list[tuple[str, str, str | None]]:
        plan = json.loads(path.read_text(encoding="utf-8"))
        return sorted((a["action"], Path(a["path"]).name, a.get("keeper")) for a in plan["actions"])

    assert actions(by_dupes) == actions(by_videos)
    assert {name for kind, name, _ in actions(by_dupes) if kind == "trash"} == {
        "缩小.mp4",
        "剪短.mp4",
    }


def test_image_only_options_are_refused_with_videos(
    folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = tmp_path / "r.html"
    assert main(["dupes", str(folder), "--videos", "--report", str(report)]) == 2
    assert "--report: for images only" in capsys.readouterr().err
    assert not report.exists()
    assert main(["dupes", str(folder), "--videos", "--review", "--trash"]) == 2


def test_the_review_page_shows_video_groups_with_frames(folder: Path, tmp_path: Path) -> None:
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    log = tmp_path / "review.log"
    env = {**os.environ, "LOOKALIKE_TOKEN": "", "XDG_STATE_HOME": str(tmp_path / "state")}
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "lookalike", "dupes", str(folder), "--videos", "--review",
             "--no-browser"],
            stdout=out, stderr=subprocess.STDOUT, env=env,
        )  # fmt: skip
    try:
        base = None
        deadline = time.monotonic() + 180
        while base is None and time.monotonic() < deadline:
            assert process.poll() is None, log.read_text(errors="replace")
            found = re.search(r"(http://127\.0\.0\.1:\d+)/", log.read_text(errors="replace"))
            if found:
                try:
                    if httpx.get(f"{found.group(1)}/api/review", timeout=2).status_code == 200:
                        base = found.group(1)
                except httpx.TransportError:
                    pass
            time.sleep(0.3)
        assert base is not None, log.read_text(errors="replace")
        data = httpx.get(f"{base}/api/review", timeout=10).json()
        (group,) = data["groups"]
        names = {Path(m["path"]).name for m in group["members"]}
        assert names == {"原片.mp4", "缩小.mp4", "剪短.mp4"}
        for m in group["members"]:
            thumb = httpx.get(f"{base}{m['thumbnail_url']}?w=240", timeout=60)
            assert thumb.status_code == 200, (m["path"], thumb.text)
            assert thumb.headers["content-type"] == "image/jpeg"
            assert thumb.content[:3] == b"\xff\xd8\xff"
        assert httpx.get(base + "/", timeout=10).status_code == 200
    finally:
        process.terminate()
        process.wait(timeout=20)
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before  # nothing touched
