"""Hostile documents found by the attack round (issue 16): each is bounded in time."""

from __future__ import annotations

import io
import os
import time
import zipfile
from pathlib import Path

import pytest
from PIL import Image

import lookalike.sources.documents as documents
from lookalike.cli import main
from lookalike.doccheck.check import check_documents
from lookalike.doccheck.records import CheckOptions, ImagePairRow
from lookalike.errors import LookalikeError
from lookalike.reports.xlsx import write_document_workbook
from lookalike.sources.documents import (
    Budget,
    DocumentImages,
    ExtractedImage,
    extract_images,
    safe_file_name,
    save_images,
)
from lookalike.sources.documents.legacy import scan_blips

RELS = (
    '<?xml version="1.0"?><Relationships xmlns="x">'
    '<Relationship Id="rId1" Type="http://x/image" Target="media/image1.png"/>'
    "</Relationships>"
)


def _png(index: int = 0, side: int = 40) -> bytes:
    """A small PNG, distinct for each ``index``."""
    im = Image.new("RGB", (side, side), (index % 251, (index // 251) % 251, 90))
    im.putpixel((index % side, 0), (255, 255, 255))
    buf = io.BytesIO()
    im.save(buf, "PNG")
    return buf.getvalue()


def _docx(path: Path, members: dict[str, bytes | str], stored: bool = False) -> Path:
    mode = zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED
    with zipfile.ZipFile(path, "w", mode) as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        for name, data in members.items():
            zf.writestr(name, data)
    return path


class _Countdown(Budget):
    """A budget that expires after ``calls`` looks at the clock (deterministic)."""

    def __init__(self, calls: int) -> None:
        super().__init__(7.0)
        self.calls = calls

    def expired(self) -> bool:
        self.calls -= 1
        return self.calls < 0


# --- 1. linear scans, ratio bombs, the budget inside loops ---------------------------------


@pytest.mark.parametrize(
    "part, data",
    [
        ("word/document.xml", b"<w:object>" * 26_215),  # 256 KiB, never closed
        ("word/document.xml", b"<w:object><v:imagedata r:id='rId1'/>" * 7_100),
        ("word/document.xml", b"<w:object " + b"a:" * 131_072 + b">"),  # one huge tag
        ("word/_rels/document.xml.rels", b"<Relationship " * 18_725),  # never closed
        ("word/_rels/document.xml.rels", b"<Relationship a=\"b='" * 13_000),
    ],
)
def test_unclosed_tags_scan_in_linear_time(tmp_path: Path, part: str, data: bytes) -> None:
    members: dict[str, bytes | str] = {
        "word/document.xml": "<w:document/>",
        "word/_rels/document.xml.rels": RELS,
        "word/media/image1.png": _png(),
    }
    members[part] = data
    doc = _docx(tmp_path / "unclosed.docx", members, stored=True)  # no ratio check: scanned
    start = time.monotonic()
    result = extract_images(doc)
    assert time.monotonic() - start < 5  # was 30-76 s for the first case
    assert result.error is None and [i.name for i in result.images] == ["image1.png"]
    assert not any("time budget" in w for w in result.warnings)


def test_small_xml_ratio_bomb_refused_with_reason(tmp_path: Path) -> None:
    bomb = b"<w:document>" + b"<w:object>" * 200_000 + b"</w:document>"  # 2 MB from ~5 KB
    doc = _docx(
        tmp_path / "bomb.docx",
        {
            "word/document.xml": bomb,
            "word/_rels/document.xml.rels": RELS,
            "word/media/image1.png": _png(),
        },
    )
    with zipfile.ZipFile(doc) as zf:
        assert zf.getinfo("word/document.xml").compress_size < 10_000
    start = time.monotonic()
    result = extract_images(doc)
    assert time.monotonic() - start < 5
    assert [i.name for i in result.images] == ["image1.png"]
    assert any(
        w.startswith("word/document.xml: skipped: suspicious compression ratio")
        for w in result.warnings
    )


def test_ooxml_budget_reports_what_was_not_read(tmp_path: Path) -> None:
    members: dict[str, bytes | str] = {"word/document.xml": "<w:document/>"}
    members.update({f"word/media/image{i}.png": _png(i) for i in range(6)})
    doc = _docx(tmp_path / "slow.docx", members)
    result = extract_images(doc, _Countdown(3))
    assert len(result.images) < 6
    assert any(
        w.startswith("time budget of 7 s ran out after")
        and w.endswith(f"{6 - len(result.images)} media parts not read")
        for w in result.warnings
    ), result.warnings


def _pdf(path: Path, pages: int) -> Path:
    images = [Image.new("RGB", (40, 30), (20 * i, 90, 160)) for i in range(pages)]
    images[0].save(path, "PDF", save_all=True, append_images=images[1:])
    return path


def test_pdf_budget_reports_skipped_pages(tmp_path: Path, monkeypatch) -> None:
    pytest.importorskip("pypdfium2")
    pdf = _pdf(tmp_path / "pages.pdf", 5)
    assert len(extract_images(pdf).images) == 5
    monkeypatch.setattr(documents, "DOCUMENT_TIME_BUDGET_S", 0.0)
    start = time.monotonic()
    result = extract_images(pdf)
    assert time.monotonic() - start < 5
    assert result.images == []
    assert "time budget of 0 s ran out after 0 of 5 pages; 5 pages not read" in result.warnings
    partial = extract_images(pdf, _Countdown(4))  # runs out inside the pages
    assert 0 < len(partial.images) < 5
    assert any("ran out" in w and "not read" in w for w in partial.warnings), partial.warnings


def test_legacy_scan_reports_the_budget(tmp_path: Path) -> None:
    png = _png()
    blip = b"\x00\x6e\x1e\xf0" + (17 + len(png)).to_bytes(4, "little") + bytes(17) + png
    notes: list[str] = []
    assert scan_blips(blip * 3, Budget(0.0), notes) == []
    assert notes and notes[0].startswith("time budget of 0 s ran out scanning a stream")
    assert len(scan_blips(blip * 3, Budget())) == 3


# --- 2. caps: pictures, bytes, workbook rows ---------------------------------------------


def test_picture_cap_counts_the_skipped(tmp_path: Path) -> None:
    members: dict[str, bytes | str] = {"word/document.xml": "<w:document/>"}
    members.update({f"word/media/image{i}.png": _png(i) for i in range(30)})
    doc = _docx(tmp_path / "many.docx", members)
    result = extract_images(doc, Budget(max_images=10))
    assert len(result.images) == 10
    assert result.warnings == [
        "picture limit of 10 per document reached: 20 of 30 media parts skipped"
    ]
    small = extract_images(doc, Budget(max_image_bytes=3 * len(_png(0)) + 2))
    assert 1 <= len(small.images) <= 3
    assert "picture bytes over the per-document limit" in small.warnings[0]


def test_check_caps_pictures_and_workbook_rows(tmp_path: Path, monkeypatch) -> None:
    """Many alike pictures: the document cap holds and the workbook notes the pairs left out."""
    import lookalike.reports.xlsx as xlsx

    pytest.importorskip("openpyxl")
    members: dict[str, bytes | str] = {"word/document.xml": "<w:document/>"}
    members.update({f"word/media/image{i}.png": _png(i, 48) for i in range(40)})
    doc = _docx(tmp_path / "alike.docx", members)
    monkeypatch.setattr(documents, "MAX_IMAGES_PER_DOCUMENT", 12)
    monkeypatch.setattr(xlsx, "MAX_WORKBOOK_ROWS", 5)
    result = check_documents(
        [doc], CheckOptions(out=tmp_path / "out", jobs=1, methods=("phash8", "color"))
    )
    assert result.stats["images"] == 12
    assert any("28 of 40 media parts skipped" in e.reason for e in result.errors)
    pairs = len(result.pairs)
    assert pairs > 5
    assert result.stats["pairs_not_in_workbook"] == pairs - 5
    openpyxl = pytest.importorskip("openpyxl")
    ws = openpyxl.load_workbook(result.workbook).worksheets[0]
    values = [c.value for c in ws["A"] if c.value]
    assert f"仅显示前 5 行，另有 {pairs - 5} 行未写入本表（超出上限）" in values
    assert ws.auto_filter.ref.endswith("6")  # the note is outside the filtered table


def test_workbook_row_cap_english(tmp_path: Path) -> None:
    openpyxl = pytest.importorskip("openpyxl")
    rows = [
        ImagePairRow("d.docx", f"a{i}.png", f"b{i}.png", None, i / 30, "phash8") for i in range(30)
    ]
    left = write_document_workbook(rows, [], [], tmp_path / "w.xlsx", lang="en", max_rows=10)
    assert left == 20
    ws = openpyxl.load_workbook(tmp_path / "w.xlsx").worksheets[0]
    assert ws.max_row == 13 and ws["B2"].value == "a29.png"
    assert "20 more rows were left out" in ws["A13"].value


# --- 3. saved names and the output folder ------------------------------------------------


def test_hostile_member_extension_not_kept(tmp_path: Path) -> None:
    doc = _docx(
        tmp_path / "exe.docx",
        {
            "word/document.xml": "<w:document/>",
            "word/media/gnp.exe": _png(),
            "word/media/payload.exe": b"MZ\x90\x00 not a picture",
            "word/media/photo.jpeg.bat": _png(1),
        },
    )
    result = extract_images(doc)
    written = save_images(result, tmp_path / "out")
    assert sorted(p.name for p in written) == ["gnp.png", "photo.jpeg.png"]


def test_undecodable_names_are_saved_and_reported(tmp_path: Path) -> None:
    name = os.fsdecode(b"caf\xe9 \xff.png")
    assert safe_file_name(name) == "caf\ufffd \ufffd.png"
    assert safe_file_name("\ud800x.png") == "\ufffdx.png"
    doc = DocumentImages(path="x", kind="docx", images=[ExtractedImage(name, _png(), "png")])
    (written,) = save_images(doc, tmp_path / "out")
    assert written.name == "caf\ufffd \ufffd.png"
    written.name.encode("utf-8")  # valid UTF-8


def test_undecodable_document_name_gives_a_valid_workbook(tmp_path: Path) -> None:
    openpyxl = pytest.importorskip("openpyxl")
    folder = tmp_path / "in"
    folder.mkdir()
    doc = folder / os.fsdecode(b"caf\xe9.docx")
    _docx(doc, {"word/document.xml": "<w:document/>", "word/media/a.png": _png(1, 48)})
    out = tmp_path / os.fsdecode(b"out\xfe")
    assert main(["docs", str(folder), "--out", str(out)]) == 0
    (book,) = out.glob("*.xlsx")
    ws = openpyxl.load_workbook(book)["文档"]
    assert ws["A2"].value == "caf\ufffd.docx"


def test_unwritable_out_is_a_clear_error(tmp_path: Path, capsys) -> None:
    doc = _docx(tmp_path / "a.docx", {"word/document.xml": "<w:document/>"})
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(LookalikeError, match="cannot write the output folder"):
        check_documents([doc], CheckOptions(out=blocker / "out"))
    assert main(["docs", str(doc), "--out", str(blocker / "out")]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert f"{blocker / 'out'}: cannot write the output folder" in err


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_read_only_out_is_a_clear_error(tmp_path: Path, capsys) -> None:
    doc = _docx(tmp_path / "a.docx", {"word/document.xml": "<w:document/>"})
    out = tmp_path / "ro"
    out.mkdir()
    out.chmod(0o555)
    try:
        assert main(["docs", str(doc), "--out", str(out)]) == 1
    finally:
        out.chmod(0o755)
    err = capsys.readouterr().err
    assert "Traceback" not in err and f"{out}: cannot write the output folder" in err
