"""The archive of checked documents (``lookalike docs --archive DIR``).

Every figure of every document checked with the same archive is kept, so that a new run
answers "has this figure appeared in anything we checked before?". The archive is a
folder::

    DIR/collection.json, catalog.sqlite, index.npz, uploads/
                         a :class:`~lookalike.search.collection.Collection` holding the
                         compared image of each figure (a metafile's PNG rendering), one
                         file per distinct picture (named by a digest of its bytes)
    DIR/documents.sqlite the side table: for each stored picture, the documents it was
                         found in, its name and location there, and the date checked

A new figure is searched with :meth:`Collection.search` (pHash and its rotations and
mirror images, colour, content, then ORB keypoints for crops); the hits the cascade calls
alike at or above the threshold become :class:`EarlierPair` rows. Only afterwards are the
new figures added, so a run never finds its own pictures.
"""

from __future__ import annotations

import io
import os
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from lookalike.decode import load
from lookalike.doccheck.records import EarlierFigure
from lookalike.errors import LookalikeError
from lookalike.search.collection import Collection

__all__ = ["ArchivedFigure", "DocumentArchive"]

SIDE_TABLE = "documents.sqlite"
#: The short side the collection decodes figures at (as its own uploads).
ARCHIVE_MIN_SIZE = 64
#: Hits examined per searched figure.
SEARCH_HITS = 10
_ALIKE = ("identical", "similar")


@dataclass(frozen=True)
class ArchivedFigure:
    """A figure to add: the file compared, and where it was found."""

    compare: Path
    document: str
    image: str
    location: str | None


class DocumentArchive:
    """A folder of figures of checked documents (see the module docstring)."""

    def __init__(self, directory: str | os.PathLike[str], *, model: str | None = None) -> None:
        """``model``: add the learned layer to the archive's collection (kept once added)."""
        self.directory = Path(os.path.abspath(os.fspath(directory)))
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            self.collection = Collection(self.directory, create=True, model=model)
            self._db = sqlite3.connect(self.directory / SIDE_TABLE)
        except OSError as exc:
            raise LookalikeError(
                self.directory, f"cannot open the archive: {exc.strerror or exc}"
            ) from None
        with self._db:
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS figures (file TEXT NOT NULL, document TEXT NOT NULL,"
                " image TEXT NOT NULL, location TEXT, checked TEXT NOT NULL,"
                " UNIQUE (file, document, image, location, checked))"
            )
            self._db.execute("CREATE INDEX IF NOT EXISTS figures_file ON figures (file)")

    def __len__(self) -> int:
        """How many figures (rows of the side table) the archive holds."""
        (n,) = self._db.execute("SELECT COUNT(*) FROM figures").fetchone()
        return int(n)

    def search(self, compare: Path, threshold: float) -> list[tuple[EarlierFigure, float, str]]:
        """The archived figures like the image at ``compare``: (figure, similarity, method),
        best first; only hits the cascade calls alike at or above ``threshold``."""
        if not len(self):
            return []
        result = self.collection.search(compare, k=SEARCH_HITS)
        found: list[tuple[EarlierFigure, float, str]] = []
        for hit in result.results:
            if hit.verdict not in _ALIKE or hit.similarity + 1e-9 < threshold:
                continue
            rows = self._db.execute(
                "SELECT document, image, location, checked FROM figures WHERE file = ?"
                " ORDER BY checked, document, image",
                (hit.path,),
            ).fetchall()
            for document, image, location, checked in rows:
                figure = EarlierFigure(document, image, location, checked, hit.path)
                found.append((figure, float(hit.similarity), hit.method))
        return found

    def add(self, figures: Sequence[ArchivedFigure], checked: str) -> list[str]:
        """Store ``figures`` as checked on ``checked`` (YYYY-MM-DD); returns a note for each
        figure that could not be stored (unreadable for the collection)."""
        notes: list[str] = []
        planned: list[tuple[ArchivedFigure, bytes]] = []
        for figure in figures:
            try:
                data = figure.compare.read_bytes()
                load(io.BytesIO(data), mode="L", min_size=ARCHIVE_MIN_SIZE, name=figure.image)
            except Exception as exc:  # unreadable: not archived, the run goes on
                notes.append(f"{figure.image}: not archived ({exc})"[:300])
                continue
            planned.append((figure, data))
        if not planned:
            return notes
        ids = self.collection.add([(f.image, data) for f, data in planned])
        with self._db:
            self._db.executemany(
                "INSERT OR IGNORE INTO figures (file, document, image, location, checked)"
                " VALUES (?, ?, ?, ?, ?)",
                [
                    (self.collection.image(i), f.document, f.image, f.location, checked)
                    for (f, _), i in zip(planned, ids, strict=True)
                ],
            )
        return notes

    def close(self) -> None:
        """Close the side table and the collection."""
        self._db.close()
        self.collection.close()

    def __enter__(self) -> DocumentArchive:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
