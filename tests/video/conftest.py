"""Clips for the video tests: slideshows of the committed sample photos (always), and the
shared corpus's real clips (skipped with the reason where absent)."""

from __future__ import annotations

from pathlib import Path

import pytest
from corpus import CORPUS, SAMPLES

from lookalike.video.edits import EDITS, apply_edit, make_slideshow

VIDEO_CORPUS = CORPUS / "video"


@pytest.fixture(scope="session")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """``a`` and ``b`` (8 s each, unrelated photos), ``long`` (a inside 8 s of other
    photos, from 4 s), and every edit of ``a`` as ``a.<edit>``."""
    root = tmp_path_factory.mktemp("clips")
    photos = sorted(SAMPLES.glob("*.jpg"))
    out = {"a": root / "a.mp4", "b": root / "b.mp4", "long": root / "long.mp4"}
    make_slideshow(photos[:4], out["a"])
    make_slideshow(photos[4:8], out["b"])
    make_slideshow(photos[4:6] + photos[:4] + photos[6:8], out["long"])
    for edit in EDITS:
        out[f"a.{edit}"] = root / f"a.{edit}.mp4"
    return out


@pytest.fixture(scope="session")
def edit_truth(clips: dict[str, Path]) -> dict[str, list[tuple[float, float, float]]]:
    """The segments each edit of ``a`` keeps (the edits are written here)."""
    return {e: apply_edit(clips["a"], clips[f"a.{e}"], e) for e in EDITS}


@pytest.fixture(scope="session")
def corpus_clips() -> Path:
    if not (VIDEO_CORPUS / "v2s.mov").is_file():
        pytest.skip("../shared/corpus/video is absent (it lives beside the repo clone)")
    return VIDEO_CORPUS
