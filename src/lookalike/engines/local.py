"""The default executor: worker processes on this machine, started clean, dying with us."""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from typing import Any

__all__ = ["LIFELINE_SECONDS", "process_pool"]

#: How often a worker checks that the process that started it is still alive.
LIFELINE_SECONDS = 1.0


def _watch(parent: int) -> None:
    """End this worker as soon as ``parent`` is gone (a kill -9 gives it no chance to)."""
    while True:
        time.sleep(LIFELINE_SECONDS)
        try:
            os.kill(parent, 0)
        except ProcessLookupError:
            os._exit(1)
        except PermissionError:  # the pid now belongs to another user's process
            os._exit(1)


def _start_worker(
    parent: int, initializer: Callable[..., object] | None, initargs: tuple[Any, ...]
) -> None:
    threading.Thread(target=_watch, args=(parent,), name="lookalike-lifeline", daemon=True).start()
    if initializer is not None:
        initializer(*initargs)


def process_pool(
    jobs: int,
    *,
    initializer: Callable[..., object] | None = None,
    initargs: tuple[Any, ...] = (),
    **kwargs: Any,
) -> ProcessPoolExecutor:
    """Worker processes started clean (forkserver where the OS has it, else spawn).

    A plain fork copies the parent's threads' locks (OpenCV's and OpenMP's thread pools,
    progress-bar monitors) in whatever state they are, and a child can then hang for ever;
    a fresh interpreter cannot. Each worker watches the process that started the pool and
    exits within :data:`LIFELINE_SECONDS` of its death: after a kill -9 of ``lookalike
    index``, its workers once ran on for over an hour.
    """
    methods = multiprocessing.get_all_start_methods()
    ctx = multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
    if ctx.get_start_method() == "forkserver":
        ctx.set_forkserver_preload(["lookalike.features", "lookalike.methods"])
    return ProcessPoolExecutor(
        max_workers=jobs,
        mp_context=ctx,
        initializer=_start_worker,
        initargs=(os.getpid(), initializer, initargs),
        **kwargs,
    )
