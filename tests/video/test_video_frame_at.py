"""frame_at: the still a search page shows for a video hit is the frame at that time."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from lookalike.errors import DecodeError
from lookalike.video.collection import frame_code, locate_frame
from lookalike.video.fingerprint import fingerprint_video
from lookalike.video.frames import frame_at


def bits(a: np.ndarray, b: np.ndarray) -> int:
    return int(np.unpackbits(np.asarray(a, np.uint8) ^ np.asarray(b, np.uint8)).sum())


def test_the_frame_at_a_time_is_the_sampled_frame_there(clips: dict[str, Path]) -> None:
    """At every sampled time of a slideshow (photos change every 2 s), the frame shown
    hashes within 4 bits of the sample's code, and nearer to it than to any frame 2 s away."""
    fp = fingerprint_video(clips["a"])
    for k in range(0, len(fp.times), 5):
        code, _ = frame_code(frame_at(clips["a"], float(fp.times[k])))
        d = np.unpackbits(fp.codes ^ code[None, :], axis=1).sum(axis=1)
        assert d[k] <= 4, (fp.times[k], d[k])
        far = np.abs(fp.times - fp.times[k]) >= 2.0
        assert d[k] < d[far].min()


def test_the_frame_is_small_and_in_colour(clips: dict[str, Path]) -> None:
    frame = frame_at(clips["a"], 1.0, side=64)
    assert frame.dtype == np.uint8 and frame.ndim == 3 and frame.shape[2] == 3
    assert max(frame.shape[:2]) <= 64


def test_past_the_end_or_not_a_video_is_a_decode_error(
    clips: dict[str, Path], tmp_path: Path
) -> None:
    with pytest.raises(DecodeError) as info:
        frame_at(clips["a"], 3600.0)
    assert info.value.source == str(clips["a"]) and "no decodable frame" in info.value.reason
    (tmp_path / "notes.mp4").write_text("hello")
    with pytest.raises(DecodeError, match="not a video"):
        frame_at(tmp_path / "notes.mp4", 0.0)
    with pytest.raises(ValueError, match="seconds"):
        frame_at(clips["a"], -1.0)


def test_a_real_clip_that_declares_more_than_decodes(corpus_clips: Path) -> None:
    """The corpus's v2 declares 12 s but 6.2 s decode: a time inside is found, after it
    is refused by name rather than answered with the wrong frame."""
    fp = fingerprint_video(corpus_clips / "v2.m4v")
    t = float(fp.times[-2])
    assert bits(frame_code(frame_at(corpus_clips / "v2.m4v", t))[0], fp.codes[-2]) <= 4
    with pytest.raises(DecodeError):
        frame_at(corpus_clips / "v2.m4v", 9.0)


def test_locate_frame_finds_a_still_between_two_samples(tmp_path: Path) -> None:
    """A panning slideshow (8 px a frame at 10 fps) sampled ~3.75 times a second: every
    frame that lies between samples and is over FRAME_DISTANCE from the nearest one is
    found at its own time (one frame, 0.1 s) within 4 bits by decoding between the two."""
    from corpus import SAMPLES

    from lookalike.video.align import FRAME_DISTANCE
    from lookalike.video.edits import make_slideshow, read_clip

    clip = tmp_path / "平移.mp4"
    make_slideshow(sorted(SAMPLES.glob("*.jpg"))[:3], clip, size=(320, 240))
    fp = fingerprint_video(clip)
    frames = read_clip(clip).frames
    far = 0
    for i, frame in enumerate(frames):
        t = i / 10.0
        code, blank = frame_code(frame)
        d = np.unpackbits(fp.codes ^ code[None, :], axis=1).sum(axis=1)
        after = int(np.searchsorted(fp.times, t))
        if blank or d.min() <= FRAME_DISTANCE or not 0 < after < len(fp.times):
            continue
        far += 1
        found = locate_frame(clip, code, float(fp.times[after - 1]), float(fp.times[after]))
        assert found is not None, t
        assert abs(found[0] - t) <= 0.1 + 1e-6 and found[1] <= 4, (t, found)
    assert far >= 3  # the case exists in this clip


def test_locate_frame_on_a_file_that_is_no_video_is_none(tmp_path: Path) -> None:
    (tmp_path / "notes.mp4").write_text("hello")
    assert locate_frame(tmp_path / "notes.mp4", np.zeros(8, np.uint8), 0.0, 1.0) is None
    assert locate_frame(tmp_path / "gone.mp4", np.zeros(8, np.uint8), 0.0, 1.0) is None
