"""The exception tree: every error names the file (or source) and the reason.

Callers catch :class:`LookalikeError` for anything the library raises on purpose.
A bad file in a batch never raises: it becomes a record with its reason instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from os import PathLike
from types import ModuleType


class LookalikeError(Exception):
    """Base of every error lookalike raises on purpose.

    ``source`` names the file, URL or member the error is about (or ``None``);
    ``reason`` is the human-readable cause, without the source.
    """

    def __init__(self, source: str | PathLike[str] | None, reason: str) -> None:
        self.source = None if source is None else str(source)
        self.reason = reason
        super().__init__(f"{self.source}: {reason}" if self.source else reason)


@dataclass(frozen=True)
class Failure:
    """A source that could not be processed, and why.

    ``lasting``: whether the reason belongs to the file (not an image, truncated) and may
    be stored in a cache; False when it belongs to the moment (a worker process that died:
    a decoder's crash, or the machine killing it), so a later run tries the file again.
    """

    path: str
    reason: str
    lasting: bool = field(default=True, compare=False)

    def to_dict(self) -> dict[str, str]:
        return {"path": self.path, "reason": self.reason}


class UsageError(LookalikeError, ValueError):
    """A call the library cannot honour: an argument out of range, an unknown name.

    The message says how to fix the call. A ValueError too, so callers that caught the
    built-in keep working.
    """

    def __init__(self, reason: str, source: str | PathLike[str] | None = None) -> None:
        super().__init__(source, reason)


class DecodeError(LookalikeError):
    """An image could not be read: empty, truncated, not an image, too large, ..."""


class UnsupportedFormatError(DecodeError):
    """Recognised content that no installed decoder reads (HEIC without pillow-heif)."""


class DocumentError(LookalikeError):
    """A document could not be opened or read: encrypted, corrupt, hostile, unknown type."""


class CollectionError(LookalikeError):
    """A collection / index is missing, corrupt or incompatible."""


#: Why a call has no result when its local worker process died. Not the file's failure (the
#: machine may have killed the worker): never kept in a catalog.
WORKER_DIED = "the worker process died (a crash in a decoder or other native code)"


class WorkerDied(LookalikeError):
    """A worker process died while running a call (a crash in native code: a decoder's
    segfault); callers that can split their work name the file instead (see
    :meth:`lookalike.engines.local.LocalExecutor.map`)."""

    def __init__(self, reason: str) -> None:
        super().__init__(None, reason)


class MissingDependencyError(LookalikeError, ImportError):
    """An optional dependency is missing; the message names the extra to install."""

    def __init__(self, module: str, extra: str) -> None:
        super().__init__(
            None,
            f"this feature needs the '{module}' package: pip install 'lookalike[{extra}]'",
        )
        self.module = module
        self.extra = extra


def require(module: str, extra: str) -> ModuleType:
    """Import an optional module, or raise MissingDependencyError naming the extra."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise MissingDependencyError(module, extra) from exc
