"""What a document check returns: the options, documents, pictures, pairs and rows.

These plain records are the one shape every face uses: the JSON of ``lookalike docs
--json``, the workbook ``图片相似度<date>.xlsx`` and the web page.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lookalike.match.cascade import DEFAULT_LAYERS
from lookalike.reports.labels import DOCUMENT_STATUS

SCOPES = ("within", "across", "both")
#: The extraction folder inside OUT, by language.
EXTRACT_FOLDER = {"zh": "图片提取", "en": "extracted"}
#: Pairs at or above this similarity are reported (ORB puts verified partial copies >= 0.85).
DEFAULT_THRESHOLD = 0.85
#: Pictures whose short side is below this many pixels (icons, bullets, rules) are skipped.
#: On the corpus (781 pictures) 43 are under 32 px: spacer GIFs, bullets, 16 px icons;
#: at 32 px sit the standard 32x32 Office icons, at 48-64 px real figures begin.
DEFAULT_MIN_SIZE = 32


@dataclass(frozen=True)
class ImagePairRow:
    """Two similar images from Office documents; ``document2`` is None in the same document.

    ``similarity`` is 0..1; ``thumb1`` / ``thumb2`` are the images (bytes or a path) to
    show, or None for no thumbnail.
    """

    document: str
    image1: str
    image2: str
    document2: str | None
    similarity: float
    method: str
    thumb1: bytes | str | os.PathLike[str] | None = None
    thumb2: bytes | str | os.PathLike[str] | None = None


@dataclass(frozen=True)
class DocumentRow:
    """One checked document: images compared, small images skipped, and its status."""

    document: str
    images: int
    skipped_small: int
    status: str


@dataclass(frozen=True)
class ErrorRow:
    """A document (or one of its images) that could not be checked, and why."""

    document: str
    reason: str


@dataclass(frozen=True)
class CheckOptions:
    """How a document check runs; the defaults are those of ``lookalike docs``."""

    out: str | os.PathLike[str] = "."
    #: Similarity (0..1) at or above which a pair the cascade calls alike is reported.
    threshold: float = DEFAULT_THRESHOLD
    scope: str = "both"
    lang: str = "zh"
    #: Pictures whose short side is below this (pixels) are skipped and counted.
    min_size: int = DEFAULT_MIN_SIZE
    jobs: int = 0
    methods: tuple[str, ...] = DEFAULT_LAYERS
    #: Metafile renderers to try (None = every installed one, best first).
    metafile_backends: tuple[str, ...] | None = None
    #: Write the workbook (False: only the extraction and the returned result).
    workbook: bool = True


@dataclass
class CheckedImage:
    """One picture of a document: where it was saved, and what was compared."""

    document: int  # index into DocumentCheck.documents
    name: str  # the saved file name: the name in the package, made safe
    path: Path  # the saved original bytes
    format: str
    location: str | None
    is_preview: bool
    digest: str  # BLAKE2b-128 of the original bytes
    compare: Path | None = None  # the file fingerprinted (a metafile's PNG); None = not compared
    width: int = 0
    height: int = 0
    skipped: str | None = None  # "small", "error"


@dataclass
class CheckedDocument:
    """One document: its name in the report, its extraction folder, its pictures."""

    path: Path
    name: str
    kind: str = ""
    folder: Path | None = None
    images: list[CheckedImage] = field(default_factory=list)
    skipped_small: int = 0
    error: str | None = None

    @property
    def status(self) -> str:
        """``ok``, ``no images`` or ``error``."""
        if self.error:
            return "error"
        return "ok" if self.images else "no images"

    def to_dict(self) -> dict[str, Any]:
        return {
            "document": self.name,
            "path": str(self.path),
            "kind": self.kind,
            "folder": str(self.folder) if self.folder else None,
            "images": len(self.images),
            "compared": sum(1 for i in self.images if i.compare is not None),
            "skipped_small": self.skipped_small,
            "status": self.status,
            "error": self.error,
        }


@dataclass(frozen=True)
class SimilarPair:
    """Two pictures at or above the threshold; ``method`` is the layer that decided."""

    image1: CheckedImage
    image2: CheckedImage
    similarity: float
    method: str

    @property
    def within(self) -> bool:
        return self.image1.document == self.image2.document


@dataclass
class DocumentCheck:
    """What a check found: documents, similar pairs, errors, and the workbook written."""

    documents: list[CheckedDocument] = field(default_factory=list)
    pairs: list[SimilarPair] = field(default_factory=list)
    errors: list[ErrorRow] = field(default_factory=list)
    workbook: Path | None = None
    #: What to install for pictures that could not be compared (rasterizers), deduplicated.
    missing: list[str] = field(default_factory=list)
    methods: list[str] = field(default_factory=list)
    stats: dict[str, Any] = field(default_factory=dict)
    lang: str = "zh"

    @property
    def images(self) -> list[CheckedImage]:
        return [i for d in self.documents for i in d.images]

    def pair_rows(self) -> list[ImagePairRow]:
        """The workbook's rows: document, image names, second document, similarity, method."""
        rows = []
        for p in self.pairs:
            d1, d2 = self.documents[p.image1.document], self.documents[p.image2.document]
            rows.append(
                ImagePairRow(
                    document=d1.name,
                    image1=p.image1.name,
                    image2=p.image2.name,
                    document2=None if p.within else d2.name,
                    similarity=p.similarity,
                    method=p.method,
                    thumb1=p.image1.compare,
                    thumb2=p.image2.compare,
                )
            )
        return rows

    def document_rows(self) -> list[DocumentRow]:
        """One row per document: pictures found, small ones skipped, status in ``lang``."""
        words = DOCUMENT_STATUS[self.lang]
        rows = []
        for d in self.documents:
            status = words[d.status]
            if d.error:
                status = f"{status}: {d.error}"
            rows.append(DocumentRow(d.name, len(d.images), d.skipped_small, status))
        return rows

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape of ``lookalike docs --json``."""
        pairs = []
        for p in self.pairs:
            d1, d2 = self.documents[p.image1.document], self.documents[p.image2.document]
            pairs.append(
                {
                    "document": d1.name,
                    "image1": p.image1.name,
                    "image2": p.image2.name,
                    "document2": None if p.within else d2.name,
                    "similarity": round(float(p.similarity), 4),
                    "method": p.method,
                    "location1": p.image1.location,
                    "location2": p.image2.location,
                    "path1": str(p.image1.path),
                    "path2": str(p.image2.path),
                }
            )
        return {
            "pairs": pairs,
            "documents": [d.to_dict() for d in self.documents],
            "errors": [{"document": e.document, "reason": e.reason} for e in self.errors],
            "workbook": str(self.workbook) if self.workbook else None,
            "missing": self.missing,
            "methods": self.methods,
            "stats": self.stats,
        }
