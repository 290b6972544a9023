"""Imported by the forkserver process (a preload module): children started while the pool
that asked for them is being torn down exit without a traceback.

Why: on Ctrl+C the parent ends its pool at once (:class:`lookalike.engines.local._Pool`),
removing the pool's semaphores. A child the forkserver is forking at that moment then
fails to unpickle its start-up state (``FileNotFoundError`` from ``SemLock._rebuild``, or
``EOFError`` / ``ConnectionError`` from the closed pipe), and the forkserver prints that
traceback on the user's terminal after "lookalike: interrupted". Those errors mean only
that the parent no longer wants the child; any other error is still shown.
"""

from __future__ import annotations

import sys
from types import TracebackType

__all__ = ["quiet_when_orphaned"]

_PARENT_GONE = (FileNotFoundError, EOFError, ConnectionError)
_default_hook = sys.excepthook


def quiet_when_orphaned(
    kind: type[BaseException], value: BaseException, tb: TracebackType | None
) -> None:
    """``sys.excepthook`` of the forkserver: silent for a child its parent gave up on."""
    if issubclass(kind, _PARENT_GONE):
        return
    _default_hook(kind, value, tb)


sys.excepthook = quiet_when_orphaned
