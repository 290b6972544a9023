"""The default executor: worker processes on this machine, started clean, dying with us."""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

__all__ = ["LIFELINE_SECONDS", "LocalExecutor", "parent_alive", "process_pool"]

#: How often a worker checks that the process that started it is still alive.
LIFELINE_SECONDS = 1.0


def _process_state(pid: int) -> tuple[str, str] | None:
    """``(state, start time)`` of ``pid`` from ``/proc``; None where there is no ``/proc``."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except FileNotFoundError:
        return ("X", "") if Path("/proc/self/stat").exists() else None
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[-1].split()
    return fields[0], fields[19] if len(fields) > 19 else ""


def parent_alive(pid: int, started: str | None = None) -> bool:
    """Whether ``pid`` still runs: not gone, not a zombie, and (given ``started``, its
    start time from ``/proc``) not another process that reused the number.

    ``os.kill(pid, 0)`` alone is not enough: a parent that has exited stays a zombie until
    its own parent reaps it, and a caller that reads the parent's stderr to the end before
    reaping it (``subprocess.communicate``) then waits for ever on a worker that still
    holds that stderr and believes its parent alive.
    """
    state = _process_state(pid)
    if state is None:  # no /proc (macOS): the number exists, zombie or not
        try:
            os.kill(pid, 0)
        except (ProcessLookupError, PermissionError):
            return False
        return True
    if state[0] in ("Z", "X", "x"):
        return False
    return not started or state[1] == started


def _watch(parent: int) -> None:
    """End this worker as soon as ``parent`` is gone (a kill -9 gives it no chance to)."""
    state = _process_state(parent)
    started = state[1] if state is not None else None
    while True:
        time.sleep(LIFELINE_SECONDS)
        if not parent_alive(parent, started):
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


_SHARED: list[Any] = []


def _keep_shared(value: Any) -> None:
    _SHARED[:] = [value]


def _call_shared(fn: Callable[..., Any], call: tuple[Any, ...]) -> Any:
    return fn(_SHARED[0], *call)


class LocalExecutor:
    """The default :class:`~lookalike.engines.Executor`: ``jobs`` worker processes here.

    Each :meth:`map` starts a :func:`process_pool` and ends it when the calls are done;
    with one worker, or a single call, the calls run in this process (no pool to start).
    """

    name = "local"
    distributed = False

    def __init__(self, jobs: int = 1) -> None:
        self.jobs = (os.cpu_count() or 1) if jobs == 0 else max(1, jobs)

    @property
    def workers(self) -> int:
        """Worker processes a map runs at once."""
        return self.jobs

    def map(
        self, fn: Callable[..., Any], calls: Sequence[tuple[Any, ...]], *, shared: Any = None
    ) -> Iterator[Any]:
        """``fn(*call)`` (or ``fn(shared, *call)``) for each call, in order."""
        if self.jobs <= 1 or len(calls) <= 1:
            for call in calls:
                yield fn(*call) if shared is None else fn(shared, *call)
            return
        if shared is None:
            with process_pool(self.jobs) as pool:
                futures = [pool.submit(fn, *call) for call in calls]
                for fut in futures:
                    yield fut.result()
            return
        with process_pool(self.jobs, initializer=_keep_shared, initargs=(shared,)) as pool:
            futures = [pool.submit(_call_shared, fn, call) for call in calls]
            for fut in futures:
                yield fut.result()
