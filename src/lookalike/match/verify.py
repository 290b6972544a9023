"""Keypoint verification of candidate pairs, the costliest layer, in worker processes."""

from __future__ import annotations

import os
from typing import Any

import cv2

from lookalike.engines.local import process_pool
from lookalike.match.cascade import Score, score_rows
from lookalike.methods.base import Method
from lookalike.progress import Progress

__all__ = ["verify_pairs"]

_SHARED: list[Any] = []


def _init_worker(features: list[Any]) -> None:
    cv2.setNumThreads(1)
    _SHARED[:] = features


def _verify_chunk(method: Method, pairs: list[tuple[int, int]]) -> list[Score]:
    return score_rows(method, [_SHARED[a] for a, _ in pairs], [_SHARED[b] for _, b in pairs])


def verify_pairs(
    method: Method,
    features: list[Any],
    pairs: list[tuple[int, int]],
    jobs: int = 1,
    progress: Progress | None = None,
) -> list[Score]:
    """Scores of a pair method (local features) for ``pairs``, in ``jobs`` processes.

    Keypoint matching is the costliest step of the detector; each worker receives the
    features once (at its start) and then only index pairs.
    """
    if jobs == 0:
        jobs = os.cpu_count() or 1
    size = max(8, -(-len(pairs) // (8 * max(jobs, 1))))
    chunks = [pairs[k : k + size] for k in range(0, len(pairs), size)]
    out: list[Score] = []
    if jobs <= 1 or len(pairs) < 32:
        for part in chunks:
            out += score_rows(
                method, [features[a] for a, _ in part], [features[b] for _, b in part]
            )
            if progress:
                progress("verifying", len(out), len(pairs))
        return out
    with process_pool(jobs, initializer=_init_worker, initargs=(features,)) as pool:
        for scores in pool.map(_verify_chunk, [method] * len(chunks), chunks):
            out += scores
            if progress:
                progress("verifying", len(out), len(pairs))
    return out
