"""The default executor: worker processes on this machine, started clean."""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from typing import Any

__all__ = ["process_pool"]


def process_pool(jobs: int, **kwargs: Any) -> ProcessPoolExecutor:
    """Worker processes started clean (forkserver where the OS has it, else spawn).

    A plain fork copies the parent's threads' locks (OpenCV's and OpenMP's thread pools,
    progress-bar monitors) in whatever state they are, and a child can then hang for ever;
    a fresh interpreter cannot.
    """
    methods = multiprocessing.get_all_start_methods()
    ctx = multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
    if ctx.get_start_method() == "forkserver":
        ctx.set_forkserver_preload(["lookalike.features", "lookalike.methods"])
    return ProcessPoolExecutor(max_workers=jobs, mp_context=ctx, **kwargs)
