"""Mirrored copies: a video flipped left to right is matched through its mirror codes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from lookalike.cli import main
from lookalike.video import fingerprint_video, match_videos
from lookalike.video.align import match_mirrored
from lookalike.video.edits import read_clip, write_clip
from lookalike.video.fingerprint import VideoFingerprint


def flipped(source: Path, dest: Path, start: float = 0.0) -> Path:
    """``source`` mirrored left to right, from ``start`` seconds on."""
    import cv2

    clip = read_clip(source)
    first = round(start * clip.fps)
    write_clip(dest, [cv2.flip(f, 1) for f in clip.frames[first:]], clip.fps)
    return dest


def test_a_mirrored_copy_matches_only_through_its_mirror_codes(
    clips: dict[str, Path], tmp_path: Path
) -> None:
    source = fingerprint_video(clips["a"])
    copy = fingerprint_video(flipped(clips["a"], tmp_path / "镜像.mp4", 2.0), mirror=True)
    assert not match_videos(source, copy).match
    m = match_mirrored(source, copy)
    assert m.match and m.mirrored and m.to_dict()["mirrored"] is True
    assert m.offset is not None and abs(m.offset - (-2.0)) <= 0.35
    assert m.coverage_b >= 0.9
    assert match_mirrored(copy, source).mirrored  # either side may carry the codes


def test_mirror_codes_do_not_make_unrelated_clips_match(clips: dict[str, Path]) -> None:
    a = fingerprint_video(clips["a"], mirror=True)
    b = fingerprint_video(clips["b"], mirror=True)
    m = match_mirrored(a, b)
    assert not m.match and not m.mirrored and "mirrored" not in m.to_dict()


def test_without_mirror_codes_it_is_the_plain_match(clips: dict[str, Path]) -> None:
    a = fingerprint_video(clips["a"])
    assert a.mirror_codes is None and a.mirrored() is None
    assert match_mirrored(a, a).match


def test_mirror_codes_are_the_flipped_frames_codes_and_not_stored(
    clips: dict[str, Path],
) -> None:
    fp = fingerprint_video(clips["a"], mirror=True)
    assert fp.mirror_codes is not None and fp.mirror_codes.shape == fp.codes.shape
    d = np.unpackbits(fp.codes ^ fp.mirror_codes, axis=1).sum(axis=1)[fp.valid]
    assert np.median(d) >= 16  # a photo and its mirror image are different pictures
    again = VideoFingerprint.from_bytes(fp.to_bytes())
    assert again.mirror_codes is None and np.array_equal(again.codes, fp.codes)
    back = fp.mirrored()
    assert back is not None and np.array_equal(back.codes, fp.mirror_codes)


def test_compare_says_b_is_mirrored(
    clips: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    copy = flipped(clips["a"], tmp_path / "镜像.mp4")
    assert main(["compare", str(clips["a"]), str(copy)]) == 0
    assert "verdict 结论: match 相同视频 (B mirrored 镜像)" in capsys.readouterr().out
