"""The cluster engine: calls run as Ray tasks, on a cluster or on a Ray started here.

Why Ray (measured on a 2-core machine, docs/scale.md "Running on a cluster (Ray)"): it
retries a task whose worker process or node died (``max_retries``), so a lost node costs
only its tasks in flight; it puts a large shared argument (the keypoint features of a
verification) into its object store once, not into every task; and the projects this
one would sit beside (img2dataset, clip-retrieval, NeMo Curator) run on it. Dask starts
faster (~1 s against ~6-10 s) and installs smaller (24 MB against 240 MB), but those
seconds are paid once per run, and a run worth a cluster lasts hours.

Workers import ``lookalike`` themselves: install ``lookalike[ray]`` on every node (a
Ray started here shares this interpreter's environment). Files are read by path on the
workers, so the images (and the shard folder beside the catalog, see
:mod:`lookalike.store.shards`) must be on storage every node sees.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from lookalike.errors import WorkerDied, require

__all__ = ["MAX_RETRIES", "RayExecutor"]

#: Times Ray runs a task again after its worker process or node died.
MAX_RETRIES = 3
#: Tasks in flight per worker: enough to keep every CPU busy while results come back,
#: few enough that a run over millions of files never holds them all as task arguments.
IN_FLIGHT = 4


def _call(fn: Callable[..., Any], *call: Any) -> Any:
    return fn(*call)


class RayExecutor:
    """An :class:`~lookalike.engines.Executor` on Ray (see the module docstring).

    ``address``: a running cluster (``auto``, ``ray://host:10001``, ``host:6379``), or None
    to start Ray on this machine with ``jobs`` CPUs (0 = all). When Ray is already running
    in this process it is used as it is, and left running on :meth:`close`.
    """

    name = "ray"
    distributed = True

    def __init__(self, address: str | None = None, *, jobs: int = 0) -> None:
        ray = require("ray", "ray")
        self._ray = ray
        self._started = False
        if not ray.is_initialized():
            options: dict[str, Any] = {
                "include_dashboard": False,
                "configure_logging": False,
                "log_to_driver": False,
            }
            if address:
                options["address"] = address
            elif jobs:
                options["num_cpus"] = jobs
            ray.init(**options)
            self._started = True
        self._task = ray.remote(num_cpus=1, max_retries=MAX_RETRIES)(_call)

    @property
    def workers(self) -> int:
        """CPUs of the cluster: tasks that run at once (one CPU each)."""
        return max(1, int(self._ray.cluster_resources().get("CPU", 1)))

    def map(
        self,
        fn: Callable[..., Any],
        calls: Sequence[tuple[Any, ...]],
        *,
        shared: Any = None,
        on_crash: Callable[[tuple[Any, ...], str], Any] | None = None,
    ) -> Iterator[Any]:
        """``fn(*call)`` (or ``fn(shared, *call)``, ``shared`` put into the object store
        once) as Ray tasks, yielded in the order of ``calls``; at most
        :data:`IN_FLIGHT` tasks per worker are submitted ahead of the results.

        A task whose worker process died :data:`MAX_RETRIES` + 1 times (a crash in native
        code, not a lost node) yields ``on_crash(call, reason)``; without ``on_crash`` it
        ends the map with :class:`~lookalike.errors.WorkerDied`."""
        ray = self._ray
        head = () if shared is None else (ray.put(shared),)
        window = IN_FLIGHT * self.workers
        pending: deque[tuple[Any, tuple[Any, ...]]] = deque()

        def result(ref: Any, call: tuple[Any, ...]) -> Any:
            try:
                return ray.get(ref)
            except ray.exceptions.WorkerCrashedError:
                reason = f"the worker process died {MAX_RETRIES + 1} times on this task"
                if on_crash is None:
                    raise WorkerDied(reason) from None
                return on_crash(call, reason)

        try:
            for call in calls:
                pending.append((self._task.remote(fn, *head, *call), call))
                if len(pending) >= window:
                    yield result(*pending.popleft())
            while pending:
                yield result(*pending.popleft())
        finally:
            for ref, _ in pending:  # left early (an error, Ctrl+C): stop what is queued
                ray.cancel(ref, force=True)

    def close(self) -> None:
        """Shut Ray down if this executor started it."""
        if self._started:
            self._ray.shutdown()
            self._started = False

    def __enter__(self) -> RayExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
