"""The default executor: worker processes on this machine, started clean, dying with us."""

from __future__ import annotations

import multiprocessing
import os
import signal
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
    # Ctrl+C reaches the whole process group: the parent decides, the workers are ended
    # by it (see _Pool), so they print no KeyboardInterrupt tracebacks of their own.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_watch, args=(parent,), name="lookalike-lifeline", daemon=True).start()
    if initializer is not None:
        initializer(*initargs)


class _Pool(ProcessPoolExecutor):
    """A process pool that, when its block is left by an exception (Ctrl+C included),
    ends its workers at once instead of waiting for the work already handed out."""

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> bool | None:
        if exc_type is None:
            return super().__exit__(exc_type, exc, tb)
        self.terminate()
        return None

    def terminate(self) -> None:
        """Cancel what has not started and end every worker (within about a second)."""
        workers = list((getattr(self, "_processes", None) or {}).values())
        self.shutdown(wait=False, cancel_futures=True)
        for p in workers:
            p.terminate()
        deadline = time.monotonic() + 1.0
        for p in workers:
            p.join(max(0.0, deadline - time.monotonic()))
            if p.is_alive():
                p.kill()


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
        ctx.set_forkserver_preload(
            ["lookalike.engines.forkserver_child", "lookalike.features", "lookalike.methods"]
        )
    return _Pool(
        max_workers=jobs,
        mp_context=ctx,
        initializer=_start_worker,
        initargs=(os.getpid(), initializer, initargs),
        **kwargs,
    )
