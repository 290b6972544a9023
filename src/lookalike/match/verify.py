"""Keypoint verification of candidate pairs, the costliest layer, in worker processes."""

from __future__ import annotations

from typing import Any

import cv2

from lookalike.engines import Executor, consumed
from lookalike.engines.local import LocalExecutor
from lookalike.match.cascade import Score, score_rows
from lookalike.methods.base import Method
from lookalike.progress import Progress

__all__ = ["verify_pairs"]


def _verify_chunk(features: list[Any], method: Method, pairs: list[tuple[int, int]]) -> list[Score]:
    cv2.setNumThreads(1)  # in a worker: the engine runs one chunk per CPU
    return score_rows(method, [features[a] for a, _ in pairs], [features[b] for _, b in pairs])


def verify_pairs(
    method: Method,
    features: list[Any],
    pairs: list[tuple[int, int]],
    jobs: int = 1,
    progress: Progress | None = None,
    executor: Executor | None = None,
) -> list[Score]:
    """Scores of a pair method (local features) for ``pairs``, in ``jobs`` processes.

    Keypoint matching is the costliest step of the detector; each worker receives the
    features once (at its start, or through the cluster's object store) and then only
    index pairs. ``executor``: where the chunks run (default ``jobs`` local processes).
    """
    executor = executor or LocalExecutor(jobs)
    workers = executor.workers
    size = max(8, -(-len(pairs) // (8 * workers)))
    chunks = [pairs[k : k + size] for k in range(0, len(pairs), size)]
    out: list[Score] = []
    if len(pairs) < 32 or (workers <= 1 and not executor.distributed):  # here, no workers
        for part in chunks:
            out += score_rows(
                method, [features[a] for a, _ in part], [features[b] for _, b in part]
            )
            if progress:
                progress("verifying", len(out), len(pairs))
        return out
    calls = [(method, c) for c in chunks]
    with consumed(executor.map(_verify_chunk, calls, shared=features)) as results:
        for scores in results:
            out += scores
            if progress:
                progress("verifying", len(out), len(pairs))
    return out
