"""The HTML report: one self-contained, escaped, bilingual file."""

from __future__ import annotations

import base64
from html.parser import HTMLParser
from pathlib import Path

import pytest

from lookalike.dupes.records import DuplicateReport
from lookalike.reports.html import render_html, write_html


class Collector(HTMLParser):
    """Tags, image sources and text of a document."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.images: list[str] = []
        self.text: list[str] = []
        self.attrs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attrs.extend(v or "" for _, v in attrs)
        if tag == "img":
            self.images.append(dict(attrs)["src"] or "")

    def handle_data(self, data: str) -> None:
        self.text.append(data)


@pytest.fixture(scope="module")
def page(report: DuplicateReport, tmp_path_factory: pytest.TempPathFactory) -> str:
    out = tmp_path_factory.mktemp("html") / "report.html"
    write_html(report, out)
    return out.read_text(encoding="utf-8")


def parse(text: str) -> Collector:
    c = Collector()
    c.feed(text)
    c.close()
    return c


def test_parses_and_embeds_every_thumbnail(page: str) -> None:
    doc = parse(page)
    assert doc.tags.count("html") == 1 and "table" in doc.tags
    assert len(doc.images) == 4  # two groups of two
    for src in doc.images:
        assert src.startswith("data:image/jpeg;base64,")
        assert base64.b64decode(src.split(",", 1)[1])[:3] == b"\xff\xd8\xff"


def test_no_external_references(page: str) -> None:
    assert "http://" not in page and "https://" not in page
    assert "<link" not in page and ' src="/' not in page


def test_names_and_reasons_are_escaped(page: str, photos: dict[str, Path]) -> None:
    doc = parse(page)
    assert doc.tags.count("script") == 1  # only the page's own
    assert "i" not in doc.tags and "b" in doc.tags  # the reason's <i> is text; <b> is ours
    text = "".join(doc.text)
    assert "corrupt image data (<script>alert(1)</script>)" in text
    assert "oldest file <i>& first</i>" in text
    if "hostile" in photos:
        hostile = photos["hostile"].name
        assert hostile in text
        assert "<script>x" not in page
        assert any(hostile in a for a in doc.attrs)  # alt / title attributes, unescaped by parser


def test_both_languages_and_chinese_paths(page: str) -> None:
    text = " ".join(parse(page).text)
    for en, zh in [
        ("Similarity", "相似度"),
        ("Keep", "保留"),
        ("Errors", "错误"),
        ("Images scanned", "已扫描图片"),
        ("Method", "判定方法"),
    ]:
        assert en in text and zh in text
    assert "照片.jpg" in text and "缺失.jpg" in text
    assert "97.3%" in text and "81.2%" in text
    assert "largest resolution" in text


def test_summary_numbers(page: str, report: DuplicateReport) -> None:
    text = " ".join(parse(page).text)
    assert f"{report.scanned}" in text
    assert "Group 1" in text and "第 2 组" in text


@pytest.mark.parametrize(
    ("lang", "present", "absent"), [("en", "Similarity", "相似度"), ("zh", "相似度", "Similarity")]
)
def test_single_language(report: DuplicateReport, lang: str, present: str, absent: str) -> None:
    text = " ".join(parse(render_html(report, lang=lang)).text)
    assert present in text and absent not in text


def test_empty_report_and_bad_language() -> None:
    text = " ".join(parse(render_html(DuplicateReport())).text)
    assert "No duplicates found." in text and "未发现重复图片" in text
    with pytest.raises(ValueError, match="language"):
        render_html(DuplicateReport(), lang="fr")
