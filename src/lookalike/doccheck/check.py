"""Check Word/Excel/PowerPoint/PDF documents for reused figures (图片相似度分析工具).

The library layer of ``lookalike docs``:

    find documents -> extract every picture into OUT -> rasterize EMF/WMF (one call)
    -> drop tiny pictures -> fingerprint (duplicates cascade) -> pairs within / across
    documents -> workbook

Everything is written under ``OUT``: the pictures into ``OUT/图片提取/<document>/``
(``extracted`` in English) under their names in the package, a metafile's PNG rendering
beside it (``image20.emf.png``), and the workbook ``OUT/图片相似度YYYYMMDD.xlsx``.
A bad document (encrypted, corrupt, misnamed, hostile) or a bad picture inside becomes an
error row; the run goes on.

The features live in a throw-away catalog: the extracted files are rewritten on every run
(new modification times), so a persistent cache would never be hit and would only grow;
a cache under OUT would also leave a database in the user's report folder.
"""

from __future__ import annotations

import os
import re
import tempfile
import time
from collections.abc import Iterable, Sequence
from datetime import date as Date
from pathlib import Path

import numpy as np
from PIL import Image

from lookalike.doccheck.records import (
    DEFAULT_MIN_SIZE,
    DEFAULT_THRESHOLD,
    EXTRACT_FOLDER,
    SCOPES,
    CheckedDocument,
    CheckedImage,
    CheckOptions,
    DocumentCheck,
    EarlierPair,
    ErrorRow,
    SimilarPair,
)
from lookalike.errors import Failure, LookalikeError, MissingDependencyError, UsageError
from lookalike.features import FeatureSet
from lookalike.features.cache import cached_features
from lookalike.formats import extension_format, sniff, sniff_picture
from lookalike.match.engine import layer_methods, match_features
from lookalike.match.relation import PairRelation
from lookalike.methods import Method
from lookalike.progress import Progress
from lookalike.reports.xlsx import document_workbook_name, write_document_workbook
from lookalike.sources.documents import (
    Budget,
    DocumentImages,
    ExtractedImage,
    extract_images,
    is_document,
    safe_file_name,
    save_images,
)
from lookalike.sources.documents.compression import inflate
from lookalike.sources.documents.metafile import rasterize_metafiles
from lookalike.sources.folders import Entry
from lookalike.store.catalog import Catalog, content_digest

__all__ = [
    "DEFAULT_MIN_SIZE",
    "DEFAULT_THRESHOLD",
    "EXTRACT_FOLDER",
    "SCOPES",
    "CheckOptions",
    "CheckedDocument",
    "CheckedImage",
    "DocumentCheck",
    "SimilarPair",
    "check_documents",
    "find_documents",
]

#: Size (pixels, longest side) metafiles are rasterized to for comparison.
METAFILE_SIZE = 512
#: A gzip-compressed metafile (.emz/.wmz) may expand to at most this many bytes.
MAX_INFLATED_METAFILE = 64 * 1024 * 1024
#: File left in each extraction folder so a later run knows it may empty it.
MARKER = ".lookalike-extracted"
_METAFILES = {"emf": "emf", "wmf": "wmf", "emz": "emf", "wmz": "wmf"}
_WORKBOOK_NAME = re.compile(r"^(图片相似度\d{8}|image-similarity-\d{8})(_\d+)?\.xlsx$", re.I)


def find_documents(
    paths: Iterable[str | os.PathLike[str]],
    *,
    exclude: Sequence[Path] = (),
    pictures: list[tuple[Path, str]] | None = None,
) -> tuple[list[tuple[Path, str]], list[ErrorRow]]:
    """Documents under ``paths`` as (path, name shown in the report), and paths not found.

    Folders are walked recursively (sorted, links to folders not followed) and files kept
    when :func:`is_document` accepts their name; a file named explicitly is always kept
    (extraction recognises documents by content). The name is the path relative to the
    folder given, or the file name; a name shown twice gets its full path. Anything under
    ``exclude`` (the extraction folder) and earlier workbooks in OUT are skipped.
    ``pictures``: when given, standalone pictures and metafiles (by extension) are added
    to it as (path, name) instead of being passed by.
    """
    skip = [p.resolve() for p in exclude]
    found: list[tuple[Path, str]] = []
    errors: list[ErrorRow] = []
    seen: set[Path] = set()

    def keep(p: Path, name: str) -> None:
        real = p.resolve()
        if real in seen or any(real == s or s in real.parents for s in skip):
            return
        if _WORKBOOK_NAME.match(p.name) and any(real.parent == s.parent for s in skip):
            return  # our own workbook from an earlier run
        seen.add(real)
        if pictures is not None and not is_document(p) and extension_format(p.suffix):
            pictures.append((p, name))
            return
        found.append((p, name))

    for raw in paths:
        root = Path(os.path.abspath(os.fspath(raw)))
        if root.is_dir():
            for folder, dirs, files in os.walk(root):
                dirs.sort()
                for f in sorted(files):
                    p = Path(folder, f)
                    wanted = is_document(f) or (
                        pictures is not None and extension_format(Path(f).suffix)
                    )
                    if wanted and p.is_file():
                        keep(p, p.relative_to(root).as_posix())
        elif root.is_file():
            keep(root, root.name)
        else:
            errors.append(ErrorRow(str(raw), "no such file or folder"))
    counts: dict[str, int] = {}
    for _, name in found:
        counts[name.lower()] = counts.get(name.lower(), 0) + 1
    found = [(p, str(p) if counts[n.lower()] > 1 else n) for p, n in found]
    return found, errors


def _document_folder(root: Path, name: str, taken: set[str]) -> Path:
    """A fresh folder for one document's pictures, inside ``root`` whatever the name.

    Same file names from different folders get ``name (2)``; a folder left by an earlier
    run (it holds :data:`MARKER`) is emptied and reused, any other existing one is kept.
    """
    base = safe_file_name(name)
    n = 1
    while True:
        candidate = base if n == 1 else f"{base} ({n})"
        n += 1
        if candidate.lower() in taken:
            continue
        folder = root / candidate
        if folder.is_symlink() or (folder.exists() and not (folder / MARKER).is_file()):
            continue
        if folder.resolve().parent != root.resolve():
            continue
        taken.add(candidate.lower())
        if folder.is_dir():
            for child in folder.iterdir():
                if child.is_file() or child.is_symlink():
                    child.unlink()
        folder.mkdir(parents=True, exist_ok=True)
        (folder / MARKER).touch()
        return folder


#: The name of the pseudo-document that holds the standalone pictures of the folders.
FOLDER_PICTURES = "(folder pictures)"
_METAFILE_FORMATS = frozenset({"emf", "wmf", "emz", "wmz", "pict", "svg"})


def _not_a_document(name: str, path: Path) -> ErrorRow:
    """The error row of a standalone picture or metafile met among the documents."""
    fmt = extension_format(path.suffix) or ""
    what = "metafile" if fmt in _METAFILE_FORMATS else "picture"
    return ErrorRow(name, f"not a document: a standalone {what} ({fmt})")


def _folder_pictures(doc: CheckedDocument) -> DocumentImages:
    """The standalone pictures gathered in ``doc`` as if they were one document's."""
    result = DocumentImages(path=str(doc.path), kind="pictures")
    budget = Budget()
    for path, name in doc.pictures:
        try:
            data = path.read_bytes()
        except OSError as exc:
            result.warnings.append(f"{name}: cannot read: {exc.strerror or exc}")
            continue
        fmt = sniff_picture(data, path.name)
        if fmt is None:
            result.warnings.append(f"{name}: not an image")
            continue
        refused = budget.refuse(result, len(data))
        if refused:
            result.warnings.append(f"{refused}: {name} and later pictures skipped")
            break
        result.images.append(
            ExtractedImage(name=path.name, data=data, format=fmt, location=name, placements=[name])
        )
    return result


def _inflate(data: bytes) -> bytes | None:
    """The metafile inside a gzip-compressed .emz/.wmz (bounded), or None."""
    return inflate(data, MAX_INFLATED_METAFILE, gzip=True)


def _extract(
    docs: list[CheckedDocument], root: Path, errors: list[ErrorRow], progress: Progress | None
) -> dict[str, list[CheckedImage]]:
    """Extract and save every document's pictures; returns the metafiles by digest."""
    taken: set[str] = set()
    metafiles: dict[str, list[CheckedImage]] = {}
    for k, doc in enumerate(docs):
        if progress:
            progress("extract", k, len(docs))
        try:
            found: DocumentImages = (
                _folder_pictures(doc) if doc.pictures else extract_images(doc.path)
            )
        except MissingDependencyError as exc:
            doc.error = exc.reason
            errors.append(ErrorRow(doc.name, exc.reason))
            continue
        doc.kind = found.kind
        if found.error:
            doc.error = found.error
            errors.append(ErrorRow(doc.name, found.error))
        errors.extend(ErrorRow(doc.name, w) for w in found.warnings)
        if not found.images:
            continue
        try:
            doc.folder = _document_folder(root, doc.path.name, taken)
            written = save_images(found, doc.folder)
        except OSError as exc:  # disk full, folder made read-only during the run
            reason = f"cannot save its pictures in {doc.folder or root}: {exc.strerror or exc}"
            doc.error = reason
            errors.append(ErrorRow(doc.name, reason))
            continue
        pictures: list[ExtractedImage] = found.images
        for picture, path in zip(pictures, written, strict=False):
            image = CheckedImage(
                document=k,
                name=path.name,
                path=path,
                format=picture.format,
                location=picture.location,
                is_preview=picture.is_preview,
                digest=content_digest(picture.data).hex(),
                placements=list(picture.placements),
                source=picture.document,
            )
            doc.images.append(image)
            if picture.format in _METAFILES:
                metafiles.setdefault(image.digest, []).append(image)
            else:
                image.compare = path
    if progress:
        progress("extract", len(docs), len(docs))
    return metafiles


def _rasterize(
    metafiles: dict[str, list[CheckedImage]],
    backends: tuple[str, ...] | None,
    errors: list[ErrorRow],
    docs: list[CheckedDocument],
    missing: list[str],
) -> None:
    """Render every distinct metafile of the run in one call; write each PNG beside it."""
    items: list[tuple[str, bytes]] = []
    for digest, images in metafiles.items():
        data = images[0].path.read_bytes()
        if images[0].format in ("emz", "wmz"):
            inflated = _inflate(data)
            if inflated is None:
                for image in images:
                    image.skipped = "error"
                    errors.append(
                        ErrorRow(docs[image.document].name, f"{image.name}: corrupt gzip metafile")
                    )
                continue
            data = inflated
        items.append((digest, data))
    if not items:
        return
    rendered = rasterize_metafiles(items, size=METAFILE_SIZE, backends=backends)
    for digest, _ in items:
        result = rendered.get(digest, "not rendered")
        for image in metafiles[digest]:
            if isinstance(result, Image.Image):
                png = image.path.with_name(image.path.name + ".png")
                result.save(png, "PNG")
                image.compare = png
            else:
                image.skipped = "error"
                reason = f"{image.name}: metafile could not be rasterized, not compared: {result}"
                errors.append(ErrorRow(docs[image.document].name, reason))
                if result.startswith("no ") and "install" in result and result not in missing:
                    missing.append(result)


def _measure(
    docs: list[CheckedDocument], min_size: int, errors: list[ErrorRow]
) -> list[CheckedImage]:
    """Read each picture's size from its header; skip small and unreadable ones."""
    kept: list[CheckedImage] = []
    for doc in docs:
        for image in doc.images:
            if image.compare is None:
                continue
            try:
                with Image.open(image.compare) as im:
                    image.width, image.height = im.size
            except Exception as exc:  # unknown formats (PICT, JPEG XR, SVG, garbage)
                image.compare, image.skipped = None, "error"
                what = "unknown or unreadable image format"
                detail = f"{image.format}" + (f"; {exc}" if str(exc) else "")
                errors.append(ErrorRow(doc.name, f"{image.name}: {what} ({detail})"[:300]))
                continue
            if min(image.width, image.height) < min_size:
                image.compare, image.skipped = None, "small"
                doc.skipped_small += 1
                continue
            kept.append(image)
    return kept


def _comparison_methods(
    names: Sequence[str], model: str | None = None
) -> tuple[list[Method], list[str]]:
    """The cascade's methods; a layer that cannot be built (ORB unfinished) is dropped.
    ``model``: the learned layer's, which must load (its error is raised)."""
    usable, notes = [], []
    for name in names:
        try:
            layer_methods((name,))
        except (ImportError, ValueError, AttributeError) as exc:
            notes.append(f"method {name} unavailable, not used: {exc}")
            continue
        usable.append(name)
    return layer_methods(usable, model=model), notes


def _compare(
    images: list[CheckedImage],
    methods: list[Method],
    jobs: int,
    docs: list[CheckedDocument],
    errors: list[ErrorRow],
    progress: Progress | None,
    *,
    within_only: bool = False,
) -> list[tuple[CheckedImage, CheckedImage, float, str, PairRelation]]:
    """Run the duplicates cascade over the compared pictures of every document."""
    entries: list[Entry] = []
    by_path: dict[str, CheckedImage] = {}
    for image in images:
        assert image.compare is not None
        st = image.compare.stat()
        with open(image.compare, "rb") as fh:
            kind = sniff(fh.read(64)) or image.format
        entry = Entry(str(image.compare), st.st_size, st.st_mtime_ns, kind)
        entries.append(entry)
        by_path[entry.path] = image

    def tick(stage: str, done: int, total: int) -> None:
        if progress:
            progress("compare", done, total)

    with (
        tempfile.TemporaryDirectory(prefix="lookalike-docs-") as tmp,
        Catalog(Path(tmp, "catalog.sqlite")) as catalog,
    ):
        fs, _ = cached_features(entries, methods, catalog, jobs=jobs, progress=tick)
    for failure in fs.failures:
        failed: Failure = failure
        image = by_path[failed.path]
        image.skipped = "error"
        errors.append(ErrorRow(docs[image.document].name, f"{image.name}: {failed.reason}"))
    # exact copies are judged on the original bytes (two equal EMFs, two equal JPEGs)
    digests = {p: by_path[p].digest for p in fs.paths}
    if within_only:  # per document: no candidate across documents is verified for nothing
        groups: dict[int, list[int]] = {}
        for i, p in enumerate(fs.paths):
            groups.setdefault(by_path[p].document, []).append(i)
        parts = [_subset(fs, rows) for rows in groups.values() if len(rows) > 1]
    else:
        parts = [fs]
    found = []
    for part in parts:
        m = match_features(part, methods, digests, jobs=jobs)
        found += [
            (by_path[part.paths[a]], by_path[part.paths[b]], s, how, r)
            for a, b, s, how, r in zip(
                m.i.tolist(), m.j.tolist(), m.similarity, m.method, m.relation, strict=True
            )
        ]
    return found


def _subset(fs: FeatureSet, rows: list[int]) -> FeatureSet:
    """The rows ``rows`` of a feature set (arrays indexed, lists picked)."""
    index = np.asarray(rows, dtype=np.int64)
    features = {
        name: f[index] if isinstance(f, np.ndarray) else [f[i] for i in rows]
        for name, f in fs.features.items()
    }
    return FeatureSet(paths=[fs.paths[i] for i in rows], features=features)


def _workbook_path(out: Path, lang: str) -> Path:
    return out / document_workbook_name(Date.today(), lang)


def check_documents(
    paths: Iterable[str | os.PathLike[str]],
    options: CheckOptions | None = None,
    *,
    progress: Progress | None = None,
) -> DocumentCheck:
    """Extract, compare and report the pictures of the documents under ``paths``.

    Never raises for a bad document or picture: each becomes a row of ``errors``.
    Raises ValueError for bad options and LookalikeError (naming the folder) when OUT
    cannot be written.
    """
    options = options or CheckOptions()
    if options.scope not in SCOPES:
        raise UsageError(f"scope must be one of {', '.join(SCOPES)}, got {options.scope!r}")
    if options.lang not in EXTRACT_FOLDER:
        raise UsageError(f"lang must be zh or en, got {options.lang!r}")
    if not 0 < options.threshold <= 1:
        raise UsageError(f"threshold must be in (0, 1], got {options.threshold}")
    out = Path(os.path.abspath(os.fspath(options.out)))
    root = out / EXTRACT_FOLDER[options.lang]
    result = DocumentCheck(lang=options.lang)
    t0 = time.perf_counter()
    pictures: list[tuple[Path, str]] = []
    found, result.errors = find_documents(paths, exclude=[root], pictures=pictures)
    result.documents = [CheckedDocument(p, name) for p, name in found]
    if pictures and options.include_pictures:
        folder = CheckedDocument(Path(os.path.commonpath([p for p, _ in pictures])), "")
        folder.name, folder.pictures = FOLDER_PICTURES, pictures
        result.documents.append(folder)
    elif pictures:
        result.errors += [_not_a_document(name, p) for p, name in pictures]
    _check_writable(out, root) if options.workbook else _check_writable(root)
    metafiles = _extract(result.documents, root, result.errors, progress)
    t1 = time.perf_counter()
    if progress and metafiles:
        progress("rasterize", 0, len(metafiles))
    _rasterize(
        metafiles, options.metafile_backends, result.errors, result.documents, result.missing
    )
    t2 = time.perf_counter()
    kept = _measure(result.documents, options.min_size, result.errors)
    methods, notes = _comparison_methods(options.methods, options.model)
    result.methods = [m.name for m in methods]
    result.stats["notes"] = notes
    found_pairs = (
        _compare(
            kept,
            methods,
            options.jobs,
            result.documents,
            result.errors,
            progress,
            within_only=options.scope == "within",
        )
        if kept
        else []
    )
    t3 = time.perf_counter()
    for a, b, similarity, method, rel in found_pairs:
        within = a.document == b.document
        if (options.scope == "within" and not within) or (options.scope == "across" and within):
            continue
        if similarity + 1e-9 >= options.threshold:
            result.pairs.append(SimilarPair(a, b, float(similarity), method, relation=rel))
    if options.scope != "across":
        result.pairs += _placement_pairs(result.documents)
    result.pairs.sort(key=lambda p: (-p.similarity, p.image1.document, p.image1.name))
    if options.archive is not None:
        if progress:
            progress("archive", 0, len(kept))
        _use_archive(result, kept, options)
    t3b = time.perf_counter()
    result.stats["pairs_not_in_workbook"] = 0
    if options.workbook:
        result.workbook, left_out = _write_workbook(result, out, options.lang)
        result.stats["pairs_not_in_workbook"] = left_out
    t4 = time.perf_counter()
    images = result.images
    result.stats.update(
        {
            "documents": len(result.documents),
            "images": len(images),
            "compared": sum(1 for i in images if i.compare is not None),
            "skipped_small": sum(d.skipped_small for d in result.documents),
            "metafiles": sum(len(v) for v in metafiles.values()),
            "pairs": len(result.pairs),
            "placed_twice": sum(1 for p in result.pairs if p.method == "placement"),
            "earlier": len(result.earlier),
            "seconds": {
                "extract": round(t1 - t0, 3),
                "rasterize": round(t2 - t1, 3),
                "compare": round(t3 - t2, 3),
                "archive": round(t3b - t3, 3),
                "workbook": round(t4 - t3, 3),
                "total": round(t4 - t0, 3),
            },
        }
    )
    return result


def _check_writable(*folders: Path) -> None:
    """Make each folder and write a probe file in it, or raise LookalikeError naming it."""
    for folder in folders:
        try:
            folder.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=folder, prefix=".lookalike-probe-"):
                pass
        except OSError as exc:
            reason = f"cannot write the output folder: {exc.strerror or exc}"
            raise LookalikeError(folder, reason) from None


def _write_workbook(result: DocumentCheck, out: Path, lang: str) -> tuple[Path, int]:
    """Write the workbook; when the file is locked (open in Excel) try ``_2``, ``_3``...

    Returns its path and the number of pairs left out of it (past MAX_WORKBOOK_ROWS).
    """
    path = _workbook_path(out, lang)
    rows, documents = result.pair_rows(), result.document_rows()
    earlier = result.earlier_rows() if result.archive is not None else None
    for n in range(1, 10):
        target = path if n == 1 else path.with_name(f"{path.stem}_{n}{path.suffix}")
        try:
            left_out = write_document_workbook(
                rows, documents, result.errors, target, lang=lang, earlier=earlier
            )
        except PermissionError:
            continue
        except OSError as exc:
            raise LookalikeError(
                target, f"cannot write the workbook: {exc.strerror or exc}"
            ) from None
        return target, left_out
    raise LookalikeError(path, "cannot write the workbook (is it open in Excel?)")


def _placement_pairs(docs: list[CheckedDocument]) -> list[SimilarPair]:
    """A "same picture placed twice" pair for each further placement of a picture (one
    media part referenced twice): its first place against each other one. Small pictures
    (icons, bullets) are left out like in the comparison."""
    pairs = []
    for doc in docs:
        for image in doc.images:
            if image.skipped == "small" or len(image.placements) < 2:
                continue
            first = image.placements[0]
            pairs += [
                SimilarPair(image, image, 1.0, "placement", first, other)
                for other in image.placements[1:]
            ]
    return pairs


def _use_archive(result: DocumentCheck, kept: list[CheckedImage], options: CheckOptions) -> None:
    """Search each compared picture in the archive, then add them all to it."""
    from lookalike.doccheck.archive import ArchivedFigure, DocumentArchive

    assert options.archive is not None
    checked = (options.checked_on or Date.today()).isoformat()
    with DocumentArchive(options.archive, model=options.model) as archive:
        result.archive = archive.directory
        searched = [i for i in kept if i.compare is not None and i.skipped is None]
        for image in searched:
            assert image.compare is not None
            try:
                hits = archive.search(image.compare, options.threshold)
            except LookalikeError as exc:
                doc = result.documents[image.document]
                result.errors.append(ErrorRow(doc.name, f"{image.name}: {exc.reason}"))
                continue
            result.earlier += [
                EarlierPair(image, figure, similarity, method)
                for figure, similarity, method in hits
            ]
        figures = [
            ArchivedFigure(
                image.compare,
                result.documents[image.document].label(image),
                image.name,
                image.location,
            )
            for image in searched
            if image.compare is not None
        ]
        notes = archive.add(figures, checked)
    result.stats["archive_notes"] = notes
    result.earlier.sort(key=lambda e: (-e.similarity, e.image.document, e.image.name))
