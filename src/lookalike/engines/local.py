"""The default executor: worker processes on this machine, started clean, dying with us."""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

from lookalike.errors import WORKER_DIED, WorkerDied

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
) -> _Pool:
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
    with one worker, or a single call, the calls run in this process (no pool to start:
    a crash in native code then ends this process, ``on_crash`` or not).
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
        self,
        fn: Callable[..., Any],
        calls: Sequence[tuple[Any, ...]],
        *,
        shared: Any = None,
        on_crash: Callable[[tuple[Any, ...], str], Any] | None = None,
    ) -> Iterator[Any]:
        """``fn(*call)`` (or ``fn(shared, *call)``) for each call, in order.

        A worker process that dies running a call (a crash in native code: a decoder's
        segfault) breaks the whole pool. Without ``on_crash`` that ends the map with
        :class:`~lookalike.errors.WorkerDied`; with it, the calls that were in flight are
        run again one at a time, so the one that kills its worker is known, and
        ``on_crash(call, reason)`` is yielded in its place; the rest go on in parallel.
        """
        in_process = self.jobs <= 1 or len(calls) <= 1
        if in_process:
            for call in calls:
                yield fn(*call) if shared is None else fn(shared, *call)
            return
        options: dict[str, Any] = (
            {} if shared is None else {"initializer": _keep_shared, "initargs": (shared,)}
        )

        def submit(pool: ProcessPoolExecutor, call: tuple[Any, ...]) -> Future[Any]:
            if shared is None:
                return pool.submit(fn, *call)
            return pool.submit(_call_shared, fn, call)

        results: dict[int, Any] = {}  # finished out of order, or run alone
        nxt = 0  # the next call to yield
        while nxt < len(calls):
            todo = [i for i in range(nxt, len(calls)) if i not in results]
            with process_pool(self.jobs, **options) as pool:
                futures = {i: submit(pool, calls[i]) for i in todo}
                try:
                    while nxt < len(calls):
                        if nxt not in results:
                            results[nxt] = futures[nxt].result()
                        yield results.pop(nxt)
                        nxt += 1
                    return
                except BrokenProcessPool:
                    if on_crash is None:
                        raise WorkerDied(WORKER_DIED) from None
                    for i, fut in futures.items():  # keep what finished before the death
                        if fut.done() and not fut.cancelled() and fut.exception() is None:
                            results.setdefault(i, fut.result())
                    pool.terminate()
            # Calls reach the workers in order, through a queue of jobs + 1: the one that
            # killed its worker is among the first 2 * jobs + 1 unfinished. Run those
            # alone, in a one-worker pool started again after each death.
            unfinished = [i for i in range(nxt, len(calls)) if i not in results]
            alone = process_pool(1, **options)
            try:
                for i in unfinished[: 2 * self.jobs + 1]:
                    try:
                        results[i] = submit(alone, calls[i]).result()
                    except BrokenProcessPool:
                        results[i] = on_crash(calls[i], WORKER_DIED)
                        alone.terminate()
                        alone = process_pool(1, **options)
            finally:
                alone.terminate()
