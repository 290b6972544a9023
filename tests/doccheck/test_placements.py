"""Placements, locations, embedded documents, Chinese reasons and the archive of `docs`.

The documents are built here with zipfile, so every placement is known.
"""

from __future__ import annotations

import io
import json
import zipfile
from datetime import date
from pathlib import Path

import openpyxl
from PIL import Image

from lookalike.cli import main
from lookalike.doccheck.check import check_documents
from lookalike.doccheck.records import CheckOptions
from lookalike.reports.labels import location_text, reason_text
from lookalike.sources.documents import extract_images

SAMPLES = Path(__file__).resolve().parents[2] / "samples"
QUICK = ("phash8", "color", "content")
NS = 'xmlns:w="w" xmlns:r="r" xmlns:a="a" xmlns:mc="mc" xmlns:v="v" xmlns:xdr="xdr"'


def _jpeg(photo: str, edit: str = "") -> bytes:
    with Image.open(SAMPLES / photo) as im:
        im = im.convert("RGB")
        im.thumbnail((480, 480))
        if edit == "rotate":
            im = im.transpose(Image.Transpose.ROTATE_90)
        elif edit == "crop":  # ~70% of the area, off-centre
            w, h = im.size
            im = im.crop((0, int(h * 0.16), int(w * 0.84), h))
        buf = io.BytesIO()
        im.save(buf, "JPEG", quality=90)
    return buf.getvalue()


def _rels(*rels: tuple[str, str]) -> str:
    body = "".join(f'<Relationship Id="{i}" Type="x" Target="{t}"/>' for i, t in rels)
    return f'<?xml version="1.0"?><Relationships xmlns="x">{body}</Relationships>'


def _zip(members: dict[str, bytes | str], path: Path | None = None) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        for name, data in members.items():
            zf.writestr(name, data)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(buf.getvalue())
    return buf.getvalue()


def _xlsx(picture: bytes) -> bytes:
    """A workbook whose sheet "数据" shows ``picture`` anchored at C5."""
    drawing = (
        f"<xdr:wsDr {NS}><xdr:twoCellAnchor><xdr:from><xdr:col>2</xdr:col><xdr:colOff>0"
        "</xdr:colOff><xdr:row>4</xdr:row><xdr:rowOff>0</xdr:rowOff></xdr:from><xdr:to>"
        "<xdr:col>6</xdr:col><xdr:row>20</xdr:row></xdr:to><xdr:pic><xdr:blipFill>"
        '<a:blip r:embed="rId1"/></xdr:blipFill></xdr:pic></xdr:twoCellAnchor></xdr:wsDr>'
    )
    return _zip(
        {
            "xl/workbook.xml": f'<workbook {NS}><sheets><sheet name="数据" r:id="rId1"/>'
            "</sheets></workbook>",
            "xl/_rels/workbook.xml.rels": _rels(("rId1", "worksheets/sheet1.xml")),
            "xl/worksheets/sheet1.xml": f'<worksheet {NS}><drawing r:id="rId1"/></worksheet>',
            "xl/worksheets/_rels/sheet1.xml.rels": _rels(("rId1", "../drawings/drawing1.xml")),
            "xl/drawings/drawing1.xml": drawing,
            "xl/drawings/_rels/drawing1.xml.rels": _rels(("rId1", "../media/image1.jpeg")),
            "xl/media/image1.jpeg": picture,
        }
    )


def _docx(path: Path, embedded: bytes | None = None) -> Path:
    """image1 (rId9) in body paragraph 2 and in the header; image2 in a table cell, shown
    once although a mc:Fallback repeats it; optionally a workbook embedded."""
    body = (
        f"<w:document {NS}><w:body><w:p><w:r><w:t>Intro</w:t></w:r></w:p>"
        '<w:p><w:r><w:drawing><a:blip r:embed="rId9"/></w:drawing></w:r></w:p>'
        "<w:tbl><w:tr><w:tc><w:p><w:r><mc:AlternateContent><mc:Choice>"
        '<w:drawing><a:blip r:embed="rId10"/></w:drawing></mc:Choice><mc:Fallback>'
        '<w:pict><v:imagedata r:id="rId10"/></w:pict></mc:Fallback></mc:AlternateContent>'
        "</w:r></w:p></w:tc></w:tr></w:tbl>"
        '<w:sectPr><w:headerReference r:id="rId20"/></w:sectPr></w:body></w:document>'
    )
    members: dict[str, bytes | str] = {
        "word/document.xml": body,
        "word/_rels/document.xml.rels": _rels(
            ("rId9", "media/image1.jpeg"), ("rId10", "media/image2.jpeg"), ("rId20", "header1.xml")
        ),
        "word/header1.xml": f'<w:hdr {NS}><w:p><w:r><a:blip r:embed="rId1"/></w:r></w:p></w:hdr>',
        "word/_rels/header1.xml.rels": _rels(("rId1", "media/image1.jpeg")),
        "word/media/image1.jpeg": _jpeg("Kite.jpg"),
        "word/media/image2.jpeg": _jpeg("Autumn.jpg"),
    }
    if embedded is not None:
        members["word/embeddings/Microsoft_Excel_Worksheet.xlsx"] = embedded
    _zip(members, path)
    return path


def _pptx(path: Path) -> Path:
    """Three slides (in presentation order): image1 on slides 1 and 3, image2 on slide 3."""
    presentation = (
        f'<p:presentation {NS}><p:sldIdLst><p:sldId id="256" r:id="rId5"/>'
        '<p:sldId id="257" r:id="rId6"/><p:sldId id="258" r:id="rId7"/></p:sldIdLst>'
        "</p:presentation>"
    )
    members: dict[str, bytes | str] = {
        "ppt/presentation.xml": presentation,
        "ppt/_rels/presentation.xml.rels": _rels(
            ("rId5", "slides/slide3.xml"),
            ("rId6", "slides/slide1.xml"),
            ("rId7", "slides/slide2.xml"),
        ),
        "ppt/slides/slide3.xml": f'<p:sld {NS}><a:blip r:embed="rId2"/></p:sld>',
        "ppt/slides/_rels/slide3.xml.rels": _rels(("rId2", "../media/image1.jpeg")),
        "ppt/slides/slide1.xml": f"<p:sld {NS}/>",
        "ppt/slides/slide2.xml": f'<p:sld {NS}><a:blip r:embed="rId2"/>'
        '<a:blip r:embed="rId3"/></p:sld>',
        "ppt/slides/_rels/slide2.xml.rels": _rels(
            ("rId2", "../media/image1.jpeg"), ("rId3", "../media/image2.jpeg")
        ),
        "ppt/media/image1.jpeg": _jpeg("Path.jpg"),
        "ppt/media/image2.jpeg": _jpeg("MilkyWay.jpg"),
    }
    _zip(members, path)
    return path


def test_docx_placements(tmp_path: Path) -> None:
    result = extract_images(_docx(tmp_path / "report.docx"))
    assert result.error is None
    places = {i.name: i.placements for i in result.images}
    assert places == {
        "image1.jpeg": ["body, paragraph 2", "header, paragraph 1"],
        "image2.jpeg": ["body, paragraph 3, table"],
    }
    first = result.images[0]
    assert first.location == "body, paragraph 2; header, paragraph 1"


def test_xlsx_anchor_cell(tmp_path: Path) -> None:
    path = tmp_path / "book.xlsx"
    path.write_bytes(_xlsx(_jpeg("Kite.jpg")))
    (image,) = extract_images(path).images
    assert image.placements == ["数据!C5"] and image.location == "数据!C5"


def test_pptx_slides_in_presentation_order(tmp_path: Path) -> None:
    result = extract_images(_pptx(tmp_path / "deck.pptx"))
    assert {i.name: i.placements for i in result.images} == {
        "image1.jpeg": ["slide 1", "slide 3"],
        "image2.jpeg": ["slide 3"],
    }


def test_embedded_workbook_in_docx(tmp_path: Path) -> None:
    doc = _docx(tmp_path / "outer.docx", embedded=_xlsx(_jpeg("Altai.jpg")))
    result = extract_images(doc)
    inner = [i for i in result.images if i.document]
    assert [(i.document, i.name, i.location) for i in inner] == [
        ("Microsoft_Excel_Worksheet.xlsx", "image1.jpeg", "数据!C5")
    ]
    checked = check_documents(
        [doc], CheckOptions(out=tmp_path / "out", methods=QUICK, jobs=1, workbook=False)
    )
    pictures = checked.to_dict()["documents"][0]["pictures"]
    assert {p["document"] for p in pictures} == {None, "Microsoft_Excel_Worksheet.xlsx"}


def test_placed_twice_is_a_reuse_row(tmp_path: Path, capsys) -> None:
    doc = _docx(tmp_path / "in" / "report.docx")
    out = tmp_path / "out"
    code = main(["docs", str(doc.parent), "--out", str(out), "--json", "--jobs", "1"])
    assert code == 0
    data = json.loads(capsys.readouterr().out)
    (pair,) = data["pairs"]
    assert pair["method"] == "placement" and pair["relation"] == "same picture placed twice"
    assert (pair["image1"], pair["image2"], pair["similarity"]) == ("image1.jpeg",) * 2 + (1.0,)
    assert (pair["location1"], pair["location2"]) == ("body, paragraph 2", "header, paragraph 1")
    assert data["stats"]["placed_twice"] == 1
    counts = {p["name"]: p["placement_count"] for p in data["documents"][0]["pictures"]}
    assert counts == {"image1.jpeg": 2, "image2.jpeg": 1}
    wb = openpyxl.load_workbook(data["workbook"])
    ws = wb["图片相似度"]
    assert [c.value for c in ws[1]][:8] == [
        "文档名1", "图片名1", "位置1", "文档名2", "图片名2", "位置2", "图片相似度", "关系",
    ]  # fmt: skip
    row = [c.value for c in ws[2]][:8]
    assert row == [
        "report.docx", "image1.jpeg", "正文，第 2 段",
        "report.docx", "image1.jpeg", "页眉，第 1 段", 1.0, "同一图片多处使用",
    ]  # fmt: skip
    assert ws.cell(row=2, column=7).number_format == "0.00%"


def test_slide_and_sheet_locations_in_english_workbook(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    _pptx(folder / "deck.pptx")
    (folder / "book.xlsx").write_bytes(_xlsx(_jpeg("Path.jpg")))
    result = check_documents([folder], CheckOptions(out=tmp_path, methods=QUICK, lang="en"))
    assert result.workbook is not None
    ws = openpyxl.load_workbook(result.workbook)["Similar images"]
    rows = {(*r[:6], r[7]) for r in ws.iter_rows(min_row=2, values_only=True)}
    assert ("deck.pptx", "image1.jpeg", "slide 1", "deck.pptx", "image1.jpeg", "slide 3",
            "same picture placed twice") in rows  # fmt: skip
    assert ("book.xlsx", "image1.jpeg", "数据!C5", "deck.pptx", "image1.jpeg", "slide 1; slide 3",
            "identical file") in rows  # fmt: skip


def test_reasons_in_chinese_and_folder_pictures(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    _docx(folder / "report.docx")
    (folder / "broken.docx").write_bytes(b"this is no document")
    (folder / "photo.jpg").write_bytes(_jpeg("Kite.jpg"))
    (folder / "figure.emf").write_bytes(b"\x01\x00\x00\x00" + bytes(36) + b" EMF" + bytes(60))
    result = check_documents([folder], CheckOptions(out=tmp_path / "zh", methods=QUICK))
    reasons = {e.document: e.reason for e in result.errors}
    assert reasons["photo.jpg"] == "not a document: a standalone picture (jpeg)"
    assert reasons["figure.emf"] == "not a document: a standalone metafile (emf)"
    assert result.workbook is not None
    errors = openpyxl.load_workbook(result.workbook)["错误"]
    shown = {r[0]: r[1] for r in errors.iter_rows(min_row=2, values_only=True)}
    assert shown["broken.docx"] == "不是 Office 或 PDF 文档"
    assert shown["photo.jpg"] == "不是文档：单独的图片 (jpeg)"
    assert reason_text("x.png: made-up reason", "zh") == "x.png: made-up reason"
    assert location_text("slide 3; 数据!C5", "zh") == "第 3 张幻灯片；数据!C5"

    both = check_documents(
        [folder], CheckOptions(out=tmp_path / "p", methods=QUICK, include_pictures=True)
    )
    names = [d.name for d in both.documents]
    assert "(folder pictures)" in names
    pairs = {(p.image1.name, p.image2.name) for p in both.pairs if not p.within}
    assert ("image1.jpeg", "photo.jpg") in pairs or ("photo.jpg", "image1.jpeg") in pairs


def test_archive_finds_rotated_and_cropped_figures(tmp_path: Path) -> None:
    archive = tmp_path / "archive"
    old = tmp_path / "2025" / "old.docx"
    _zip(
        {
            "word/document.xml": f'<w:document {NS}><w:body><w:p><a:blip r:embed="rId1"/>'
            '</w:p><w:p><a:blip r:embed="rId2"/></w:p></w:body></w:document>',
            "word/_rels/document.xml.rels": _rels(
                ("rId1", "media/image1.jpeg"), ("rId2", "media/image2.jpeg")
            ),
            "word/media/image1.jpeg": _jpeg("Kite.jpg"),
            "word/media/image2.jpeg": _jpeg("ColorfulCups.jpg"),
        },
        old,
    )
    last_year = CheckOptions(
        out=tmp_path / "o1", methods=QUICK, archive=archive, checked_on=date(2025, 3, 14)
    )
    first = check_documents([old], last_year)
    assert first.earlier == [] and first.archive == archive

    new = tmp_path / "2026" / "new.docx"
    _zip(
        {
            "word/document.xml": f'<w:document {NS}><w:body><w:p><a:blip r:embed="rId1"/>'
            '</w:p><w:p><a:blip r:embed="rId2"/></w:p><w:p><a:blip r:embed="rId3"/></w:p>'
            "</w:body></w:document>",
            "word/_rels/document.xml.rels": _rels(
                ("rId1", "media/image1.jpeg"),
                ("rId2", "media/image2.jpeg"),
                ("rId3", "media/image3.jpeg"),
            ),
            "word/media/image1.jpeg": _jpeg("Kite.jpg", "rotate"),
            "word/media/image2.jpeg": _jpeg("ColorfulCups.jpg", "crop"),
            "word/media/image3.jpeg": _jpeg("MilkyWay.jpg"),  # never seen before
        },
        new,
    )
    second = check_documents(
        [new], CheckOptions(out=tmp_path / "o2", methods=QUICK, archive=archive, lang="en")
    )
    found = {(e.image.name, e.earlier.image): e for e in second.earlier}
    assert set(found) == {("image1.jpeg", "image1.jpeg"), ("image2.jpeg", "image2.jpeg")}
    for e in found.values():
        assert e.earlier.document == "old.docx" and e.earlier.checked == "2025-03-14"
        assert e.similarity >= 0.85
    assert found[("image1.jpeg", "image1.jpeg")].earlier.location == "body, paragraph 1"
    assert second.workbook is not None
    ws = openpyxl.load_workbook(second.workbook)["Earlier documents"]
    header = [c.value for c in ws[1]]
    assert header[:6] == ["Document 1", "Image 1", "Location 1", "Document 2", "Checked on",
                          "Image 2"]  # fmt: skip
    rows = list(ws.iter_rows(min_row=2, values_only=True))
    assert {(r[0], r[3], r[4]) for r in rows} == {("new.docx", "old.docx", "2025-03-14")}
    # the new figures joined the archive: a third run finds the new document too
    third = check_documents([new], CheckOptions(out=tmp_path / "o3", methods=QUICK,
                                                archive=archive, workbook=False))  # fmt: skip
    assert any(e.earlier.document == "new.docx" for e in third.earlier)
