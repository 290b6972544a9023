"""Executors for the work that runs in parallel: decoding and keypoint verification.

Every parallel step is a list of independent calls of one module-level function; an
:class:`Executor` runs them and yields their results in the order of the calls. Two
engines implement it:

* :class:`~lookalike.engines.local.LocalExecutor` (the default): worker processes on
  this machine (:func:`~lookalike.engines.local.process_pool`);
* :class:`~lookalike.engines.cluster.RayExecutor` (``lookalike[ray]``): tasks on a Ray
  cluster, or on a Ray started on this machine when no address is given. Ray retries a
  task whose worker or node died.

:func:`open_engine` is what the commands call (``--engine``, ``--address``, ``--jobs``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Protocol, runtime_checkable

__all__ = ["ENGINES", "Executor", "consumed", "one_by_one", "open_engine"]

#: The names ``--engine`` accepts.
ENGINES: tuple[str, ...] = ("local", "ray")


@contextmanager
def consumed(results: Iterator[Any]) -> Iterator[Iterator[Any]]:
    """``results`` of :meth:`Executor.map`, closed when the block is left by any means.

    A local map is a generator holding its worker pool: left suspended by an exception
    (Ctrl+C between two results), it would end its workers only when collected, and at
    exit Python waits for work already handed out -- ten seconds and more after Ctrl+C.
    Closing it ends the workers at once.
    """
    try:
        yield results
    finally:
        close = getattr(results, "close", None)
        if close is not None:
            close()


@runtime_checkable
class Executor(Protocol):
    """Runs independent calls of a module-level function in parallel.

    ``name`` says which engine it is; ``workers`` how many calls run at once (callers
    size their chunks by it). ``distributed`` is True when the calls may run on other
    machines: they must then read files by path (from storage every node sees) rather
    than receive bytes from the caller.
    """

    name: str
    distributed: bool

    @property
    def workers(self) -> int: ...

    def map(
        self,
        fn: Callable[..., Any],
        calls: Sequence[tuple[Any, ...]],
        *,
        shared: Any = None,
        on_crash: Callable[[tuple[Any, ...], str], Any] | None = None,
    ) -> Iterator[Any]:
        """``fn(*call)`` for each call -- ``fn(shared, *call)`` when ``shared`` is given,
        sent to each worker once -- yielded in the order of ``calls``.

        A call whose worker process dies running it (a crash in native code) yields
        ``on_crash(call, reason)`` instead, the other calls going on; without
        ``on_crash`` the map ends with :class:`~lookalike.errors.WorkerDied`."""
        ...


def one_by_one(
    executor: Executor,
    fn: Callable[..., Any],
    merge: Callable[[list[Any]], Any],
    failed: Callable[[Any, str], Any],
) -> Callable[[tuple[Any, ...], str], Any]:
    """An ``on_crash`` for :meth:`Executor.map` of calls whose first argument is a list of
    items (files): the call whose worker died runs again as one call per item, so only
    the item that crashes fails (``failed(item, reason)``), and ``merge`` joins the items'
    results, in order, into the call's result."""

    def on_crash(call: tuple[Any, ...], reason: str) -> Any:
        items, *rest = call
        if len(items) == 1:
            return failed(items[0], reason)
        singles = [([item], *rest) for item in items]
        with consumed(executor.map(fn, singles, on_crash=on_crash)) as each:
            return merge(list(each))

    return on_crash


@contextmanager
def open_engine(
    name: str = "local", address: str | None = None, *, jobs: int = 1
) -> Iterator[Executor]:
    """The executor a command asked for, shut down when the block ends.

    ``local``: ``jobs`` worker processes (0 = one per CPU). ``ray``: the Ray cluster at
    ``address`` (``auto``, ``ray://host:10001``, ``host:6379``), or a Ray started here for
    the run with ``jobs`` CPUs (0 = all) when ``address`` is None. Raises
    :class:`~lookalike.errors.UsageError` for an unknown engine or an address given to the
    local engine, and :class:`~lookalike.errors.MissingDependencyError` naming the ``ray``
    extra when Ray is not installed.
    """
    from lookalike.errors import UsageError

    if name == "local":
        if address:
            raise UsageError("--address names a cluster: use it with --engine ray")
        from lookalike.engines.local import LocalExecutor

        yield LocalExecutor(jobs)
        return
    if name == "ray":
        from lookalike.engines.cluster import RayExecutor

        with RayExecutor(address, jobs=jobs) as ex:
            yield ex
        return
    raise UsageError(f"unknown engine {name!r}; choose one of {', '.join(ENGINES)}")
