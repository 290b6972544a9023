"""Bad video input: a clear DecodeError naming the file and the reason, never a hang."""

from __future__ import annotations

import time

import numpy as np
import pytest

from lookalike.errors import DecodeError
from lookalike.video import fingerprint_video, sniff_video
from lookalike.video.edits import write_clip

LIMIT_S = 10.0  # no bad file may take longer than this


def refused(path, reason: str, **kw) -> DecodeError:
    start = time.monotonic()
    with pytest.raises(DecodeError) as info:
        fingerprint_video(path, **kw)
    assert time.monotonic() - start < LIMIT_S
    assert info.value.source == str(path)
    assert reason in info.value.reason, info.value.reason
    return info.value


def test_zero_length_file(tmp_path):
    (tmp_path / "empty.mp4").write_bytes(b"")
    refused(tmp_path / "empty.mp4", "empty file (0 bytes)")


def test_text_named_like_a_video(tmp_path):
    (tmp_path / "notes.mp4").write_text("hello, this is text")
    refused(tmp_path / "notes.mp4", "not a video: the content is text")


def test_an_image_is_not_a_video(tmp_path):
    from corpus import SAMPLES

    photo = sorted(SAMPLES.glob("*.jpg"))[0]
    refused(photo, "not a video: the content is jpeg")


def test_truncated_mp4_without_its_index(tmp_path, clips):
    data = clips["a"].read_bytes()
    (tmp_path / "cut.mp4").write_bytes(data[: len(data) // 3])
    refused(tmp_path / "cut.mp4", "no video stream OpenCV can open")


def test_truncated_avi_gives_the_frames_before_the_cut(tmp_path, clips):
    from lookalike.video.edits import read_clip

    clip = read_clip(clips["a"])
    write_clip(tmp_path / "full.avi", clip.frames, clip.fps, "MJPG")
    data = (tmp_path / "full.avi").read_bytes()
    (tmp_path / "half.avi").write_bytes(data[: len(data) // 2])
    start = time.monotonic()
    f = fingerprint_video(tmp_path / "half.avi")
    assert time.monotonic() - start < LIMIT_S
    assert 2.0 < f.duration < 6.5  # the frames that are there, not the declared 8 s


def test_audio_only_file(tmp_path, clips):
    # the clip's one track relabelled as a sound track ('vide' -> 'soun' in its hdlr box)
    data = clips["a"].read_bytes()
    i = data.index(b"hdlr")
    assert data[i + 12 : i + 16] == b"vide"
    (tmp_path / "sound.m4a").write_bytes(data[: i + 12] + b"soun" + data[i + 16 :])
    refused(tmp_path / "sound.m4a", "audio only")


def test_huge_frames_are_refused_by_their_declared_size(tmp_path):
    frame = np.zeros((1200, 1600, 3), np.uint8)
    frame[::7] = 255
    write_clip(tmp_path / "big.avi", [frame] * 2, 5.0, "MJPG")
    err = refused(tmp_path / "big.avi", "too large: 1600x1200 frames", max_pixels=1_000_000)
    assert "limit of 1.0 MP" in err.reason
    assert fingerprint_video(tmp_path / "big.avi").width == 1600  # under the default


def test_wall_clock_limit_is_checked_inside_the_frame_loop(clips):
    refused(clips["a"], "decoding took longer than the limit", time_limit=1e-4)


@pytest.mark.parametrize(
    ("head", "kind"),
    [
        (b"\x00\x00\x00\x20ftypisom\x00\x00\x02\x00isomiso2avc1mp41", "mp4"),
        (b"\x00\x00\x00\x14ftypqt  \x00\x00\x00\x00qt  ", "mov"),
        (b"\x00\x00\x00\x08wide\x00\x04\xd9\x58mdat", "mov"),
        (b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01", "matroska"),
        (b"RIFF\x10\x00\x00\x00AVI LIST", "avi"),
        ((b"\x47" + b"\x00" * 187) * 3 + b"\x47", "mpegts"),
        (b"\x00\x00\x01\xba\x44\x00", "mpegps"),
        (b"FLV\x01\x05", "flv"),
        (b"\x00\x00\x00\x1cftypheic\x00\x00\x00\x00mif1heic", None),
        (b"\x00\x00\x00\x1cftypavif\x00\x00\x00\x00avifmif1", None),
        (b"RIFF\x10\x00\x00\x00WEBPVP8 ", None),
        (b"RIFF\x10\x00\x00\x00WAVEfmt ", None),
        (b"\xff\xd8\xff\xe0", None),
        (b"", None),
    ],
)
def test_sniff_video_by_content(head, kind):
    assert sniff_video(head) == kind


def test_sniff_video_on_the_written_clips(tmp_path, clips):
    from lookalike.formats import is_video

    write_clip(tmp_path / "x.avi", [np.zeros((32, 32, 3), np.uint8)] * 3, 5.0, "MJPG")
    assert is_video(clips["a"]) and is_video(tmp_path / "x.avi")
    assert not is_video(tmp_path / "missing.mp4")


def test_a_truncated_file_is_reported_once_without_ffmpeg_noise(tmp_path, clips):
    """The reason is the one line lookalike prints; FFmpeg's ``moov atom not found`` and
    OpenCV's capture warning stay off stderr (a fresh process: FFmpeg reads its log level
    once)."""
    import os
    import subprocess
    import sys

    data = clips["a"].read_bytes()
    bad = tmp_path / "截断.mp4"
    bad.write_bytes(data[: len(data) // 2])
    run = subprocess.run(
        [sys.executable, "-m", "lookalike", "videos", str(bad)],
        capture_output=True,
        text=True,
        timeout=60,
        env={k: v for k, v in os.environ.items() if not k.startswith("OPENCV_")},
    )
    lines = run.stderr.strip().splitlines()
    assert lines == [f"lookalike: {bad}: no video stream OpenCV can open (truncated, audio only "
                     "or corrupt)"], run.stderr  # fmt: skip
