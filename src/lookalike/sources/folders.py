"""Walk folders (and the zip archives in them) and yield every image file, found by content.

Why by content: photos copied off phones and chat apps often have no extension or a wrong
one, and a file named ``.jpg`` may be a web page that a browser saved. So every regular
file's first bytes are read and matched against the magic numbers of image formats
(:func:`sniff`); the extension is used only to decide what to *report*:

* a file whose content is an image is yielded as an :class:`Entry`, whatever its name;
* a file named like an image (``.jpg``, ``.png``, ...) whose content is not one is yielded
  as a :class:`~lookalike.features.Failure` with the reason (text, PDF, empty, ...);
* any other file (``.txt``, ``.py``, a video, ...) is silently ignored;
* a zip archive (by content; Office / OpenDocument / EPUB packages excluded, they belong to
  :mod:`lookalike.sources.documents`) is opened and its image members yielded. Archives
  inside archives are not opened (not needed for photo collections; a nested zip member is
  ignored like any other non-image member).

Archive members are named ``ARCHIVE!//MEMBER``: the archive's path, ``!//``, then the
member name as stored in the zip (forward slashes), e.g.
``/photos/2019.zip!//trip/IMG_0001.jpg``. The separator cannot occur in a real path: scanned
paths are normalised, and a normalised path never holds ``//`` (Java's ``jar:`` convention,
``!/``, could: a folder named ``x.zip!`` beside ``x.zip`` made a real file and an archive
member share one name, and a unique file was deleted as a copy). :attr:`Entry.archive` and
:attr:`Entry.member` hold the two parts, so nobody has to split the string. A member's
``mtime_ns`` and ``ctime_ns`` are its archive's: when the archive changes, every member
counts as changed (zip timestamps have a two-second resolution and local time, too weak
for a cache key).

Robustness: paths are absolute (not resolved: links keep their names); symbolic links are
followed by default, every directory is entered at most once (visited ``(st_dev, st_ino)``,
so a link to a parent folder cannot loop), and a file reached twice (through a link or a
hard link) is yielded once, under its first name in sorted order. An unreadable folder or
file becomes a Failure and the scan goes on. Order is deterministic: depth first, names
sorted by code point.
"""

from __future__ import annotations

import fnmatch
import os
import stat
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from lookalike.errors import Failure, LookalikeError
from lookalike.formats import HEAD_BYTES, IMAGE_EXTENSIONS, MAGICLESS, describe, sniff

__all__ = [
    "IMAGE_EXTENSIONS",
    "MAX_MEMBER_BYTES",
    "MAX_RATIO",
    "MEMBER_SEP",
    "Entry",
    "Filters",
    "scan",
]

#: Separator between an archive's path and a member's name in :attr:`Entry.path`; a
#: normalised file path never contains it (see the module docstring).
MEMBER_SEP = "!//"
#: A zip member larger than this (uncompressed) is refused (zip bomb guard).
MAX_MEMBER_BYTES = 256 * 1024 * 1024
#: A zip member that expands more than this many times is refused (zip bomb guard);
#: ratios are only checked above 1 MiB, where bombs matter.
MAX_RATIO = 100
_RATIO_FLOOR = 1024 * 1024


@dataclass(frozen=True)
class Entry:
    """One image found by :func:`scan`: where it is, its size and time, how to read it.

    ``path`` is absolute; for a zip member it is ``ARCHIVE!/MEMBER`` (see the module doc)
    and ``archive`` / ``member`` hold the parts. ``mtime_ns`` is the file's (for a member:
    the archive's) modification time in nanoseconds, ``ctime_ns`` its inode change time
    (0 when unknown): a file rewritten with its size and mtime kept still gets a new
    ctime, so the cache cannot serve a stale digest. ``kind`` is the sniffed format.
    """

    path: str
    size: int
    mtime_ns: int
    kind: str = ""
    archive: str | None = None
    member: str | None = None
    ctime_ns: int = 0

    def read(self) -> bytes:
        """The file's bytes; a member's are read from its archive within the bomb limits.

        Raises OSError when the file cannot be read, LookalikeError when a member is
        refused (too large, encrypted, corrupt archive).
        """
        if self.archive is None:
            with open(self.path, "rb") as f:
                return f.read()
        assert self.member is not None
        try:
            with zipfile.ZipFile(self.archive) as zf:
                info = zf.getinfo(self.member)
                check_member(info)
                with zf.open(info) as f:
                    data = f.read(MAX_MEMBER_BYTES + 1)
        except (
            zipfile.BadZipFile,
            zipfile.LargeZipFile,
            KeyError,
            RuntimeError,
            NotImplementedError,
            EOFError,
        ) as exc:
            raise LookalikeError(self.path, f"cannot read archive member: {exc}") from None
        if len(data) > MAX_MEMBER_BYTES:  # the header lied about the size
            raise LookalikeError(self.path, "archive member larger than declared (zip bomb?)")
        return data


def _special(st: os.stat_result) -> str:
    """What a non-regular file is, in words."""
    if stat.S_ISFIFO(st.st_mode):
        return "a named pipe (FIFO)"
    if stat.S_ISSOCK(st.st_mode):
        return "a socket"
    if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode):
        return "a device"
    return "not a regular file"


def _not_image(path: str, head: bytes) -> Failure:
    return Failure(path, f"named like an image but not one: the content is {describe(head)}")


def check_member(info: zipfile.ZipInfo) -> None:
    """Refuse members whose declared size or ratio says zip bomb, and encrypted ones."""
    if info.flag_bits & 0x1:
        raise LookalikeError(None, "encrypted archive member")
    if info.file_size > MAX_MEMBER_BYTES:
        raise LookalikeError(
            None,
            f"archive member too large: {info.file_size} bytes exceeds "
            f"{MAX_MEMBER_BYTES} (zip bomb guard)",
        )
    if info.file_size > _RATIO_FLOOR and info.file_size > MAX_RATIO * max(info.compress_size, 1):
        raise LookalikeError(
            None,
            f"archive member expands {info.file_size / max(info.compress_size, 1):.0f}x, "
            f"more than {MAX_RATIO}x (zip bomb guard)",
        )


def _is_document_package(zf: zipfile.ZipFile) -> bool:
    """OOXML, OpenDocument and EPUB files are zips too, but documents, not photo archives."""
    names = zf.namelist()
    return "[Content_Types].xml" in names or (bool(names) and names[0] == "mimetype")


def _members(archive: str, mtime_ns: int, ctime_ns: int) -> Iterator[Entry | Failure]:
    """Image members of one zip archive, sorted by name; refused members as failures."""
    try:
        with zipfile.ZipFile(archive) as zf:
            if _is_document_package(zf):
                if os.path.splitext(archive)[1].lower() in IMAGE_EXTENSIONS:
                    yield _not_image(archive, b"PK\x03\x04")
                return
            infos = sorted((i for i in zf.infolist() if not i.is_dir()), key=lambda i: i.filename)
            for info in infos:
                path = archive + MEMBER_SEP + info.filename
                ext = os.path.splitext(info.filename)[1].lower()
                try:
                    check_member(info)
                    with zf.open(info) as f:
                        head = f.read(HEAD_BYTES)
                except LookalikeError as exc:
                    yield Failure(path, exc.reason)
                    continue
                except (
                    zipfile.BadZipFile,
                    RuntimeError,
                    NotImplementedError,
                    OSError,
                    EOFError,
                ) as exc:
                    yield Failure(path, f"cannot read archive member: {exc}")
                    continue
                kind = sniff(head)
                if kind == "zip":
                    continue  # nested archives are not opened
                if kind is None and ext in MAGICLESS:
                    kind = ext[1:]
                if kind is not None:
                    yield Entry(
                        path, info.file_size, mtime_ns, kind, archive, info.filename, ctime_ns
                    )
                elif ext in IMAGE_EXTENSIONS:
                    yield _not_image(path, head)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError) as exc:
        yield Failure(archive, f"cannot open zip archive: {exc}")


@dataclass(frozen=True)
class Filters:
    """What a scan leaves out, as people ask for it.

    ``exclude``: folders (a path: it and all below it) or globs (``*``, ``?``, ``[``:
    matched against a name and against the whole path); ``hidden``: enter folders whose
    name starts with a dot; ``extensions``: only files with these extensions ("jpg",
    ".PNG": case and dot do not matter; zip members too); ``min_bytes``: smaller files
    are left out.
    """

    exclude: tuple[str, ...] = ()
    hidden: bool = True
    extensions: frozenset[str] = field(default_factory=frozenset)
    min_bytes: int = 0

    @staticmethod
    def normalise_extensions(text: Iterable[str]) -> frozenset[str]:
        """ "jpg", ".PNG" -> {".jpg", ".png"}."""
        return frozenset("." + e.strip().lower().lstrip(".") for e in text if e.strip())

    def excluded(self, path: str) -> bool:
        """Whether ``path`` (absolute) is left out by ``exclude``."""
        name = os.path.basename(path)
        for pattern in self.exclude:
            if any(ch in pattern for ch in "*?["):
                if fnmatch.fnmatchcase(name, pattern) or fnmatch.fnmatchcase(path, pattern):
                    return True
            else:
                folder = os.path.abspath(pattern)
                if path == folder or path.startswith(folder.rstrip(os.sep) + os.sep):
                    return True
        return False

    def wanted(self, name: str, size: int) -> bool:
        """Whether a file of this name and size passes ``extensions`` and ``min_bytes``."""
        if size < self.min_bytes:
            return False
        return not self.extensions or os.path.splitext(name)[1].lower() in self.extensions


NO_FILTERS = Filters()


class _Walker:
    """One scan's state: the directories and files already seen."""

    def __init__(
        self,
        recursive: bool,
        include_archives: bool,
        follow_symlinks: bool,
        filters: Filters = NO_FILTERS,
    ):
        self.recursive = recursive
        self.include_archives = include_archives
        self.follow_symlinks = follow_symlinks
        self.filters = filters
        self.dirs: set[tuple[int, int]] = set()
        self.files: set[tuple[int, int]] = set()

    def file(self, path: str, st: os.stat_result, explicit: bool) -> Iterator[Entry | Failure]:
        """Sniff one regular file; yield its entry (or members), a failure, or nothing."""
        ident = (st.st_dev, st.st_ino)
        if ident in self.files:
            return
        self.files.add(ident)
        ext = os.path.splitext(path)[1].lower()
        try:
            with open(path, "rb") as f:
                head = f.read(HEAD_BYTES)
        except OSError as exc:
            yield Failure(path, f"cannot read: {exc.strerror or exc}")
            return
        kind = sniff(head)
        if kind == "zip":
            if self.include_archives:
                for item in _members(path, st.st_mtime_ns, st.st_ctime_ns):
                    if isinstance(item, Failure) or self.filters.wanted(
                        item.member or item.path, item.size
                    ):
                        yield item
            return
        if not self.filters.wanted(path, st.st_size):
            return
        if kind is None and ext in MAGICLESS:
            kind = ext[1:]
        if kind is not None:
            yield Entry(path, st.st_size, st.st_mtime_ns, kind, ctime_ns=st.st_ctime_ns)
        elif explicit or ext in IMAGE_EXTENSIONS:
            yield (
                _not_image(path, head)
                if ext in IMAGE_EXTENSIONS
                else Failure(path, f"not an image: the content is {describe(head)}")
            )

    def directory(self, path: str, st: os.stat_result) -> Iterator[Entry | Failure]:
        """Walk one directory, entering each (device, inode) once."""
        ident = (st.st_dev, st.st_ino)
        if ident in self.dirs:
            return  # a link back to a folder already walked: a loop or a second name
        self.dirs.add(ident)
        try:
            with os.scandir(path) as it:
                names = sorted(e.name for e in it)
        except OSError as exc:
            yield Failure(path, f"cannot list folder: {exc.strerror or exc}")
            return
        for name in names:
            child = os.path.join(path, name)
            if self.filters.exclude and self.filters.excluded(child):
                continue
            try:
                lst = os.lstat(child)
                if stat.S_ISLNK(lst.st_mode):
                    if not self.follow_symlinks:
                        continue
                    try:
                        cst = os.stat(child)
                    except OSError:
                        if os.path.splitext(name)[1].lower() in IMAGE_EXTENSIONS:
                            yield Failure(child, "broken symbolic link")
                        continue
                else:
                    cst = lst
            except OSError as exc:
                yield Failure(child, f"cannot stat: {exc.strerror or exc}")
                continue
            if stat.S_ISDIR(cst.st_mode):
                if self.recursive and (self.filters.hidden or not name.startswith(".")):
                    yield from self.directory(child, cst)
            elif stat.S_ISREG(cst.st_mode):
                yield from self.file(child, cst, explicit=False)
            elif os.path.splitext(name)[1].lower() in IMAGE_EXTENSIONS:
                # sockets, fifos, devices are never opened (a fifo would block); one named
                # like an image is reported, so nothing that looks like a picture is lost
                yield Failure(child, f"named like an image but not a file: {_special(cst)}")


def scan(
    paths: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
    *,
    recursive: bool = True,
    include_archives: bool = True,
    follow_symlinks: bool = True,
    filters: Filters = NO_FILTERS,
) -> Iterator[Entry | Failure]:
    """Every image under ``paths`` (folders, files, zip archives), as Entry or Failure.

    Paths given explicitly are always followed when they are links; a file given
    explicitly that is not an image is reported whatever its name. ``recursive=False``
    lists only the files directly in each folder; ``include_archives=False`` skips zip
    archives; ``follow_symlinks=False`` skips every symbolic link met inside folders.
    ``filters`` (:class:`Filters`) leaves out excluded paths, hidden folders, other
    extensions and small files, silently. See the module docstring for what is yielded,
    ignored or reported.
    """
    if isinstance(paths, str | os.PathLike):
        paths = [paths]
    walker = _Walker(recursive, include_archives, follow_symlinks, filters)
    for p in paths:
        path = os.path.abspath(os.fspath(p))
        try:
            st = os.stat(path)
        except FileNotFoundError:
            yield Failure(path, "no such file or folder")
            continue
        except OSError as exc:
            yield Failure(path, f"cannot stat: {exc.strerror or exc}")
            continue
        if stat.S_ISDIR(st.st_mode):
            yield from walker.directory(path, st)
        elif stat.S_ISREG(st.st_mode):
            yield from walker.file(path, st, explicit=True)
        else:
            yield Failure(path, "not a regular file or folder")
