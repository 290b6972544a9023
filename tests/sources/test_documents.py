"""Picture extraction from Office/PDF documents: built documents plus the shared corpus."""

from __future__ import annotations

import csv
import io
import struct
import time
import zipfile
import zlib
from pathlib import Path

import pytest
from corpus import CORPUS
from PIL import Image

from lookalike.sources.documents import (
    ENCRYPTED,
    Budget,
    DocumentImages,
    ExtractedImage,
    extract_images,
    is_document,
    save_images,
)
from lookalike.sources.documents.legacy import _xls_drawing_group, scan_blips
from lookalike.sources.documents.metafile import available_backends, rasterize_metafiles

DOCS = CORPUS / "docs"
needs_corpus = pytest.mark.skipif(not DOCS.is_dir(), reason=f"shared corpus not found at {DOCS}")


def _png(color: tuple[int, int, int] = (200, 30, 30), size: tuple[int, int] = (8, 6)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, "PNG")
    return buf.getvalue()


def _jpeg() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (16, 16), (10, 120, 240)).save(buf, "JPEG")
    return buf.getvalue()


def _rels(*rels: tuple[str, str]) -> str:
    body = "".join(
        f'<Relationship Id="{rid}" Type="http://x/image" Target="{target}"/>'
        for rid, target in rels
    )
    return f'<?xml version="1.0"?><Relationships xmlns="x">{body}</Relationships>'


def _zip(path: Path, members: dict[str, bytes | str]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        for name, data in members.items():
            zf.writestr(name, data)
    return path


# --- OOXML built in the test -------------------------------------------------------------


def test_docx_media_and_thumbnail_skipped(tmp_path: Path) -> None:
    png, jpeg = _png(), _jpeg()
    doc = _zip(
        tmp_path / "a.docx",
        {
            "word/document.xml": "<w:document/>",
            "word/media/image10.png": png,
            "word/media/image2.jpeg": jpeg,
            "docProps/thumbnail.jpeg": jpeg,
        },
    )
    result = extract_images(doc)
    assert result.error is None and result.kind == "docx"
    assert [(i.name, i.format) for i in result.images] == [
        ("image2.jpeg", "jpeg"),
        ("image10.png", "png"),
    ]
    assert result.images[1].data == png  # bytes exactly as stored
    assert not any(i.is_preview for i in result.images)


def test_docx_ole_preview_flagged(tmp_path: Path) -> None:
    document = (
        '<w:document><w:body><w:p><w:r><w:drawing><a:blip r:embed="rId1"/></w:drawing></w:r>'
        '<w:r><w:object><v:shape><v:imagedata r:id="rId2" o:title=""/></v:shape>'
        '<o:OLEObject Type="Embed" ProgID="Excel.Sheet.12" r:id="rId3"/></w:object></w:r>'
        "</w:p></w:body></w:document>"
    )
    doc = _zip(
        tmp_path / "ole.docx",
        {
            "word/document.xml": document,
            "word/_rels/document.xml.rels": _rels(
                ("rId1", "media/image1.png"),
                ("rId2", "media/image2.emf"),
                ("rId3", "embeddings/Microsoft_Excel_Worksheet.xlsx"),
            ),
            "word/media/image1.png": _png(),
            "word/media/image2.emf": b"\x01\x00\x00\x00" + bytes(36) + b" EMF" + bytes(60),
            "word/embeddings/Microsoft_Excel_Worksheet.xlsx": b"PK\x03\x04junk",
        },
    )
    result = extract_images(doc)
    assert {i.name: (i.format, i.is_preview) for i in result.images} == {
        "image1.png": ("png", False),
        "image2.emf": ("emf", True),
    }


def test_xlsx_sheet_location(tmp_path: Path) -> None:
    workbook = (
        '<workbook><sheets><sheet name="Summary" sheetId="1" r:id="rId1"/>'
        '<sheet name="Data &amp; charts" sheetId="2" r:id="rId2"/></sheets></workbook>'
    )
    doc = _zip(
        tmp_path / "book.xlsx",
        {
            "xl/workbook.xml": workbook,
            "xl/_rels/workbook.xml.rels": _rels(
                ("rId1", "worksheets/sheet1.xml"), ("rId2", "/xl/worksheets/sheet2.xml")
            ),
            "xl/worksheets/sheet1.xml": "<worksheet/>",
            "xl/worksheets/sheet2.xml": "<worksheet/>",
            "xl/worksheets/_rels/sheet2.xml.rels": _rels(("rId1", "../drawings/drawing1.xml")),
            "xl/drawings/drawing1.xml": '<xdr:wsDr><a:blip r:embed="rId1"/></xdr:wsDr>',
            "xl/drawings/_rels/drawing1.xml.rels": _rels(("rId1", "../media/image1.png")),
            "xl/media/image1.png": _png(),
            "xl/media/orphan.png": _png((1, 2, 3)),
        },
    )
    result = extract_images(doc)
    assert result.kind == "xlsx"
    assert {i.name: i.location for i in result.images} == {
        "image1.png": "sheet Data & charts",
        "orphan.png": None,
    }


def test_pptx_slide_numbers_follow_presentation_order(tmp_path: Path) -> None:
    presentation = (
        '<p:presentation><p:sldIdLst><p:sldId id="256" r:id="rId3"/>'
        '<p:sldId id="257" r:id="rId2"/></p:sldIdLst></p:presentation>'
    )
    doc = _zip(
        tmp_path / "deck.pptm",
        {
            "ppt/presentation.xml": presentation,
            "ppt/_rels/presentation.xml.rels": _rels(
                ("rId2", "slides/slide1.xml"), ("rId3", "slides/slide2.xml")
            ),
            "ppt/slides/slide1.xml": '<p:sld><a:blip r:embed="rId1"/></p:sld>',
            "ppt/slides/slide2.xml": '<p:sld><a:blip r:embed="rId1"/></p:sld>',
            "ppt/slides/_rels/slide1.xml.rels": _rels(("rId1", "../media/image1.png")),
            "ppt/slides/_rels/slide2.xml.rels": _rels(("rId1", "../media/image2.gif")),
            "ppt/media/image1.png": _png(),
            "ppt/media/image2.gif": b"GIF89a" + bytes(20),
            "ppt/media/media1.mp4": b"\x00\x00\x00\x18ftypmp42",
        },
    )
    result = extract_images(doc)
    assert result.kind == "pptm"
    assert {i.name: i.location for i in result.images} == {
        "image1.png": "slide 2",
        "image2.gif": "slide 1",
    }


def test_zip_bomb_members_become_warnings(tmp_path: Path) -> None:
    png = _png()
    doc = _zip(
        tmp_path / "bomb.docx",
        {
            "word/document.xml": "<w:document/>",
            "word/media/image1.png": png,
            "word/media/huge.png": b"\x89PNG\r\n\x1a\n" + bytes(51 * 1024 * 1024),
            "word/media/ratio.png": b"\x89PNG\r\n\x1a\n" + bytes(9 * 1024 * 1024),
        },
    )
    result = extract_images(doc)
    assert result.error is None
    assert [i.name for i in result.images] == ["image1.png"]
    assert len(result.warnings) == 2
    assert any("oversized" in w and "huge.png" in w for w in result.warnings)
    assert any("compression ratio" in w and "ratio.png" in w for w in result.warnings)


def test_evil_member_names_are_saved_inside_out_dir(tmp_path: Path) -> None:
    png = _png()
    doc = _zip(
        tmp_path / "evil.docx",
        {
            "word/document.xml": "<w:document/>",
            "word/media/../../../evil.png": png,
            "word/media/a.png": png,
        },
    )
    result = extract_images(doc)
    assert sorted(i.name for i in result.images) == ["a.png", "evil.png"]
    out = tmp_path / "out"
    written = save_images(result, out)
    assert sorted(p.name for p in written) == ["a.png", "evil.png"]
    assert all(p.parent == out for p in written)
    assert not (tmp_path / "evil.png").exists()


def test_save_images_sanitizes_and_deduplicates(tmp_path: Path) -> None:
    data = _png()
    names = [
        "../../x.png",
        "/etc/passwd",
        "C:\\Windows\\x.png",
        "a\x00b\x1f.png",
        "图片.png",
        "x.png",
        "..",
        "CON.png",
        "",
    ]
    doc = DocumentImages(
        path="d.docx", kind="docx", images=[ExtractedImage(n, data, "png") for n in names]
    )
    out = tmp_path / "out"
    written = save_images(doc, out)
    assert len(written) == len(names)
    assert all(p.parent == out and p.is_file() for p in written)
    got = [p.name for p in written]
    assert got[:5] == ["x.png", "passwd.png", "x_2.png", "ab.png", "图片.png"]
    assert got[5] == "x_3.png"
    assert len({g.lower() for g in got}) == len(got)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
    # a second save into the same folder never overwrites
    again = save_images(doc, out)
    assert not set(again) & set(written)


def test_not_documents_and_corrupt_files(tmp_path: Path) -> None:
    text = tmp_path / "notes.docx"
    text.write_text("just text")
    assert extract_images(text).error == "not an Office or PDF document"
    empty = tmp_path / "empty.pdf"
    empty.write_bytes(b"")
    assert extract_images(empty).error == "not an Office or PDF document"
    assert extract_images(tmp_path / "missing.docx").error.startswith("cannot read")
    good = _zip(
        tmp_path / "good.xlsx", {"xl/workbook.xml": "<workbook/>", "xl/media/image1.png": _png()}
    )
    truncated = tmp_path / "truncated.xlsx"
    truncated.write_bytes(good.read_bytes()[:-30])
    assert extract_images(truncated).error.startswith("corrupt zip")
    plain = _zip(tmp_path / "plain.docx", {"readme.txt": "hello"})
    assert extract_images(plain).error.startswith("not an Office or PDF document")


def test_is_document() -> None:
    assert is_document("a/B.DOCX") and is_document("x.pdf") and is_document("old.Xls")
    assert not is_document("image.png") and not is_document("noext") and not is_document("a.emf")


# --- legacy OfficeArt BLIP records built in the test -------------------------------------


def _blip(rec_type: int, instance: int, payload: bytes) -> bytes:
    return struct.pack("<HHI", instance << 4, rec_type, len(payload)) + payload


def test_scan_blips_png_dib_and_compressed_emf() -> None:
    png = _png()
    png_blip = _blip(0xF01E, 0x6E0, bytes(16) + b"\xff" + png)
    dib = struct.pack("<IiiHHIIiiII", 40, 2, 2, 1, 24, 0, 16, 0, 0, 0, 0) + bytes(16)
    dib_blip = _blip(0xF01F, 0x7A9, bytes(32) + b"\xff" + dib)  # two UIDs
    emf = b"\x01\x00\x00\x00" + bytes(36) + b" EMF" + bytes(200)
    packed = zlib.compress(emf)
    header = struct.pack("<I4i2iIBB", len(emf), 0, 0, 10, 10, 9525, 9525, len(packed), 0, 0xFE)
    emf_blip = _blip(0xF01A, 0x3D4, bytes(16) + header + packed)
    found = scan_blips(b"junk" + png_blip + b"\x00" * 7 + dib_blip + emf_blip + b"tail", Budget())
    assert [f for f, _ in found] == ["png", "bmp", "emf"]
    assert found[0][1] == png
    assert found[2][1] == emf
    bmp = Image.open(io.BytesIO(found[1][1]))
    assert bmp.size == (2, 2)


def test_xls_drawing_group_is_rejoined_across_continue_records() -> None:
    png = _png(size=(40, 40))
    blip = _blip(0xF01E, 0x6E0, bytes(16) + b"\xff" + png)
    group = struct.pack("<HHI", 0xF, 0xF000, len(blip)) + blip
    cut = len(group) // 2
    stream = (
        struct.pack("<HH", 0x0809, 4) + bytes(4)
        + struct.pack("<HH", 0x00EB, cut) + group[:cut]
        + struct.pack("<HH", 0x003C, len(group) - cut) + group[cut:]
        + struct.pack("<HH", 0x000A, 0)
    )  # fmt: skip
    assert ("png", png) not in scan_blips(stream, Budget())  # cut by the Continue header
    joined, encrypted = _xls_drawing_group(stream)
    assert not encrypted
    assert scan_blips(joined, Budget()) == [("png", png)]


# --- the shared corpus -------------------------------------------------------------------


def _manifest() -> list[dict[str, str]]:
    with open(DOCS / "MANIFEST.tsv", encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh, delimiter="\t"))


@needs_corpus
def test_every_corpus_document_is_handled_without_exceptions() -> None:
    paths = sorted(p for p in DOCS.iterdir() if p.name != "MANIFEST.tsv")
    start = time.perf_counter()
    results = [extract_images(p) for p in paths]
    took = time.perf_counter() - start
    assert len(results) > 250
    ok = [r for r in results if r.error is None]
    assert len(ok) > 200
    assert sum(len(r.images) for r in ok) > 600
    for r in results:
        assert isinstance(r.error, (str, type(None)))
        for image in r.images:
            assert image.data and image.format and image.name
    assert took < 30, f"corpus took {took:.1f} s"


@needs_corpus
def test_corpus_encrypted_files_are_reported() -> None:
    rows = [
        r
        for r in _manifest()
        if "encrypted" in r["notes"] and r["format"] in ("docx", "xlsx", "pptx", "ppt", "pdf")
    ]
    assert len(rows) >= 10
    for row in rows:
        result = extract_images(DOCS / row["file"])
        assert result.error == ENCRYPTED, (row["file"], result.error)
    assert extract_images(DOCS / "tika_testWORD_protected_drm.doc").error.startswith("encrypted")


@needs_corpus
def test_corpus_image_counts_match_manifest() -> None:
    """Rows counted from the real structure (not POI's rough byte signatures) must match."""
    checked = 0
    for row in _manifest():
        if row["source"].startswith("apache/poi") or row["format"] in ("pdf", "emf", "wmf"):
            continue
        if any(
            word in row["notes"] for word in ("fuzz", "encrypted", "corrupt", "not OOXML", "DRM")
        ):
            continue
        result = extract_images(DOCS / row["file"])
        assert result.error is None, (row["file"], result.error)
        own = [i for i in result.images if i.document is None]  # embedded documents aside
        assert len(own) == int(row["images_found_by_signature"]), row["file"]
        checked += 1
    assert checked >= 50


@needs_corpus
def test_corpus_samples() -> None:
    xls = extract_images(DOCS / "tika_testEXCEL_1img.xls")
    xlsx = extract_images(DOCS / "tika_testEXCEL_1img.xlsx")
    assert xls.kind == "xls" and xlsx.kind == "xlsx"
    assert xls.images[0].data == xlsx.images[0].data  # the same PNG from both formats
    assert xlsx.images[0].location == "Sheet1!A12"  # xdr:from col 0, row 11
    ppt = extract_images(DOCS / "tika_testPPT_embeded.pptx")
    assert any(i.is_preview and i.format == "emf" for i in ppt.images)
    assert all(
        i.location and i.location.startswith("slide ")
        for i in ppt.images
        if not i.is_preview and i.document is None  # embedded documents have their own
    )
    pdf = extract_images(DOCS / "cmyk-image.pdf")
    assert pdf.kind == "pdf" and pdf.images and pdf.images[0].location == "page 1"
    for image in pdf.images:
        Image.open(io.BytesIO(image.data)).verify()
    fake = extract_images(DOCS / "tika_testEXCEL_4.xls")  # misnamed: content decides
    assert fake.error == "not an Office or PDF document"


def test_rasterize_reports_what_to_install() -> None:
    wmf = b"\xd7\xcd\xc6\x9a" + bytes(40)
    got = rasterize_metafiles([("x.wmf", wmf), ("y.txt", b"hello")], backends=["nothing-installed"])
    assert "libwmf-bin" in got["x.wmf"] and "libreoffice-draw-nogui" in got["x.wmf"]
    assert got["y.txt"] == "not an EMF or WMF metafile"


@needs_corpus
@pytest.mark.skipif(not available_backends(), reason="no EMF/WMF renderer installed")
def test_rasterize_corpus_metafiles() -> None:
    items = [("testEMF.emf", (DOCS / "tika_testEMF.emf").read_bytes())]
    items.append(("CVS_LOGO.wmf", (DOCS / "pydocx_CVS_LOGO.WMF").read_bytes()))
    ppt = extract_images(DOCS / "tika_testPPT_embedded2.ppt")
    items += [(i.name, i.data) for i in ppt.images if i.format in ("emf", "wmf")]
    assert {n.rsplit(".")[-1] for n, _ in items} == {"emf", "wmf"}
    got = rasterize_metafiles(items, size=256)
    for name, _ in items:
        image = got[name]
        assert isinstance(image, Image.Image), (name, image)
        assert max(image.size) <= 256 and min(image.size) > 1
        assert image.convert("L").getextrema()[0] < 200  # something dark was drawn
