"""Folders of video copies that several video tests search, plan and review."""

from __future__ import annotations

import shutil
from pathlib import Path

#: The source clip, two copies of it and an unrelated clip, under the names users give.
NAMED_COPIES = {"原片.mp4": "a", "剪短.mp4": "a.trim", "缩小.mp4": "a.resize", "无关.mp4": "b"}


def folder_of_copies(root: Path, clips: dict[str, Path]) -> Path:
    """``root`` made and holding :data:`NAMED_COPIES` (the edits must be written first:
    ask for the ``edit_truth`` fixture)."""
    root.mkdir()
    for name, clip in NAMED_COPIES.items():
        shutil.copy(clips[clip], root / name)
    return root
