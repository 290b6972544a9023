"""Pictures of OOXML packages (.docx .xlsx .pptx and their macro/template variants).

The pictures are the ``*/media/*`` zip members; the relationships (``_rels/*.rels``) tell
which sheet or slide shows them and whether they are the preview of an embedded OLE
object. ``docProps/thumbnail.*`` is a preview of the whole file, never returned.
Members are read with zip-bomb limits: an over-limit member becomes a warning.
"""

from __future__ import annotations

import posixpath
import re
import zipfile
from pathlib import Path

from . import (
    MAX_IMAGES_PER_DOCUMENT,
    NOT_A_DOCUMENT,
    Budget,
    DocumentImages,
    ExtractedImage,
    _kind_from_extension,
    sniff_format,
)

#: Bound on the uncompressed bytes read from one package (pictures and XML together).
MAX_TOTAL_BYTES = 200 * 1024 * 1024
#: Bound on one member's uncompressed size.
MAX_MEMBER_BYTES = 50 * 1024 * 1024
#: Members that expand more than this (and past MIN_RATIO_CHECK_BYTES) are refused.
MAX_COMPRESSION_RATIO = 200
MIN_RATIO_CHECK_BYTES = 8 * 1024 * 1024
#: Bound on an XML/rels part read to find locations and previews.
MAX_XML_BYTES = 20 * 1024 * 1024
#: A package with more entries than this is refused (hostile central directory).
MAX_ENTRIES = 100_000

_NOT_IMAGES = frozenset({"pdf", "bin", "mp3", "mp4", "wav", "avi", "wmv", "mov", "m4a", "xml"})
_RELATIONSHIP = re.compile(rb"<(?:\w+:)?Relationship\b[^>]*>", re.S)
_ATTRIBUTE = re.compile(rb"""\b([\w:]+)\s*=\s*(?:"([^"]*)"|'([^']*)')""")
#: Elements whose content is an embedded OLE object (its picture is a preview).
_OLE_BLOCK = re.compile(
    rb"<((?:\w+:)?(?:object|oleObj|oleObject|OLEObject))\b[^>]*?(?:/>|>.*?</\1\s*>)", re.S
)
_REL_REF = re.compile(rb"""\b(?:r:id|r:embed|r:link|r:pict|o:relid)\s*=\s*["']([^"']+)["']""")
_SHEET = re.compile(rb"<(?:\w+:)?sheet\b[^>]*>", re.S)
_SLIDE_ID = re.compile(rb"<(?:\w+:)?sldId\b[^>]*>", re.S)
_NATURAL = re.compile(r"(\d+)")


class _Package:
    """A zip opened with read limits; every read is counted against the total budget."""

    def __init__(self, zf: zipfile.ZipFile, result: DocumentImages) -> None:
        self.zf = zf
        self.result = result
        self.total = 0
        self.by_lower = {info.filename.lower(): info for info in zf.infolist()}

    def read(
        self, name: str, limit: int = MAX_MEMBER_BYTES, *, quiet: bool = False
    ) -> bytes | None:
        """The member's bytes, or None (with a warning unless ``quiet``) when over a limit."""
        info = self.by_lower.get(name.lower())
        if info is None:
            return None
        problem = None
        if info.flag_bits & 0x1:
            problem = "encrypted zip member"
        elif info.file_size > limit:
            problem = f"oversized member ({info.file_size} bytes, limit {limit})"
        elif (
            info.file_size > MIN_RATIO_CHECK_BYTES
            and info.file_size > MAX_COMPRESSION_RATIO * max(info.compress_size, 1)
        ):
            problem = (
                f"suspicious compression ratio ({info.file_size} from "
                f"{info.compress_size} bytes, limit {MAX_COMPRESSION_RATIO})"
            )
        elif self.total + info.file_size > MAX_TOTAL_BYTES:
            problem = f"total uncompressed size over {MAX_TOTAL_BYTES} bytes"
        if problem is None:
            try:
                with self.zf.open(info) as fh:
                    data = fh.read(limit + 1)
            except Exception as exc:  # corrupt member: bad CRC, bad deflate stream, ...
                problem = f"unreadable member ({type(exc).__name__}: {exc})"[:200]
            else:
                self.total += len(data)
                if len(data) > limit:  # pragma: no cover - zipfile stops at file_size
                    problem = f"oversized member (over {limit} bytes)"
                else:
                    return data
        if not quiet:
            self.result.warnings.append(f"{info.filename}: skipped: {problem}")
        return None

    def rels(self, part: str) -> dict[str, str]:
        """Relationship id -> resolved internal target of ``part`` (empty when none)."""
        folder, base = posixpath.split(part)
        data = self.read(posixpath.join(folder, "_rels", base + ".rels"), MAX_XML_BYTES, quiet=True)
        out: dict[str, str] = {}
        if not data:
            return out
        for match in _RELATIONSHIP.finditer(data):
            attrs = {
                m.group(1).decode("ascii", "replace").lower(): (m.group(2) or m.group(3) or b"")
                for m in _ATTRIBUTE.finditer(match.group(0))
            }
            if attrs.get("targetmode", b"").lower() == b"external" or "id" not in attrs:
                continue
            target = attrs.get("target", b"").decode("utf-8", "replace")
            if not target:
                continue
            target = target.replace("\\", "/").split("#", 1)[0]
            resolved = (
                target.lstrip("/") if target.startswith("/") else posixpath.join(folder, target)
            )
            resolved = posixpath.normpath(resolved).lstrip("./") if resolved else resolved
            out[attrs["id"].decode("utf-8", "replace")] = resolved.lower()
        return out


def _natural_key(name: str) -> list[object]:
    return [int(t) if t.isdigit() else t for t in _NATURAL.split(name.lower())]


def _is_media(name: str) -> bool:
    low = name.lower()
    return ("/media/" in low or low.startswith("pictures/")) and not low.endswith("/")


def _family(names: list[str]) -> str | None:
    lows = [n.lower() for n in names]
    for prefix, family in (("word/", "docx"), ("xl/", "xlsx"), ("ppt/", "pptx")):
        if any(n.startswith(prefix) for n in lows):
            return family
    if "mimetype" in lows:
        return "odf"
    return None


def _locations(pkg: _Package, family: str, budget: Budget) -> tuple[dict[str, str], set[str]]:
    """(media part -> "sheet X"/"slide N", media parts that are OLE previews), both lower-case."""
    parents: dict[str, set[str]] = {}
    previews: set[str] = set()
    parts = [n for n in pkg.by_lower if n.endswith((".xml", ".vml")) and "/_rels/" not in n]
    rels_of: dict[str, dict[str, str]] = {}
    for part in parts:
        if budget.expired():
            break
        folder, base = posixpath.split(part)
        if posixpath.join(folder, "_rels", base + ".rels") not in pkg.by_lower:
            continue
        rels = pkg.rels(part)
        rels_of[part] = rels
        for target in rels.values():
            parents.setdefault(target, set()).add(part)
        media = {rid: t for rid, t in rels.items() if _is_media(t)}
        if not media:
            continue
        if part.endswith(".vml"):  # legacy VML drawings of xlsx/pptx hold OLE previews
            previews.update(media.values())
            continue
        xml = pkg.read(part, MAX_XML_BYTES, quiet=True) or b""
        for block in _OLE_BLOCK.finditer(xml):
            for ref in _REL_REF.finditer(block.group(0)):
                target = media.get(ref.group(1).decode("utf-8", "replace"))
                if target:
                    previews.add(target)

    holders: dict[str, str] = {}  # sheet/slide part -> its label
    if family == "xlsx":
        workbook = pkg.read("xl/workbook.xml", MAX_XML_BYTES, quiet=True) or b""
        wb_rels = rels_of.get("xl/workbook.xml") or pkg.rels("xl/workbook.xml")
        for match in _SHEET.finditer(workbook):
            attrs = {
                m.group(1): (m.group(2) or m.group(3) or b"")
                for m in _ATTRIBUTE.finditer(match.group(0))
            }
            target = wb_rels.get(attrs.get(b"r:id", b"").decode("utf-8", "replace"))
            name = attrs.get(b"name", b"").decode("utf-8", "replace")
            if target and name:
                holders[target] = f"sheet {_unescape(name)}"
    elif family == "pptx":
        presentation = pkg.read("ppt/presentation.xml", MAX_XML_BYTES, quiet=True) or b""
        p_rels = rels_of.get("ppt/presentation.xml") or pkg.rels("ppt/presentation.xml")
        for number, match in enumerate(_SLIDE_ID.finditer(presentation), 1):
            ref = _REL_REF.search(match.group(0))
            target = p_rels.get(ref.group(1).decode("utf-8", "replace")) if ref else None
            if target:
                holders[target] = f"slide {number}"
        if not holders:  # no usable presentation.xml: number the slides by file name
            for part in parts:
                m = re.fullmatch(r"ppt/slides/slide(\d+)\.xml", part)
                if m:
                    holders[part] = f"slide {int(m.group(1))}"

    locations: dict[str, str] = {}
    if holders:
        for media in (t for t in parents if _is_media(t)):
            frontier, seen, found = {media}, {media}, set()
            for _depth in range(4):  # media <- drawing <- sheet; media <- slide; bounded walk
                frontier = {p for t in frontier for p in parents.get(t, ()) if p not in seen}
                seen |= frontier
                found = sorted((h for h in frontier if h in holders), key=_natural_key)
                if found or not frontier:
                    break
            if found:
                locations[media] = ", ".join(dict.fromkeys(holders[h] for h in found))
    return locations, previews


def _unescape(text: str) -> str:
    return (
        text.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"')
        .replace("&apos;", "'").replace("&amp;", "&")
    )  # fmt: skip


def extract_ooxml(path: Path, result: DocumentImages, budget: Budget) -> None:
    """Fill ``result`` with the media parts of the zip package at ``path``."""
    try:
        zf = zipfile.ZipFile(path)
    except zipfile.BadZipFile as exc:
        result.error = f"corrupt zip: {exc}"
        return
    except (OSError, EOFError, ValueError, NotImplementedError) as exc:
        result.error = f"corrupt zip: {type(exc).__name__}: {exc}"[:300]
        return
    with zf:
        infos = zf.infolist()
        if len(infos) > MAX_ENTRIES:
            result.error = f"corrupt zip: too many entries ({len(infos)})"
            return
        family = _family([i.filename for i in infos])
        if family is None:
            result.kind = "zip"
            result.error = f"{NOT_A_DOCUMENT} (a zip archive without Office parts)"
            return
        if family == "odf":
            result.kind = path.suffix.lower().lstrip(".") or "odf"
        else:
            result.kind = _kind_from_extension(path, family)
        pkg = _Package(zf, result)
        media = sorted(
            (i.filename for i in infos if _is_media(i.filename) and not i.is_dir()),
            key=_natural_key,
        )
        if not media:
            return
        locations, previews = _locations(pkg, family, budget) if family != "odf" else ({}, set())
        seen: set[str] = set()
        for name in media:
            low = name.lower()
            if low in seen:  # duplicate entry names in a hostile zip
                continue
            seen.add(low)
            if budget.expired():
                result.warnings.append("time budget exceeded: stopped early")
                break
            if len(result.images) >= MAX_IMAGES_PER_DOCUMENT:
                result.warnings.append(
                    f"more than {MAX_IMAGES_PER_DOCUMENT} pictures: rest skipped"
                )
                break
            base = posixpath.basename(name)
            ext = base.rsplit(".", 1)[-1].lower() if "." in base else ""
            if ext in _NOT_IMAGES:
                continue
            data = pkg.read(name)
            if data is None or not data:
                continue
            fmt = sniff_format(data, base)
            if fmt is None:
                continue
            result.images.append(
                ExtractedImage(
                    name=base,
                    data=data,
                    format=fmt,
                    location=locations.get(low),
                    is_preview=low in previews,
                )
            )
