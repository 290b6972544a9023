"""Video fingerprints and alignment, as specifications: every edit found with its offset
and segments, unrelated clips not matched, blank frames ignored."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from lookalike.video import VideoFingerprint, fingerprint_video, match_videos
from lookalike.video.align import VideoMatch
from lookalike.video.collection import find_frame, find_video_duplicates
from lookalike.video.edits import EDITS, apply_edit, write_clip

_FP: dict[str, VideoFingerprint] = {}


def fp(path: Path) -> VideoFingerprint:
    key = str(path)
    if key not in _FP:
        _FP[key] = fingerprint_video(path)
    return _FP[key]


def assert_segments(m: VideoMatch, truth: list[tuple[float, float, float]], slack: float):
    """Each true segment of >= 1.5 s has a found one with its offset and its span."""
    for a0, a1, b0 in truth:
        if a1 - a0 < 1.5:
            continue
        offset = b0 - a0
        found = [s for s in m.segments if abs(s.offset - offset) <= slack]
        assert found, f"no segment at offset {offset:+.2f}: {[s.describe() for s in m.segments]}"
        s = max(found, key=lambda s: min(s.a_end, a1) - max(s.a_start, a0))
        assert abs(s.a_start - a0) <= 2 * slack and abs(s.a_end - a1) <= 2 * slack, (
            s.describe(),
            (a0, a1, b0),
        )


@pytest.mark.parametrize("edit", list(EDITS))
def test_every_edit_of_a_clip_is_found_with_its_offset_and_segments(clips, edit_truth, edit):
    m = match_videos(fp(clips["a"]), fp(clips[f"a.{edit}"]))
    assert m.match, m.to_dict()
    truth = edit_truth[edit]
    assert len(m.segments) == len(truth), [s.describe() for s in m.segments]
    assert_segments(m, truth, slack=0.35)
    assert m.coverage_b >= 0.9


def test_a_clip_inside_a_longer_video_is_found_at_its_time(clips):
    m = match_videos(fp(clips["a"]), fp(clips["long"]))
    assert m.match and m.coverage_a >= 0.9
    assert m.offset == pytest.approx(4.0, abs=0.3)
    assert 0.3 <= m.coverage_b <= 0.7  # the rest of the long video is other photos


def test_unrelated_clips_do_not_match(clips):
    m = match_videos(fp(clips["a"]), fp(clips["b"]))
    assert not m.match and not m.segments
    assert m.share_a == 0.0


def test_blank_frames_are_flagged_and_match_nothing(tmp_path, clips):
    black = [np.zeros((120, 160, 3), np.uint8)] * 20
    grey = [np.full((120, 160, 3), 128, np.uint8)] * 20
    write_clip(tmp_path / "black.mp4", black + grey, 10.0)
    f = fingerprint_video(tmp_path / "black.mp4")
    assert f.blank.all()
    for other in ("a", "b"):
        m = match_videos(f, fp(clips[other]))
        assert not m.match and m.share_b == 0.0


def test_a_slate_before_a_copy_does_not_hide_it(tmp_path, clips):
    from lookalike.video.edits import read_clip

    clip = read_clip(clips["a"])
    slate = [np.zeros_like(clip.frames[0])] * 20  # 2 s of black
    write_clip(tmp_path / "slate.mp4", slate + clip.frames, clip.fps)
    f = fingerprint_video(tmp_path / "slate.mp4")
    assert f.blank[f.times < 1.9].all() and not f.blank[f.times > 2.1].any()
    m = match_videos(fp(clips["a"]), f)
    assert m.match and m.offset == pytest.approx(2.0, abs=0.3)


def test_fingerprint_round_trips_through_bytes(clips):
    f = fp(clips["a"])
    g = VideoFingerprint.from_bytes(f.to_bytes())
    assert np.array_equal(f.codes, g.codes) and np.array_equal(f.blank, g.blank)
    assert np.array_equal(f.times, g.times)
    assert (g.path, g.duration, g.fps, g.width, g.height, g.rate) == (
        f.path,
        f.duration,
        f.fps,
        f.width,
        f.height,
        f.rate,
    )
    with pytest.raises(ValueError):
        VideoFingerprint.from_bytes(f.to_bytes()[:-3])


def test_default_sampling_is_one_per_second_for_long_videos(clips):
    f = fingerprint_video(clips["a"], min_samples=0)
    assert f.rate == 1.0 and np.allclose(f.times, np.arange(8), atol=0.06)
    assert len(fp(clips["a"])) >= 30  # short clips: at least 30 samples


def test_find_frame_names_the_video_and_the_time(tmp_path, clips):
    import cv2

    cap = cv2.VideoCapture(str(clips["a"]))
    cap.set(cv2.CAP_PROP_POS_FRAMES, 53)  # 5.3 s
    ok, frame = cap.read()
    assert ok
    cv2.imwrite(str(tmp_path / "still.jpg"), frame, [cv2.IMWRITE_JPEG_QUALITY, 70])
    hits = find_frame(tmp_path / "still.jpg", [fp(clips["b"]), fp(clips["a"])])
    assert hits and hits[0][0] == str(clips["a"])
    assert hits[0][1] == pytest.approx(5.3, abs=0.4)
    assert all(h[0] != str(clips["b"]) for h in hits)


def test_duplicate_videos_are_grouped_and_unrelated_left_out(tmp_path, clips, edit_truth):
    import shutil

    for name in ("a", "a.reencode", "a.trim", "b"):
        shutil.copy(clips[name], tmp_path / f"{name}.mp4")
    (tmp_path / "notes.mp4").write_text("not a video")
    report = find_video_duplicates([tmp_path])
    assert report.videos == 4
    assert len(report.groups) == 1
    g = report.groups[0]
    names = {Path(g.keeper).name, *(Path(m.b).name for m in g.members)}
    assert names == {"a.mp4", "a.reencode.mp4", "a.trim.mp4"}
    assert [Path(f.path).name for f in report.failures] == ["notes.mp4"]


# --- the shared corpus's real clips ---------------------------------------------------


def test_corpus_cut_copy_gives_two_segments_with_their_offsets(corpus_clips):
    m = match_videos(fp(corpus_clips / "v2.m4v"), fp(corpus_clips / "v2s.mov"))
    assert m.match and m.coverage_b >= 0.95
    offsets = sorted(s.offset for s in m.segments)
    assert len(offsets) == 2
    assert offsets[0] == pytest.approx(-2.95, abs=0.4)  # measured frame by frame
    assert offsets[1] == pytest.approx(0.0, abs=0.2)


def test_corpus_unrelated_clips_do_not_match(corpus_clips):
    names = ["v1.m4v", "v2.m4v", "rgb.m4v"]
    for i, x in enumerate(names):
        for y in names[i + 1 :]:
            m = match_videos(fp(corpus_clips / x), fp(corpus_clips / y))
            assert not m.match and not m.segments, (x, y)


def test_corpus_colour_clip_is_all_blank(corpus_clips):
    assert fp(corpus_clips / "rgb.m4v").blank.all()


@pytest.mark.parametrize("edit", ["reencode", "resize", "trim", "cut", "logo", "border"])
def test_corpus_edits_are_found(tmp_path, corpus_clips, edit):
    truth = apply_edit(corpus_clips / "v2.m4v", tmp_path / f"{edit}.mp4", edit)
    m = match_videos(fp(corpus_clips / "v2.m4v"), fingerprint_video(tmp_path / f"{edit}.mp4"))
    assert m.match
    assert_segments(m, truth, slack=0.45)
