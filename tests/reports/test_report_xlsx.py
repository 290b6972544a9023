"""The duplicate workbook: thumbnails in rows, percentages, frozen header, autofilter."""

from __future__ import annotations

from pathlib import Path

import pytest
from openpyxl import load_workbook

from lookalike.dupes.records import DuplicateReport
from lookalike.reports.xlsx import write_xlsx


@pytest.fixture(scope="module")
def workbook(report: DuplicateReport, tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("xlsx") / "重复.xlsx"
    write_xlsx(report, out)
    return load_workbook(out)


def header(ws) -> list[str]:
    return [c.value for c in ws[1]]


def test_sheets_header_frozen_and_filtered(workbook) -> None:
    assert len(workbook.sheetnames) == 2
    for ws in workbook.worksheets:
        assert ws.freeze_panes == "A2"
        assert ws.auto_filter.ref and ws.auto_filter.ref.startswith("A1:")
    ws = workbook.worksheets[0]
    assert header(ws)[:6] == [
        "Group 组",
        "Thumbnail 缩略图",
        "File name 文件名",
        "Path 路径",
        "Keep 保留",
        "Similarity 相似度",
    ]
    assert ws.auto_filter.ref == f"A1:K{ws.max_row}"


def test_one_row_per_member_with_values(workbook, report: DuplicateReport) -> None:
    ws = workbook.worksheets[0]
    rows = list(ws.iter_rows(min_row=2, values_only=True))
    members = [m for g in report.groups for m in g.members]
    assert len(rows) == len(members)
    cols = header(ws)
    by = [dict(zip(cols, r, strict=True)) for r in rows]
    assert [r["Group 组"] for r in by] == [1, 1, 2, 2]
    assert [r["Keep 保留"] for r in by] == ["yes 是", "no 否", "yes 是", "no 否"]
    assert [r["Path 路径"] for r in by] == [m.path for m in members]
    assert by[1]["Similarity 相似度"] == pytest.approx(0.9731)
    assert (by[0]["Width 宽度"], by[0]["Height 高度"]) == (480, 300)
    assert by[0]["Bytes 字节数"] == members[0].bytes
    assert by[0]["Reason 原因"] == "largest resolution"


def test_percent_format_and_chinese_round_trip(workbook) -> None:
    ws = workbook.worksheets[0]
    sim = ws.cell(row=3, column=6)
    assert sim.number_format.endswith("%") and sim.value == pytest.approx(0.9731)
    assert ws.cell(row=3, column=3).value == "照片.jpg"
    assert ws.cell(row=3, column=4).value.endswith("照片.jpg")


def test_thumbnails_anchored_in_rows(workbook) -> None:
    ws = workbook.worksheets[0]
    images = ws._images
    assert len(images) == 4
    rows = sorted(img.anchor._from.row for img in images)
    assert rows == [1, 2, 3, 4]  # zero-based: the member rows 2..5
    assert all(img.anchor._from.col == 1 for img in images)  # column B
    assert ws.row_dimensions[2].height >= 96 * 0.75


def test_errors_sheet(workbook, report: DuplicateReport) -> None:
    ws = workbook.worksheets[1]
    rows = list(ws.iter_rows(min_row=2, values_only=True))
    assert rows == [(e.path, e.reason) for e in report.errors]
    assert rows[1][0] == "/nope/缺失.jpg"


def test_formula_like_names_stay_text(tmp_path: Path) -> None:
    from lookalike.errors import Failure

    out = tmp_path / "r.xlsx"
    write_xlsx(DuplicateReport(errors=[Failure("=1+1.jpg", "bad\x01 byte")]), out, lang="en")
    ws = load_workbook(out)["Errors"]
    assert ws["A2"].value == "=1+1.jpg" and ws["A2"].data_type == "s"
    assert ws["B2"].value.startswith("bad")
