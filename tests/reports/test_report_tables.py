"""CSV (UTF-8 with BOM), the terminal table, JSON and the suffix dispatcher."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from lookalike.dupes.records import DuplicateReport
from lookalike.errors import LookalikeError
from lookalike.reports.export import write_csv, write_report
from lookalike.reports.labels import human_size, label
from lookalike.reports.text import format_table, width


def test_csv_has_bom_and_round_trips_chinese(report: DuplicateReport, tmp_path: Path) -> None:
    out = tmp_path / "r.csv"
    write_csv(report, out)
    assert out.read_bytes().startswith(b"\xef\xbb\xbf")
    with open(out, encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["status"] for r in rows] == [
        "keep",
        "duplicate",
        "keep",
        "duplicate",
        "error",
        "error",
    ]
    assert rows[1]["path"].endswith("照片.jpg") and rows[1]["similarity"] == "0.9731"
    assert rows[0]["reason"] == "largest resolution" and rows[0]["group"] == "1"
    assert rows[-1] == {**rows[-1], "path": "/nope/缺失.jpg", "reason": "no such file"}
    assert [r["path"] for r in rows[:4]] == [m.path for g in report.groups for m in g.members]


def test_table_groups_keeper_first_and_aligns_wide_text(report: DuplicateReport) -> None:
    text = format_table(report, lang="en")
    lines = text.splitlines()
    assert lines[0].startswith("Group") and "Similarity" in lines[0]
    body = [ln for ln in lines[2:6]]
    assert body[0].startswith("1") and "Keep" in body[0] and "Autumn.jpg" in body[0]
    assert "照片.jpg" in body[1] and "97.3%" in body[1]
    assert body[2].startswith("2") and "Keep" in body[2]
    # the path column starts at the same display column on every row, Chinese or not
    starts = [width(ln[: ln.index("/tmp")]) if "/tmp" in ln else None for ln in body]
    assert len({s for s in starts if s is not None}) == 1
    assert "Errors: 2" in text and "no such file" in text


def test_table_languages_and_empty_report(report: DuplicateReport) -> None:
    assert "相似度" in format_table(report) and "Similarity" in format_table(report)
    zh = format_table(report, lang="zh")
    assert "相似度" in zh and "Similarity" not in zh
    assert "No duplicates found." in format_table(DuplicateReport(), lang="en")


def test_labels_and_sizes() -> None:
    assert label("similarity") == "Similarity 相似度"
    assert label("group_n", "zh", n=3) == "第 3 组"
    assert [human_size(n) for n in (0, 1023, 1536, 5 * 1024**2)] == [
        "0 B",
        "1023 B",
        "1.5 KB",
        "5.0 MB",
    ]


@pytest.mark.parametrize("suffix", [".html", ".HTML", ".xlsx", ".csv", ".json"])
def test_write_report_dispatches(report: DuplicateReport, tmp_path: Path, suffix: str) -> None:
    out = tmp_path / f"报告{suffix}"
    write_report(report, out)
    data = out.read_bytes()
    head = {
        ".html": b"<!DOCTYPE html>",
        ".xlsx": b"PK",
        ".csv": b"\xef\xbb\xbfgroup",
        ".json": b"{",
    }[suffix.lower()]
    assert data.startswith(head)
    if suffix == ".json":
        assert json.loads(data) == report.to_dict()
        assert "照片".encode() in data


@pytest.mark.parametrize("name", ["r.pdf", "r", "r.txt"])
def test_write_report_rejects_other_suffixes(tmp_path: Path, name: str) -> None:
    with pytest.raises(LookalikeError, match=r"\.html, \.xlsx, \.csv or \.json"):
        write_report(DuplicateReport(), tmp_path / name)
    assert not (tmp_path / name).exists()
