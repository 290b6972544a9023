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
from collections.abc import Iterator
from pathlib import Path

from lookalike.formats import document_kind, sniff_picture

from . import (
    NOT_A_DOCUMENT,
    Budget,
    DocumentImages,
    ExtractedImage,
)

#: Bound on the uncompressed bytes read from one package (pictures and XML together).
MAX_TOTAL_BYTES = 200 * 1024 * 1024
#: Bound on one member's uncompressed size.
MAX_MEMBER_BYTES = 50 * 1024 * 1024
#: Members that expand more than this (and past MIN_RATIO_CHECK_BYTES) are refused.
MAX_COMPRESSION_RATIO = 200
MIN_RATIO_CHECK_BYTES = 8 * 1024 * 1024
#: XML parts are ratio-checked whatever their size; one this small cannot be a bomb.
MIN_XML_RATIO_CHECK_BYTES = 64 * 1024
#: Members are inflated in chunks of this size, the time budget checked between them.
READ_CHUNK_BYTES = 1024 * 1024
#: Bound on an XML/rels part read to find locations and previews.
MAX_XML_BYTES = 20 * 1024 * 1024
#: A package with more entries than this is refused (hostile central directory).
MAX_ENTRIES = 100_000

#: Embedded parts that may hold a document (an OLE object's .bin may hold a workbook).
_EMBEDDED_SUFFIXES = (
    ".docx", ".docm", ".xlsx", ".xlsm", ".pptx", ".pptm", ".doc", ".xls", ".ppt", ".bin",
    ".pdf",
)  # fmt: skip
_NOT_IMAGES = frozenset({"pdf", "bin", "mp3", "mp4", "wav", "avi", "wmv", "mov", "m4a", "xml"})
# Part contents are untrusted: they are scanned for tags with bytes.find (linear), and
# the regular expressions below only run on one tag, with possessive quantifiers and a
# lookbehind so that no match attempt re-scans what an earlier one consumed.
_TAG_NAME = re.compile(rb"(/?)([\w.:-]++)")
_ATTRIBUTE = re.compile(rb"""(?<![\w:])([\w:]++)\s*+=\s*+(?:"([^"]*+)"|'([^']*+)')""")
#: Elements whose content is an embedded OLE object (its picture is a preview).
_OLE_ELEMENTS = frozenset({b"object", b"oleObj", b"oleObject", b"OLEObject"})
_REL_REF_ATTRIBUTES = frozenset({b"r:id", b"r:embed", b"r:link", b"r:pict", b"o:relid"})
_NATURAL = re.compile(r"(\d+)")
#: Tags scanned between two looks at the clock.
_TAGS_PER_CHECK = 4096
#: Spreadsheet drawing anchors (their ``xdr:from`` names the top-left cell).
_ANCHORS = frozenset({b"twoCellAnchor", b"oneCellAnchor", b"absoluteAnchor"})
#: Bytes read after ``<xdr:col>`` / ``<xdr:row>`` for the number.
_NUMBER_BYTES = 16


class _OutOfTime(Exception):
    """The time budget ran out inside a scan."""


def _tags_at(data: bytes, budget: Budget | None = None) -> Iterator[tuple[bytes, bool, bytes, int]]:
    """Each tag of ``data`` as (qualified name, is an end tag, the text inside ``<...>``,
    the offset of its ``>``).

    Linear whatever the input: an unclosed ``<`` ends the scan, and in ``<a <b>`` the tag
    is ``<b>``. Raises _OutOfTime when ``budget`` expires.
    """
    pos, count = 0, 0
    while True:
        start = data.find(b"<", pos)
        if start < 0:
            return
        end = data.find(b">", start + 1)
        if end < 0:
            return
        start = data.rfind(b"<", start, end)
        pos = end + 1
        count += 1
        if budget is not None and count % _TAGS_PER_CHECK == 0 and budget.expired():
            raise _OutOfTime
        body = data[start + 1 : end]
        match = _TAG_NAME.match(body)
        if match:
            yield match.group(2), bool(match.group(1)), body, end


def _tags(data: bytes, budget: Budget | None = None) -> Iterator[tuple[bytes, bool, bytes]]:
    """Each tag of ``data`` as (qualified name, is an end tag, the text inside ``<...>``)."""
    for name, is_end, body, _ in _tags_at(data, budget):
        yield name, is_end, body


def _local(name: bytes) -> bytes:
    """The element name without its namespace prefix."""
    return name.rpartition(b":")[2]


def _attributes(tag: bytes, *, lower: bool = False) -> dict[bytes, bytes]:
    """The quoted attributes of one tag (names lower-cased when ``lower``)."""
    return {
        (m.group(1).lower() if lower else m.group(1)): (m.group(2) or m.group(3) or b"")
        for m in _ATTRIBUTE.finditer(tag)
    }


def _rel_refs(tag: bytes) -> list[bytes]:
    """The relationship ids one tag refers to (``r:id``, ``r:embed``, ...)."""
    return [v for k, v in _attributes(tag).items() if k in _REL_REF_ATTRIBUTES and v]


def _ole_refs(xml: bytes, budget: Budget | None = None) -> set[bytes]:
    """Relationship ids referred to inside OLE object elements (``<w:object>...</w:object>``).

    One pass over the tags: an element's references count once its end tag is seen (or
    at once for ``<o:OLEObject .../>``); an element never closed adds nothing.
    """
    found: set[bytes] = set()
    open_name: bytes | None = None
    pending: list[bytes] = []
    for name, is_end, body in _tags(xml, budget):
        if is_end:
            if name == open_name:
                found.update(pending)
                open_name, pending = None, []
            continue
        ole = _local(name) in _OLE_ELEMENTS
        if ole and body.endswith(b"/"):
            found.update(_rel_refs(body))
        elif open_name is not None:
            pending += _rel_refs(body)
        elif ole:
            open_name, pending = name, _rel_refs(body)
    return found


class _Package:
    """A zip opened with read limits; every read is counted against the total budget."""

    def __init__(
        self, zf: zipfile.ZipFile, result: DocumentImages, budget: Budget | None = None
    ) -> None:
        self.zf = zf
        self.result = result
        self.budget = budget or Budget()
        self.total = 0
        self.by_lower = {info.filename.lower(): info for info in zf.infolist()}
        self.warned: set[str] = set()

    def read(
        self,
        name: str,
        limit: int = MAX_MEMBER_BYTES,
        *,
        quiet: bool = False,
        xml: bool = False,
    ) -> bytes | None:
        """The member's bytes, or None (with a warning unless ``quiet``) when over a limit.

        The member is inflated in chunks (the time budget checked between them); an
        ``xml`` part is refused past MAX_COMPRESSION_RATIO whatever its size (from
        MIN_XML_RATIO_CHECK_BYTES on: a smaller part cannot be a bomb).
        """
        info = self.by_lower.get(name.lower())
        if info is None:
            return None
        problem = None
        ratio_from = MIN_XML_RATIO_CHECK_BYTES if xml else MIN_RATIO_CHECK_BYTES
        if info.flag_bits & 0x1:
            problem = "encrypted zip member"
        elif info.file_size > limit:
            problem = f"oversized member ({info.file_size} bytes, limit {limit})"
        elif info.file_size > ratio_from and info.file_size > MAX_COMPRESSION_RATIO * max(
            info.compress_size, 1
        ):
            problem = (
                f"suspicious compression ratio ({info.file_size} from "
                f"{info.compress_size} bytes, limit {MAX_COMPRESSION_RATIO})"
            )
        elif self.total + info.file_size > MAX_TOTAL_BYTES:
            problem = f"total uncompressed size over {MAX_TOTAL_BYTES} bytes"
        if problem is None:
            try:
                data, problem = self._inflate(info, limit)
            except Exception as exc:  # corrupt member: bad CRC, bad deflate stream, ...
                problem = f"unreadable member ({type(exc).__name__}: {exc})"[:200]
            else:
                if problem is None:
                    return data
        if not quiet and info.filename not in self.warned:
            self.warned.add(info.filename)
            self.result.warnings.append(f"{info.filename}: skipped: {problem}")
        return None

    def _inflate(self, info: zipfile.ZipInfo, limit: int) -> tuple[bytes, str | None]:
        """(bytes, None), or (partial bytes, why it stopped): bounded chunks, the clock read
        between them. zipfile never reads past the sizes of the central directory."""
        chunks: list[bytes] = []
        size = 0
        with self.zf.open(info) as fh:
            while True:
                chunk = fh.read(min(READ_CHUNK_BYTES, limit + 1 - size))
                if not chunk:
                    break
                chunks.append(chunk)
                size += len(chunk)
                self.total += len(chunk)
                if size > limit:  # pragma: no cover - zipfile stops at file_size
                    return b"", f"oversized member (over {limit} bytes)"
                if self.budget.expired():
                    return b"", f"time budget of {self.budget.seconds:g} s ran out while inflating"
        return b"".join(chunks), None

    def rels(self, part: str) -> dict[str, str]:
        """Relationship id -> resolved internal target of ``part`` (empty when none)."""
        folder, base = posixpath.split(part)
        data = self.read(posixpath.join(folder, "_rels", base + ".rels"), MAX_XML_BYTES, xml=True)
        out: dict[str, str] = {}
        if not data:
            return out
        for name, is_end, tag in _tags(data, self.budget):
            if is_end or _local(name) != b"Relationship":
                continue
            attrs = _attributes(tag, lower=True)
            if attrs.get(b"targetmode", b"").lower() == b"external" or b"id" not in attrs:
                continue
            target = attrs.get(b"target", b"").decode("utf-8", "replace")
            if not target:
                continue
            target = target.replace("\\", "/").split("#", 1)[0]
            resolved = (
                target.lstrip("/") if target.startswith("/") else posixpath.join(folder, target)
            )
            resolved = posixpath.normpath(resolved).lstrip("./") if resolved else resolved
            out[attrs[b"id"].decode("utf-8", "replace")] = resolved.lower()
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


class _Scene:
    """What the relationships and part XML of a package tell about its pictures."""

    def __init__(self) -> None:
        self.parents: dict[str, set[str]] = {}  # part -> the parts that relate to it
        self.previews: set[str] = set()  # media parts that are OLE previews
        self.rels_of: dict[str, dict[str, str]] = {}
        self.holders: dict[str, str] = {}  # sheet/slide part -> "sheet X" / "slide N"
        self.sheet_names: dict[str, str] = {}  # sheet part -> its name
        #: part -> (media part, where in the part) for each picture reference, in order
        self.refs: dict[str, list[tuple[str, str]]] = {}


def _locations(
    pkg: _Package, family: str, budget: Budget
) -> tuple[dict[str, list[str]], dict[str, str], set[str]]:
    """(media part -> its placements, media part -> the sheets/slides that show it, media
    parts that are OLE previews), all keyed lower-case.

    A placement is one reference to the picture from a part's XML ("body, paragraph 12",
    "header, paragraph 1", "slide 3", "数据!C5"): a picture referenced twice has two.
    When the time budget runs out, what was found so far is returned with a warning.
    """
    scene = _Scene()
    parts = [n for n in pkg.by_lower if n.endswith((".xml", ".vml")) and "/_rels/" not in n]
    done = 0
    try:
        for part in parts:
            if budget.expired():
                raise _OutOfTime
            _relate(pkg, part, family, scene)
            done += 1
        _holders(pkg, family, parts, scene)
    except _OutOfTime:
        pass
    locations = _media_locations(scene.parents, scene.holders, budget)
    placements: dict[str, list[str]] = {}
    # A VML drawing (.vml) of a workbook or deck repeats DrawingML pictures for old readers
    # (OLE previews): it counts only for pictures nothing else shows (header/footer
    # pictures of a sheet), once per part.
    vml = sorted(p for p in scene.refs if p.endswith(".vml"))
    for part in [p for p in scene.refs if not p.endswith(".vml")] + vml:
        where = _part_label(part, family, scene)
        refs = scene.refs[part]
        if part.endswith(".vml"):
            refs = [(m, i) for m, i in dict(reversed(refs)).items() if m not in placements]
        for media, inside in refs:
            placements.setdefault(media, []).append(_join_place(where, inside, family))
    if budget.expired():
        pkg.result.warnings.append(
            budget.ran_out(done, len(parts), "XML parts", "while reading relationships")
            + "; picture locations and OLE previews may be incomplete"
        )
    return placements, locations, scene.previews


def _relate(pkg: _Package, part: str, family: str, scene: _Scene) -> None:
    """Add the relationships of one part to the scene: its parents, OLE previews and
    picture references."""
    folder, base = posixpath.split(part)
    if posixpath.join(folder, "_rels", base + ".rels") not in pkg.by_lower:
        return
    rels = pkg.rels(part)
    scene.rels_of[part] = rels
    for target in rels.values():
        scene.parents.setdefault(target, set()).add(part)
    media = {rid: t for rid, t in rels.items() if _is_media(t)}
    if not media:
        return
    xml = pkg.read(part, MAX_XML_BYTES, xml=True) or b""
    if part.endswith(".vml"):  # legacy VML drawings of xlsx/pptx hold OLE previews
        scene.previews.update(media.values())
    else:
        for ref in _ole_refs(xml, pkg.budget):
            target = media.get(ref.decode("utf-8", "replace"))
            if target:
                scene.previews.add(target)
    style = "word" if family == "docx" and _word_story(part) else ""
    if family == "xlsx" and "/drawings/" in part and part.endswith(".xml"):
        style = "drawing"
    scene.refs[part] = _placements_in(xml, media, style, pkg.budget)


class _Alternate:
    """One open ``mc:AlternateContent``: what its Choice showed, what its Fallback would add."""

    __slots__ = ("choice", "fallback", "pending")

    def __init__(self) -> None:
        self.choice: set[str] = set()
        self.fallback = False
        self.pending: list[tuple[str, str]] = []


def _placements_in(
    xml: bytes, media: dict[str, str], style: str, budget: Budget
) -> list[tuple[str, str]]:
    """(media part, where in the part) for each picture reference of one part, in order.

    One linear pass over the tags. ``style`` "word": where = "paragraph N" (Word's
    paragraph count: body and table-cell paragraphs, not those inside text boxes) with
    ", table" or ", text box"; "drawing" (a spreadsheet drawing): the anchor's top-left
    cell ("C5"); else "". A ``mc:Fallback`` repeats its Choice in an older form: its
    pictures count only when the Choice did not show them (a pptx OLE preview).
    """
    out: list[tuple[str, str]] = []
    stack: list[_Alternate] = []
    in_fallback = 0  # open frames in their Fallback
    paragraph = table = textbox = 0
    cell: str | None = None
    col = row = -1
    in_from = False

    def emit(target: str, where: str) -> None:
        if stack and stack[-1].fallback:
            stack[-1].pending.append((target, where))
            return
        if stack:
            stack[-1].choice.add(target)
        out.append((target, where))

    for name, is_end, body, end in _tags_at(xml, budget):
        local = _local(name)
        closed = body.endswith(b"/")
        if local == b"AlternateContent":
            if not is_end and not closed:
                stack.append(_Alternate())
            elif is_end and stack:
                frame = stack.pop()
                in_fallback -= frame.fallback
                for target, where in frame.pending:
                    if target not in frame.choice:
                        emit(target, where)
            continue
        if local == b"Fallback" and stack and not closed:
            if is_end == stack[-1].fallback:
                stack[-1].fallback = not is_end
                in_fallback += -1 if is_end else 1
            continue
        if style == "word" and not in_fallback:
            if name == b"w:txbxContent" and not closed:
                textbox = max(0, textbox + (-1 if is_end else 1))
            elif name == b"w:tbl" and not closed:
                table = max(0, table + (-1 if is_end else 1))
            elif name == b"w:p" and not is_end and not textbox:
                paragraph += 1
        elif style == "drawing":
            if local in _ANCHORS and not is_end:
                cell, col, row = None, -1, -1
            elif local == b"from" and not closed:
                in_from = not is_end
                if is_end and col >= 0 and row >= 0:
                    cell = f"{column_name(col)}{row + 1}"
            elif in_from and not is_end and local in (b"col", b"row"):
                number = _number_after(xml, end)
                if number is not None:
                    col, row = (number, row) if local == b"col" else (col, number)
        if is_end:
            continue
        for ref in dict.fromkeys(_rel_refs(body)):
            target = media.get(ref.decode("utf-8", "replace"))
            if target is None:
                continue
            if style == "word":
                where = f"paragraph {paragraph}" if paragraph else ""
                where += ", table" if table else ""
                where += ", text box" if textbox else ""
                emit(target, where.lstrip(", "))
            else:
                emit(target, (cell or "") if style == "drawing" else "")
    return out


def _number_after(xml: bytes, end: int) -> int | None:
    """The small integer written right after the tag ending at ``end`` (``<xdr:col>2<``)."""
    text = xml[end + 1 : end + 1 + _NUMBER_BYTES].split(b"<", 1)[0].strip()
    return int(text) if text.isdigit() and len(text) <= 7 else None


def column_name(index: int) -> str:
    """A spreadsheet column's letters from its 0-based index: 0 -> A, 27 -> AB."""
    letters = ""
    index += 1
    while index > 0:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def sheet_reference(sheet: str, cell: str) -> str:
    """``Sheet1!C5``; a name with spaces or punctuation is quoted as Excel does:
    ``'My data'!C5``."""
    plain = re.fullmatch(r"[^\W\d]\w*", sheet) and not re.fullmatch(r"[A-Za-z]{1,3}\d+", sheet)
    name = sheet if plain else "'" + sheet.replace("'", "''") + "'"
    return f"{name}!{cell}"


_WORD_STORIES = (
    ("header", "header"),
    ("footer", "footer"),
    ("footnotes", "footnotes"),
    ("endnotes", "endnotes"),
    ("comments", "comments"),
    ("document", "body"),
)


def _word_story(part: str) -> str | None:
    """Which story of a Word document a part holds: body, header, footer..., or None."""
    folder, base = posixpath.split(part)
    if folder != "word" or not base.endswith(".xml"):
        return None
    stem = base[:-4]
    for prefix, story in _WORD_STORIES:
        if stem == prefix or (prefix in ("header", "footer") and stem.startswith(prefix)):
            return story
    return None


def _part_label(part: str, family: str, scene: _Scene) -> str:
    """Where a part shows up to a reader: "body", "slide 3", "sheet 数据", "slide layout 2"."""
    label = _own_label(part, family, scene)
    if label:
        return label
    frontier, seen = {part}, {part}
    for _depth in range(4):  # chart <- drawing <- sheet; diagram <- document; bounded
        frontier = {p for t in frontier for p in scene.parents.get(t, ()) if p not in seen}
        seen |= frontier
        labels = sorted(
            {lab for p in frontier if (lab := _own_label(p, family, scene))}, key=_natural_key
        )
        if labels:
            kind = posixpath.basename(posixpath.dirname(part)).rstrip("s") or "part"
            return f"{', '.join(labels)} ({kind})"
        if not frontier:
            break
    return part


def _own_label(part: str, family: str, scene: _Scene) -> str | None:
    """The label of a part that names a place by itself (a slide, a sheet, a story)."""
    if part in scene.holders:
        return scene.holders[part]
    if family == "docx":
        return _word_story(part)
    m = re.fullmatch(r"ppt/(slideLayout|slideMaster|notesSlide)s/\1(\d+)\.xml", part, re.I)
    if m:
        kind = {"slidelayout": "slide layout", "slidemaster": "slide master"}
        if m.group(1).lower() in kind:
            return f"{kind[m.group(1).lower()]} {int(m.group(2))}"
        slides = sorted(
            (scene.holders[p] for p in scene.parents.get(part, ()) if p in scene.holders),
            key=_natural_key,
        )
        return f"notes of {slides[0]}" if slides else "notes"
    if family == "xlsx" and "/drawings/" in part:
        sheets = sorted(
            (scene.holders[p] for p in scene.parents.get(part, ()) if p in scene.holders),
            key=_natural_key,
        )
        return ", ".join(sheets) if sheets else None
    return None


def _join_place(where: str, inside: str, family: str) -> str:
    """One placement's text: "body, paragraph 12", "数据!C5", "slide 3"."""
    if not inside:
        return where
    if family == "xlsx" and where.startswith("sheet ") and ", " not in where:
        return sheet_reference(where[len("sheet ") :], inside)
    return f"{where}, {inside}"


def _holders(pkg: _Package, family: str, parts: list[str], scene: _Scene) -> None:
    """Fill ``scene.holders``: sheet part -> "sheet NAME", slide part -> "slide N"."""
    holders = scene.holders
    if family == "xlsx":
        workbook = pkg.read("xl/workbook.xml", MAX_XML_BYTES, xml=True) or b""
        wb_rels = scene.rels_of.get("xl/workbook.xml") or pkg.rels("xl/workbook.xml")
        for name, is_end, tag in _tags(workbook, pkg.budget):
            if is_end or _local(name) != b"sheet":
                continue
            attrs = _attributes(tag)
            target = wb_rels.get(attrs.get(b"r:id", b"").decode("utf-8", "replace"))
            name = attrs.get(b"name", b"").decode("utf-8", "replace")
            if target and name:
                holders[target] = f"sheet {_unescape(name)[:100]}"
    elif family == "pptx":
        presentation = pkg.read("ppt/presentation.xml", MAX_XML_BYTES, xml=True) or b""
        p_rels = scene.rels_of.get("ppt/presentation.xml") or pkg.rels("ppt/presentation.xml")
        tags = _tags(presentation, pkg.budget)
        slides = (tag for name, end, tag in tags if not end and _local(name) == b"sldId")
        for number, tag in enumerate(slides, 1):
            refs = _rel_refs(tag)
            target = p_rels.get(refs[0].decode("utf-8", "replace")) if refs else None
            if target:
                holders[target] = f"slide {number}"
        if not holders:  # no usable presentation.xml: number the slides by file name
            for part in parts:
                m = re.fullmatch(r"ppt/slides/slide(\d+)\.xml", part)
                if m:
                    holders[part] = f"slide {int(m.group(1))}"


def _media_locations(
    parents: dict[str, set[str]], holders: dict[str, str], budget: Budget
) -> dict[str, str]:
    """Media part -> the sheets/slides that show it, walking up the relationships."""
    locations: dict[str, str] = {}
    if holders:
        for media in (t for t in parents if _is_media(t)):
            if budget.expired():
                break
            frontier, seen, found = {media}, {media}, set()
            for _depth in range(4):  # media <- drawing <- sheet; media <- slide; bounded walk
                frontier = {p for t in frontier for p in parents.get(t, ()) if p not in seen}
                seen |= frontier
                found = sorted((h for h in frontier if h in holders), key=_natural_key)
                if found or not frontier:
                    break
            if found:
                locations[media] = ", ".join(dict.fromkeys(holders[h] for h in found))
    return locations


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
            result.kind = document_kind(path, family)
        pkg = _Package(zf, result, budget)
        media = sorted(
            (i.filename for i in infos if _is_media(i.filename) and not i.is_dir()),
            key=_natural_key,
        )
        _collect_embedded(pkg, infos, result)
        if not media:
            return
        placements: dict[str, list[str]] = {}
        locations: dict[str, str] = {}
        previews: set[str] = set()
        if family != "odf":
            placements, locations, previews = _locations(pkg, family, budget)
        seen: set[str] = set()
        for index, name in enumerate(media):
            low = name.lower()
            if low in seen:  # duplicate entry names in a hostile zip
                continue
            seen.add(low)
            if budget.expired():
                result.warnings.append(budget.ran_out(index, len(media), "media parts"))
                break
            if len(result.images) >= budget.max_images:
                result.warnings.append(_skipped(budget, index, len(media)))
                break
            base = posixpath.basename(name)
            ext = base.rsplit(".", 1)[-1].lower() if "." in base else ""
            if ext in _NOT_IMAGES:
                continue
            data = pkg.read(name)
            if data is None or not data:
                continue
            fmt = sniff_picture(data, base)
            if fmt is None:
                continue
            refused = budget.refuse(result, len(data))
            if refused:
                result.warnings.append(_skipped(budget, index, len(media), refused))
                break
            places = placements.get(low, [])
            result.images.append(
                ExtractedImage(
                    name=base,
                    data=data,
                    format=fmt,
                    location="; ".join(dict.fromkeys(places)) or locations.get(low),
                    is_preview=low in previews,
                    placements=places,
                )
            )


def _skipped(budget: Budget, index: int, total: int, reason: str = "") -> str:
    """The warning for the media parts left when a per-document cap is reached."""
    reason = reason or f"picture limit of {budget.max_images} per document reached"
    return f"{reason}: {total - index} of {total} media parts skipped"


def _collect_embedded(pkg: _Package, infos: list[zipfile.ZipInfo], result: DocumentImages) -> None:
    """Keep the embedded documents (``*/embeddings/*``: workbooks, documents, OLE objects)
    on ``result.embedded`` for :func:`~lookalike.sources.documents.extract_images` to open."""
    for info in infos:
        low = info.filename.lower()
        if "/embeddings/" not in low or info.is_dir():
            continue
        if not low.endswith(_EMBEDDED_SUFFIXES):
            continue
        data = pkg.read(info.filename, quiet=False)
        if data:
            result.embedded.append((posixpath.basename(info.filename), data))
