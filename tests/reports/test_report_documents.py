"""The document checker's workbook (图片相似度分析工具 layout), in Chinese and English."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from openpyxl import load_workbook

from lookalike.reports.xlsx import (
    DocumentRow,
    ErrorRow,
    ImagePairRow,
    document_workbook_name,
    write_document_workbook,
)


def pairs(photos: dict[str, Path], cross: bool = True) -> list[ImagePairRow]:
    return [
        ImagePairRow(
            "报告.docx",
            "image1.png",
            "image3.jpeg",
            None,
            0.91,
            "phash",
            photos["Kite"].read_bytes(),
            photos["Kite"],
        ),
        ImagePairRow(
            "报告.docx",
            "image2.png",
            "image7.png",
            "附件.pptx" if cross else None,
            0.995,
            "sha256",
            photos["Autumn"],
            photos["照片"].read_bytes(),
        ),
        ImagePairRow(
            "报告.docx", "image4.emf", "image5.png", None, 0.7, "orb", b"not an image", None
        ),
    ]


DOCS = [
    DocumentRow("报告.docx", 7, 2, "完成"),
    DocumentRow("附件.pptx", 3, 0, "完成"),
    DocumentRow("加密.xlsx", 0, 0, "错误"),
]
ERRORS = [ErrorRow("加密.xlsx", "文档已加密 (encrypted)"), ErrorRow("<x>.doc", "corrupt")]


@pytest.fixture(scope="module")
def zh_book(photos: dict[str, Path], tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("docs") / document_workbook_name(date(2024, 5, 6))
    write_document_workbook(pairs(photos), DOCS, ERRORS, out)
    return load_workbook(out)


def test_default_names() -> None:
    assert document_workbook_name(date(2024, 5, 6)) == "图片相似度20240506.xlsx"
    assert document_workbook_name(date(2024, 5, 6), "en") == "image-similarity-20240506.xlsx"
    with pytest.raises(ValueError):
        document_workbook_name(date(2024, 5, 6), "both")


def test_three_sheets_with_chinese_headers(zh_book) -> None:
    assert zh_book.sheetnames == ["图片相似度", "文档", "错误"]
    first, docs, errs = zh_book.worksheets
    assert [c.value for c in first[1]] == [
        "文档名1",
        "图片名1",
        "位置1",
        "文档名2",
        "图片名2",
        "位置2",
        "图片相似度",
        "关系",
        "判定方法",
        "缩略图1",
        "缩略图2",
    ]
    assert [c.value for c in docs[1]] == ["文档", "图片数", "跳过的小图", "状态"]
    assert [c.value for c in errs[1]] == ["文档", "原因"]
    for ws in zh_book.worksheets:
        assert ws.freeze_panes == "A2" and ws.auto_filter.ref.startswith("A1:")


def test_pairs_sorted_by_similarity_with_percentages(zh_book) -> None:
    ws = zh_book.worksheets[0]
    rows = list(ws.iter_rows(min_row=2, max_col=9, values_only=True))
    assert [r[6] for r in rows] == pytest.approx([0.995, 0.91, 0.7])
    assert rows[0] == (
        "报告.docx", "image2.png", None, "附件.pptx", "image7.png", None, 0.995, "相似", "sha256"
    )  # fmt: skip
    assert rows[1][3] == "报告.docx"  # same document: named again
    assert [r[7] for r in rows[1:]] == ["副本", "局部相同"]  # relation from phash, orb
    assert ws.cell(row=2, column=7).number_format == "0.00%"


def test_thumbnails_of_both_images(zh_book) -> None:
    ws = zh_book.worksheets[0]
    anchors = sorted((i.anchor._from.row, i.anchor._from.col) for i in ws._images)
    # rows 2 and 3 have two thumbnails (columns J and K); the undecodable pair has none
    assert anchors == [(1, 9), (1, 10), (2, 9), (2, 10)]


def test_documents_and_errors(zh_book) -> None:
    docs, errs = zh_book.worksheets[1:]
    assert list(docs.iter_rows(min_row=2, values_only=True)) == [
        (d.document, d.images, d.skipped_small, d.status) for d in DOCS
    ]
    assert list(errs.iter_rows(min_row=2, values_only=True)) == [
        (e.document, e.reason) for e in ERRORS
    ]


def test_english_and_same_document_layout(photos: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "en.xlsx"
    write_document_workbook(pairs(photos, cross=False), DOCS, [], out, lang="en")
    wb = load_workbook(out)
    assert wb.sheetnames == ["Similar images", "Documents", "Errors"]
    ws = wb.worksheets[0]
    assert [c.value for c in ws[1]] == [
        "Document 1",
        "Image 1",
        "Location 1",
        "Document 2",
        "Image 2",
        "Location 2",
        "Similarity",
        "Relation",
        "Method",
        "Thumbnail 1",
        "Thumbnail 2",
    ]
    assert [r[6] for r in ws.iter_rows(min_row=2, values_only=True)] == pytest.approx(
        [0.995, 0.91, 0.7]
    )
    assert [c.value for c in wb.worksheets[1][1]] == [
        "Document",
        "Images",
        "Skipped small",
        "Status",
    ]
    assert [c.value for c in wb.worksheets[2][1]] == ["Document", "Reason"]
    assert wb.worksheets[2].max_row == 1


def test_empty_workbook(tmp_path: Path) -> None:
    out = tmp_path / "empty.xlsx"
    write_document_workbook([], [], [], out)
    ws = load_workbook(out).worksheets[0]
    assert ws.max_row == 1 and ws.auto_filter.ref == "A1:K1"
