"""Video similarity: frames sampled in time, one pHash each, matched and aligned in time.

* :func:`fingerprint_video` -> :class:`VideoFingerprint` (vPDQ's shape: hashes per second);
* :func:`match_videos` -> :class:`VideoMatch`: shares of matching frames both ways (vPDQ)
  and the aligned segments with their time offsets;
* :func:`find_video_duplicates`: groups of copies among many videos;
* :func:`find_frame`: where a still image appears in fingerprinted videos;
* :func:`sniff_video`: video containers by their first bytes.

OpenCV is imported only when frames are decoded.
"""

from __future__ import annotations

from lookalike.formats import is_video, sniff_video
from lookalike.video.align import Segment, VideoMatch, match_videos
from lookalike.video.fingerprint import VideoFingerprint, fingerprint_video

__all__ = [
    "Segment",
    "VideoFingerprint",
    "VideoMatch",
    "fingerprint_video",
    "is_video",
    "match_videos",
    "sniff_video",
]
