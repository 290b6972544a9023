"""What a document check returns: the options, documents, pictures, pairs and rows.

These plain records are the one shape every face uses: the JSON of ``lookalike docs
--json``, the workbook ``图片相似度<date>.xlsx`` and the web page.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from lookalike.match.cascade import DEFAULT_LAYERS
from lookalike.match.relation import PairRelation
from lookalike.reports.labels import DOCUMENT_STATUS, reason_text, relation

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
    show, or None for no thumbnail. ``location1`` / ``location2``: where each picture is
    ("slide 3", "数据!C5", "body, paragraph 12"). ``method`` "placement": one picture
    shown twice. ``checked2``: the date document 2 was checked (a figure from the archive).
    """

    document: str
    image1: str
    image2: str
    document2: str | None
    similarity: float
    method: str
    thumb1: bytes | str | os.PathLike[str] | None = None
    thumb2: bytes | str | os.PathLike[str] | None = None
    location1: str | None = None
    location2: str | None = None
    checked2: str | None = None
    relation: PairRelation | None = None  # what the engine measured (image 1 first)


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
    #: The learned layer's model ("default": the shipped copy-embed, or an ONNX file):
    #: added to the comparison and to the archive's collection; None: not used.
    model: str | None = None
    #: Metafile renderers to try (None = every installed one, best first).
    metafile_backends: tuple[str, ...] | None = None
    #: Write the workbook (False: only the extraction and the returned result).
    workbook: bool = True
    #: A folder of figures of documents checked before (``--archive DIR``): the new
    #: figures are searched there, then added; None: each run stands alone.
    archive: str | os.PathLike[str] | None = None
    #: The date the run is recorded under in the archive (default: today).
    checked_on: date | None = None
    #: Compare the standalone pictures found in the folders as one pseudo-document
    #: "(folder pictures)"; False: each is reported as "not a document".
    include_pictures: bool = False


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
    #: Each place the picture is shown, in document order (two: placed twice).
    placements: list[str] = field(default_factory=list)
    #: The embedded document it came from ("inner.xlsx", "a.docx > b.xlsx"), or None.
    source: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "document": self.source,
            "location": self.location,
            "placements": self.placements,
            "placement_count": len(self.placements),
            "format": self.format,
            "path": str(self.path),
            "compared": self.compare is not None,
            "skipped": self.skipped,
        }


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
    #: Standalone pictures gathered as this pseudo-document, (path, name); empty for a file.
    pictures: list[tuple[Path, str]] = field(default_factory=list)

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
            "pictures": [i.to_dict() for i in self.images],
        }

    def label(self, image: CheckedImage) -> str:
        """The name shown for ``image``'s document: "outer.docx > inner.xlsx" when embedded."""
        return f"{self.name} > {image.source}" if image.source else self.name


@dataclass(frozen=True)
class SimilarPair:
    """Two pictures at or above the threshold; ``method`` is the layer that decided.

    ``method`` "placement": ``image1`` is ``image2``, shown at ``location1`` and
    ``location2`` (one media part referenced twice). Otherwise the locations are None and
    each image's own location applies.
    """

    image1: CheckedImage
    image2: CheckedImage
    similarity: float
    method: str
    location1: str | None = None
    location2: str | None = None
    relation: PairRelation | None = None  # what the engine measured (image 1 first)

    @property
    def within(self) -> bool:
        return self.image1.document == self.image2.document

    @property
    def where1(self) -> str | None:
        return self.location1 if self.location1 is not None else self.image1.location

    @property
    def where2(self) -> str | None:
        return self.location2 if self.location2 is not None else self.image2.location


@dataclass(frozen=True)
class EarlierFigure:
    """A figure of a document checked before (from the archive) and where it was."""

    document: str
    image: str
    location: str | None
    checked: str  # the date (YYYY-MM-DD) that document was checked
    path: str  # the archived comparison image


@dataclass(frozen=True)
class EarlierPair:
    """A new picture like a figure of an earlier document (``--archive``)."""

    image: CheckedImage
    earlier: EarlierFigure
    similarity: float
    method: str


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
    #: New pictures like figures of earlier documents (only with an archive).
    earlier: list[EarlierPair] = field(default_factory=list)
    #: The archive folder searched and updated, or None.
    archive: Path | None = None

    @property
    def images(self) -> list[CheckedImage]:
        return [i for d in self.documents for i in d.images]

    def pair_rows(self) -> list[ImagePairRow]:
        """The workbook's rows: both documents, images and locations, similarity, method."""
        rows = []
        for p in self.pairs:
            d1, d2 = self.documents[p.image1.document], self.documents[p.image2.document]
            name1, name2 = d1.label(p.image1), d2.label(p.image2)
            rows.append(
                ImagePairRow(
                    document=name1,
                    image1=p.image1.name,
                    image2=p.image2.name,
                    document2=None if name1 == name2 else name2,
                    similarity=p.similarity,
                    method=p.method,
                    thumb1=p.image1.compare,
                    thumb2=p.image2.compare,
                    location1=p.where1,
                    location2=p.where2,
                    relation=p.relation,
                )
            )
        return rows

    def earlier_rows(self) -> list[ImagePairRow]:
        """The rows of the earlier-documents sheet: a new picture, the archived figure."""
        rows = []
        for e in self.earlier:
            doc = self.documents[e.image.document]
            rows.append(
                ImagePairRow(
                    document=doc.label(e.image),
                    image1=e.image.name,
                    image2=e.earlier.image,
                    document2=e.earlier.document,
                    similarity=e.similarity,
                    method=e.method,
                    thumb1=e.image.compare,
                    thumb2=e.earlier.path,
                    location1=e.image.location,
                    location2=e.earlier.location,
                    checked2=e.earlier.checked,
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
                status = f"{status}: {reason_text(d.error, self.lang)}"
            rows.append(DocumentRow(d.name, len(d.images), d.skipped_small, status))
        return rows

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape of ``lookalike docs --json``."""
        pairs = []
        for p in self.pairs:
            d1, d2 = self.documents[p.image1.document], self.documents[p.image2.document]
            name1, name2 = d1.label(p.image1), d2.label(p.image2)
            pairs.append(
                {
                    "document": name1,
                    "image1": p.image1.name,
                    "image2": p.image2.name,
                    "document2": None if name1 == name2 else name2,
                    "similarity": round(float(p.similarity), 4),
                    "method": p.method,
                    "relation": relation(p.method, measured=p.relation),
                    "relation_zh": relation(p.method, "zh", p.relation),
                    "relation_kind": p.relation.kind if p.relation else p.method,
                    "location1": p.where1,
                    "location2": p.where2,
                    "placements1": len(p.image1.placements),
                    "placements2": len(p.image2.placements),
                    "path1": str(p.image1.path),
                    "path2": str(p.image2.path),
                }
            )
        earlier = [
            {
                "document": self.documents[e.image.document].label(e.image),
                "image": e.image.name,
                "location": e.image.location,
                "earlier_document": e.earlier.document,
                "earlier_image": e.earlier.image,
                "earlier_location": e.earlier.location,
                "checked": e.earlier.checked,
                "similarity": round(float(e.similarity), 4),
                "method": e.method,
                "relation": relation(e.method),
                "relation_zh": relation(e.method, "zh"),
                "path": str(e.image.path),
                "earlier_path": e.earlier.path,
            }
            for e in self.earlier
        ]
        return {
            "pairs": pairs,
            "earlier": earlier,
            "archive": str(self.archive) if self.archive else None,
            "documents": [d.to_dict() for d in self.documents],
            "errors": [{"document": e.document, "reason": e.reason} for e in self.errors],
            "workbook": str(self.workbook) if self.workbook else None,
            "missing": self.missing,
            "methods": self.methods,
            "stats": self.stats,
        }
