"""The re-checks every move, trash or delete runs first, and the paths they act on.

Minutes can pass between the scan and the action, and files change meanwhile. So before
a copy is moved, trashed or deleted (:func:`lookalike.dupes.plan.apply_plan`, which the
CLI, ``lookalike apply`` and the review page all use):

* its group's keeper must still be there, holding the bytes that were compared (else the
  copy might be the last one left);
* the copy must still hold the bytes that were compared (else it is another picture now);
* the copy must not be the keeper under another name (a link).

Anything that fails a check is skipped, with the reason, and the rest goes on. Moves
never overwrite (a name already taken gets `` (1)``, `` (2)``... before its suffix), and
a destination that is a scanned folder, or holds one, is refused before any work.
"""

from __future__ import annotations

import os
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from lookalike.errors import LookalikeError
from lookalike.sources.folders import MAX_MEMBER_BYTES, MEMBER_SEP
from lookalike.store.catalog import content_digest
from lookalike.store.catalog import file_digest as catalog_file_digest


@dataclass(frozen=True)
class Action:
    """One planned or done step: ``kind`` is "move", "trash", "delete", "skip" or
    "restore" (an undo)."""

    kind: str
    path: str
    target: str | None = None
    reason: str = ""
    done: bool = False
    error: str | None = None

    def to_dict(self) -> dict[str, object]:
        return {
            "action": self.kind,
            "path": self.path,
            "target": self.target,
            "reason": self.reason,
            "done": self.done,
            "error": self.error,
        }


def file_digest(path: str) -> str | None:
    """Hex of the catalog's digest of a file's bytes (an archive member's too), or None if
    unreadable; read in 1 MiB blocks, a member within the zip-bomb limit."""
    try:
        if MEMBER_SEP not in path:
            return catalog_file_digest(path).hex()
        archive, member = path.split(MEMBER_SEP, 1)
        with zipfile.ZipFile(archive) as zf, zf.open(member) as fh:
            data = fh.read(MAX_MEMBER_BYTES + 1)
        return None if len(data) > MAX_MEMBER_BYTES else content_digest(data).hex()
    except (OSError, KeyError, zipfile.BadZipFile, RuntimeError, NotImplementedError):
        return None


class Checker:
    """The re-checks of one action run; each keeper is verified once.

    ``digests``: path -> hex BLAKE2b-128 of the bytes that were compared (a report's or
    a plan's)."""

    def __init__(self, digests: dict[str, str]) -> None:
        self.digests = digests
        self._keepers: dict[str, str | None] = {}

    def _keeper_problem(self, keeper: str) -> str | None:
        if keeper not in self._keepers:
            expected = self.digests.get(keeper)
            now = file_digest(keeper)
            if expected is None:
                self._keepers[keeper] = "the keeper's content was never recorded"
            elif now is None:
                self._keepers[keeper] = f"the keeper {keeper} is gone or unreadable"
            elif now != expected:
                self._keepers[keeper] = f"the keeper {keeper} changed since the scan"
            else:
                self._keepers[keeper] = None
        return self._keepers[keeper]

    def problem(self, copy: str, keeper: str) -> str | None:
        """Why ``copy`` must not be touched now, or None when it is safe to."""
        reason = self._keeper_problem(keeper)
        if reason is not None:
            return f"{reason}: copy kept"
        expected = self.digests.get(copy)
        now = file_digest(copy)
        if expected is None:
            return "its content was never recorded: kept"
        if now is None:
            return "gone or unreadable since the scan"
        if now != expected:
            return "changed since the scan: it is not the picture that was compared"
        if MEMBER_SEP not in copy and MEMBER_SEP not in keeper:
            try:
                if os.path.samefile(copy, keeper):
                    return "it is the keeper under another name (a link): kept"
            except OSError:
                return "cannot be compared with its keeper on disk: kept"
        return None


def relative_to_roots(path: str, roots: list[str]) -> str:
    """``path`` relative to the deepest root that contains it, else its bare name."""
    best = None
    for root in roots:
        try:
            rel = os.path.relpath(path, root)
        except ValueError:
            continue
        if not rel.startswith(os.pardir) and (best is None or len(rel) < len(best)):
            best = rel
    return best if best is not None else os.path.basename(path)


def free_name(target: Path) -> Path:
    if not target.exists():
        return target
    for k in range(1, 100_000):
        candidate = target.with_name(f"{target.stem} ({k}){target.suffix}")
        if not candidate.exists():
            return candidate
    raise FileExistsError(f"no free name for {target}")


def scan_roots(roots: Sequence[str | os.PathLike[str]]) -> list[str]:
    """The folders the scan started from (a file's folder when a file was named)."""
    out = []
    for r in roots:
        path = os.path.abspath(os.fspath(r))
        out.append(path if os.path.isdir(path) else os.path.dirname(path))
    return out


def check_destination(
    dest: str | os.PathLike[str], roots: Sequence[str | os.PathLike[str]]
) -> None:
    """Refuse a ``--move-to`` folder that is a scanned folder or holds one.

    Moving copies "into" the folder they came from only renames them in place, and a
    destination above a scanned folder would do the same for every copy. A destination
    *inside* a scanned folder is allowed: copies already there are left alone.
    Raises LookalikeError naming the folder, before any work starts.
    """
    target = os.path.realpath(os.fspath(dest))
    for root in scan_roots(roots):
        real = os.path.realpath(root)
        if real == target or real.startswith(target.rstrip(os.sep) + os.sep):
            raise LookalikeError(
                os.fspath(dest),
                f"the destination is (or holds) the scanned folder {root}: the copies "
                "would only be renamed in place; choose a folder outside it",
            )
