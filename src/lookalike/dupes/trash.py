"""The desktop trash, as the freedesktop.org Trash specification (1.0) defines it.

A trashed file is renamed into ``TRASH/files/NAME`` after ``TRASH/info/NAME.trashinfo``
has been created (exclusively: the name is reserved by the info file) holding::

    [Trash Info]
    Path=/home/me/photos/IMG%201.jpg
    DeletionDate=2026-03-01T12:30:05

``TRASH`` is the home trash, ``$XDG_DATA_HOME/Trash`` (``~/.local/share/Trash``), when the
file is on the same device; else the file's mount point's ``.Trash/$UID`` (when
``.Trash`` exists, is sticky and not a link) or ``.Trash-$UID`` (created, mode 0700).
A file is never copied across devices: trashing is one ``rename``, so it is all or nothing.
File managers list and restore what is trashed here; :func:`restore` puts a file back.
"""

from __future__ import annotations

import os
import stat
import time
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

from lookalike.errors import LookalikeError

__all__ = ["Trashed", "home_trash", "reserve", "restore", "trash_dir", "trash_file"]


@dataclass(frozen=True)
class Trashed:
    """Where a file goes (or went) in the trash: its new path and its info file."""

    files_path: str
    info_path: str


def home_trash() -> Path:
    """``$XDG_DATA_HOME/Trash`` (default ``~/.local/share/Trash``)."""
    data = os.environ.get("XDG_DATA_HOME")
    base = Path(data) if data and os.path.isabs(data) else Path.home() / ".local" / "share"
    return base / "Trash"


def _mount_point(path: str) -> str:
    path = os.path.realpath(path)
    while not os.path.ismount(path):
        parent = os.path.dirname(path)
        if parent == path:
            break
        path = parent
    return path


def _device(path: Path) -> int | None:
    """The device of ``path`` or of its nearest existing parent."""
    for p in (path, *path.parents):
        try:
            return os.stat(p).st_dev
        except OSError:
            continue
    return None


def trash_dir(path: str) -> tuple[Path, str | None]:
    """The trash folder for ``path`` and the top directory its info paths are relative to
    (None for the home trash, whose info paths are absolute)."""
    dev = os.stat(path).st_dev
    home = home_trash()
    if _device(home) == dev:
        return home, None
    top = _mount_point(os.path.dirname(os.path.abspath(path)))
    uid = os.getuid() if hasattr(os, "getuid") else 0
    shared = Path(top) / ".Trash"
    try:
        st = os.lstat(shared)
        if stat.S_ISDIR(st.st_mode) and st.st_mode & stat.S_ISVTX:
            return shared / str(uid), top
    except OSError:
        pass
    return Path(top) / f".Trash-{uid}", top


def reserve(path: str) -> Trashed:
    """Choose the trash name for ``path`` (not yet taken); creates nothing but folders."""
    root, _ = trash_dir(path)
    for sub in ("files", "info"):
        (root / sub).mkdir(parents=True, exist_ok=True, mode=0o700)
    base = os.path.basename(path)
    stem, suffix = os.path.splitext(base)
    for k in range(100_000):
        name = base if k == 0 else f"{stem}.{k}{suffix}"
        info = root / "info" / f"{name}.trashinfo"
        files = root / "files" / name
        if not info.exists() and not os.path.lexists(files):
            return Trashed(str(files), str(info))
    raise LookalikeError(path, f"no free name in the trash {root}")


def _info_text(path: str, top: str | None) -> str:
    shown = os.path.relpath(path, top) if top else os.path.abspath(path)
    quoted = urllib.parse.quote(shown.encode("utf-8", "surrogateescape"), safe="/")
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S")
    return f"[Trash Info]\nPath={quoted}\nDeletionDate={stamp}\n"


def trash_file(path: str, slot: Trashed) -> None:
    """Move ``path`` into the trash at ``slot`` (from :func:`reserve`): the info file
    first (exclusive create), then one rename. Raises OSError (the info file is removed
    again when the rename fails)."""
    _, top = trash_dir(path)
    fd = os.open(slot.info_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(_info_text(path, top))
        fh.flush()
        os.fsync(fh.fileno())
    try:
        os.rename(path, slot.files_path)
    except OSError:
        os.unlink(slot.info_path)
        raise


def restore(slot: Trashed, original: str) -> None:
    """Put a trashed file back where it was, then drop its info file. Never overwrites."""
    if os.path.lexists(original):
        raise FileExistsError(0, "a file is already there", original)
    os.makedirs(os.path.dirname(original), exist_ok=True)
    os.rename(slot.files_path, original)
    if slot.info_path:
        Path(slot.info_path).unlink(missing_ok=True)
