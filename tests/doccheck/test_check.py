"""`lookalike docs`: documents built from the committed photos, plus the shared corpus."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from pathlib import Path

import openpyxl
import pytest
from PIL import Image

from lookalike.cli import main
from lookalike.doccheck.check import MARKER, check_documents
from lookalike.doccheck.records import CheckOptions
from lookalike.match.relation import WORDS
from lookalike.reports.labels import reason_text

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "samples"
from corpus import CORPUS  # noqa: E402

DOCS = CORPUS / "docs"
needs_corpus = pytest.mark.skipif(not DOCS.is_dir(), reason=f"shared corpus not found at {DOCS}")
#: Fast comparisons for the tests that do not need ORB.
QUICK = ("phash8", "color", "content")


def _jpeg(photo: str, scale: float = 1.0) -> bytes:
    with Image.open(SAMPLES / photo) as im:
        im = im.convert("RGB")
        if scale != 1.0:
            im = im.resize((round(im.width * scale), round(im.height * scale)), Image.LANCZOS)
        buf = io.BytesIO()
        im.save(buf, "JPEG", quality=88)
    return buf.getvalue()


def _png(size: tuple[int, int], color: tuple[int, int, int] = (200, 40, 40)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, "PNG")
    return buf.getvalue()


def _ooxml(path: Path, media: dict[str, bytes], folder: str = "word") -> Path:
    """A minimal OOXML package whose ``<folder>/media/`` holds ``media``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types/>')
        zf.writestr(f"{folder}/document.xml", '<?xml version="1.0"?><document/>')
        for name, data in media.items():
            zf.writestr(name if "/" in name else f"{folder}/media/{name}", data)
    return path


@pytest.fixture(scope="module")
def report_set(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A .docx with one photo twice (same bytes), a resized copy, another photo, a bullet;
    an .xlsx with a copy of the first photo; a .docx without pictures."""
    root = tmp_path_factory.mktemp("inputs") / "报告"
    kite = _jpeg("Kite.jpg")
    _ooxml(
        root / "实验报告.docx",
        {
            "image1.jpeg": kite,
            "image2.jpeg": _jpeg("Kite.jpg", 0.6),
            "image3.jpeg": kite,
            "image4.jpeg": _jpeg("Autumn.jpg"),
            "image5.png": _png((16, 16)),
        },
    )
    _ooxml(root / "数据" / "data.xlsx", {"image1.jpeg": _jpeg("Kite.jpg", 0.8)}, "xl")
    _ooxml(root / "empty.docx", {})
    return root


def test_within_and_across(report_set: Path, tmp_path: Path) -> None:
    result = check_documents(
        [report_set], CheckOptions(out=tmp_path, methods=QUICK, jobs=1, workbook=False)
    )
    pairs = {(p["image1"], p["image2"], p["document2"]): p for p in result.to_dict()["pairs"]}
    exact = pairs[("image1.jpeg", "image3.jpeg", None)]
    assert (exact["similarity"], exact["method"]) == (1.0, "bytes")
    assert ("image1.jpeg", "image2.jpeg", None) in pairs  # the resized copy, same document
    assert ("image1.jpeg", "image1.jpeg", "数据/data.xlsx") in pairs  # across documents
    assert not any("image4.jpeg" in (p["image1"], p["image2"]) for p in pairs.values())
    docs = {d.name: d for d in result.documents}
    assert docs["实验报告.docx"].skipped_small == 1  # the 16 px bullet
    assert len(docs["实验报告.docx"].images) == 5
    assert docs["empty.docx"].status == "no images"
    assert result.errors == []
    # extracted under their package names, one folder per document
    folder = tmp_path / "图片提取" / "实验报告.docx"
    names = ["image1.jpeg", "image2.jpeg", "image3.jpeg", "image4.jpeg", "image5.png"]
    assert sorted(p.name for p in folder.glob("image*")) == names
    assert (tmp_path / "图片提取" / "data.xlsx" / "image1.jpeg").is_file()


def test_scope_and_threshold(report_set: Path, tmp_path: Path) -> None:
    base = {"out": tmp_path, "methods": QUICK, "jobs": 1, "workbook": False}
    within = check_documents([report_set], CheckOptions(scope="within", **base))
    assert within.pairs and all(p.within for p in within.pairs)
    across = check_documents([report_set], CheckOptions(scope="across", **base))
    assert across.pairs and not any(p.within for p in across.pairs)
    strict = check_documents([report_set], CheckOptions(threshold=1.0, **base))
    assert {p.method for p in strict.pairs} <= {"bytes", "phash8"}
    assert all(p.similarity == 1.0 for p in strict.pairs)
    # a second run into the same OUT reuses its folders instead of piling up copies
    folders = sorted(p.name for p in (tmp_path / "图片提取").iterdir())
    assert folders == ["data.xlsx", "实验报告.docx"]


def test_cli_end_to_end_chinese(report_set: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "输出 结果"
    code = main(["docs", str(report_set), "--out", str(out), "--jobs", "1"])
    assert code == 0
    printed = capsys.readouterr().out
    assert "相似图片对" in printed and "图片相似度" in printed
    books = list(out.glob("图片相似度*.xlsx"))
    assert len(books) == 1 and books[0].stem[-8:].isdigit()
    wb = openpyxl.load_workbook(books[0])
    assert wb.sheetnames == ["图片相似度", "文档", "错误"]
    rows = list(wb["图片相似度"].iter_rows(values_only=True))
    assert rows[0][:9] == (
        "文档名1", "图片名1", "位置1", "文档名2", "图片名2", "位置2", "图片相似度", "关系",
        "判定方法",
    )  # fmt: skip
    body = {(r[0], r[1], r[3], r[4]) for r in rows[1:]}
    assert ("实验报告.docx", "image1.jpeg", "实验报告.docx", "image3.jpeg") in body
    assert ("实验报告.docx", "image1.jpeg", "数据/data.xlsx", "image1.jpeg") in body
    assert all(0.85 <= r[6] <= 1 for r in rows[1:])
    # the relation the engine measured, in Chinese (its kind's words begin each cell)
    kinds = tuple(zh for _, zh in WORDS.values())
    assert rows[1:] and all(str(r[7]).startswith(kinds) for r in rows[1:])
    assert len(wb["图片相似度"]._images) == 2 * (len(rows) - 1)  # two thumbnails a row
    docs = {r[0]: r for r in wb["文档"].iter_rows(min_row=2, values_only=True)}
    assert docs["实验报告.docx"][1:] == (5, 1, "正常")
    assert docs["empty.docx"][3] == "无图片"
    assert (out / "图片提取" / "实验报告.docx" / "image1.jpeg").is_file()


def test_cli_json_english(report_set: Path, tmp_path: Path, capsys) -> None:
    code = main(["docs", str(report_set), "--out", str(tmp_path), "--lang", "en", "--json",
                 "--jobs", "1", "--min-size", "8"])  # fmt: skip
    assert code == 0
    data = json.loads(capsys.readouterr().out)
    assert set(data) >= {"pairs", "documents", "errors", "workbook"}
    assert Path(data["workbook"]).name.startswith("image-similarity-")
    assert (tmp_path / "extracted" / "实验报告.docx" / "image5.png").is_file()
    first = data["pairs"][0]
    assert set(first) >= {"document", "image1", "image2", "document2", "similarity", "method"}
    report = next(d for d in data["documents"] if d["document"] == "实验报告.docx")
    assert report["skipped_small"] == 0  # --min-size 8 keeps the 16 px bullet
    wb = openpyxl.load_workbook(data["workbook"])
    assert wb.sheetnames == ["Similar images", "Documents", "Errors"]


def test_same_name_in_two_folders(tmp_path: Path) -> None:
    _ooxml(tmp_path / "in" / "a" / "report.docx", {"image1.jpeg": _jpeg("Path.jpg")})
    _ooxml(tmp_path / "in" / "b" / "report.docx", {"image1.jpeg": _jpeg("Path.jpg", 0.7)})
    out = tmp_path / "out"
    result = check_documents(
        [tmp_path / "in"], CheckOptions(out=out, methods=QUICK, jobs=1, workbook=False)
    )
    assert [d.name for d in result.documents] == ["a/report.docx", "b/report.docx"]
    folders = sorted(p.name for p in (out / "图片提取").iterdir())
    assert folders == ["report.docx", "report.docx (2)"]
    assert [(p.image1.name, p.image2.name, p.within) for p in result.pairs] == [
        ("image1.jpeg", "image1.jpeg", False)
    ]
    # a folder a user made (no marker) is never emptied: the run picks another name
    keep = out / "图片提取" / "other.docx"
    keep.mkdir()
    (keep / "mine.txt").write_text("user file")
    _ooxml(tmp_path / "in2" / "other.docx", {"image1.jpeg": _jpeg("Path.jpg")})
    check_documents([tmp_path / "in2"], CheckOptions(out=out, methods=QUICK, workbook=False))
    assert (keep / "mine.txt").read_text() == "user file"
    assert (out / "图片提取" / "other.docx (2)" / MARKER).is_file()


def test_bad_documents_are_error_rows(tmp_path: Path) -> None:
    src = tmp_path / "in"
    good = _ooxml(src / "good.docx", {"image1.jpeg": _jpeg("MilkyWay.jpg")})
    data = good.read_bytes()
    (src / "truncated.docx").write_bytes(data[: len(data) // 2])
    (src / "text.xlsx").write_text("this is not a workbook", encoding="utf-8")
    _ooxml(src / "unknown.docx", {"image1.png": b"\x00garbage, not a picture" * 10,
                                  "image2.pict": b"\x00" * 600})  # fmt: skip
    evil = src / "evil.docx"
    with zipfile.ZipFile(evil, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("word/media/../../../../escape.jpeg", _jpeg("Altai.jpg"))
        zf.writestr("/abs/word/media/absolute.jpeg", _jpeg("Altai.jpg", 0.5))
    bomb = src / "bomb.docx"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("word/media/image1.png", b"\x89PNG\r\n\x1a\n" + bytes(60 * 1024 * 1024))
    out = tmp_path / "out"
    before = {p for p in tmp_path.rglob("*")}
    result = check_documents([src], CheckOptions(out=out, methods=QUICK, jobs=1))
    reasons = {e.document: e.reason for e in result.errors}
    assert "corrupt" in reasons["truncated.docx"]
    assert reasons["text.xlsx"].startswith("not an Office or PDF document")
    assert "oversized" in reasons["bomb.docx"] or "ratio" in reasons["bomb.docx"]
    unknown = [e.reason for e in result.errors if e.document == "unknown.docx"]
    assert any(r.startswith("image1.png: unknown or unreadable image format") for r in unknown)
    assert any(r.startswith("image2.pict: unknown or unreadable image format") for r in unknown)
    statuses = {d.name: d.status for d in result.documents}
    assert statuses["good.docx"] == "ok" and statuses["truncated.docx"] == "error"
    # nothing written outside OUT: every new path is OUT or under it
    created = {p for p in tmp_path.rglob("*")} - before
    assert created and all(p == out or out in p.parents for p in created)
    assert sorted(p.name for p in (out / "图片提取" / "evil.docx").glob("*.jpeg")) == [
        "absolute.jpeg",
        "escape.jpeg",
    ]
    wb = openpyxl.load_workbook(result.workbook)
    errors = {(r[0], r[1]) for r in wb["错误"].iter_rows(min_row=2, values_only=True)}
    assert ("truncated.docx", reason_text(reasons["truncated.docx"], "zh")) in errors
    assert len(errors) == len(result.errors)
    docs = {r[0]: r[3] for r in wb["文档"].iter_rows(min_row=2, values_only=True)}
    assert docs["text.xlsx"].startswith("错误")


def _manifest() -> list[dict[str, str]]:
    with open(DOCS / "MANIFEST.tsv", encoding="utf-8") as fh:
        return list(csv.DictReader(fh, delimiter="\t"))


@needs_corpus
def test_corpus_hostile_documents(tmp_path: Path) -> None:
    rows = _manifest()

    def first(note: str) -> str:
        return next(r["file"] for r in rows if note in r["notes"])

    names = {
        "encrypted": first("encrypted-ooxml"),
        "corrupt": first("corrupt-zip"),
        "misnamed": first("not what the extension says"),
        "ok": "tika_testPPT_2imgs.pptx",
        "ok2": "tika_testPPT_2imgs.ppt",
    }
    result = check_documents(
        [DOCS / n for n in names.values()],
        CheckOptions(out=tmp_path, methods=QUICK, jobs=1, workbook=False),
    )
    reasons = {e.document: e.reason for e in result.errors}
    assert reasons[names["encrypted"]].startswith("encrypted")
    assert "corrupt" in reasons[names["corrupt"]]
    assert reasons[names["misnamed"]].startswith("not an Office or PDF document")
    # the same pictures in the .ppt and the .pptx: found across documents
    across = [p for p in result.pairs if not p.within]
    assert {result.documents[p.image2.document].name for p in across} == {names["ok2"]}
    assert any(p.method == "bytes" for p in across)


@needs_corpus
def test_corpus_metafiles(tmp_path: Path) -> None:
    doc = DOCS / "VariousPictures.docx"  # 2 EMF, 1 WMF, a PNG and a JPEG
    result = check_documents(
        [doc], CheckOptions(out=tmp_path, methods=QUICK, jobs=1, workbook=False)
    )
    folder = tmp_path / "图片提取" / doc.name
    for name in ("image1.wmf", "image3.emf", "image4.emf"):
        assert (folder / name).is_file()  # the original is kept
        if (folder / f"{name}.png").is_file():
            image = next(i for i in result.images if i.name == name)
            assert image.compare == folder / f"{name}.png"
    assert result.stats["metafiles"] == 3
    rendered = sum((folder / f"{n}.png").is_file() for n in ("image1.wmf", "image3.emf"))
    assert rendered + sum("rasterized" in e.reason for e in result.errors) >= 2
    # without any renderer: said in the errors and in `missing`, the rest still compared
    bare = check_documents(
        [doc],
        CheckOptions(out=tmp_path / "bare", methods=QUICK, jobs=1, workbook=False,
                     metafile_backends=("none",)),
    )  # fmt: skip
    reasons = [e.reason for e in bare.errors]
    assert sum("no EMF renderer installed" in r for r in reasons) == 2
    assert sum("no WMF renderer installed" in r for r in reasons) == 1
    assert len(bare.missing) == 2 and all("install" in m for m in bare.missing)
    assert bare.stats["compared"] == 2  # the PNG and the JPEG


def test_cli_model_adds_the_learned_layer(report_set: Path, tmp_path: Path, capsys) -> None:
    pytest.importorskip("onnxruntime", reason="the embed method needs onnxruntime")
    plain = tmp_path / "plain"
    assert main(["docs", str(report_set), "--out", str(plain), "--json", "--jobs", "1"]) == 0
    before = json.loads(capsys.readouterr().out)
    out = tmp_path / "learned"
    code = main(["docs", str(report_set), "--out", str(out), "--json", "--jobs", "1",
                 "--model", "default"])  # fmt: skip
    assert code == 0
    data = json.loads(capsys.readouterr().out)
    assert "embed" in data["methods"] and "embed" not in before["methods"]
    pairs = {(p["document"], p["image1"], p["document2"], p["image2"]) for p in data["pairs"]}
    assert pairs >= {
        (p["document"], p["image1"], p["document2"], p["image2"]) for p in before["pairs"]
    }
    missing = tmp_path / "none.onnx"
    code = main(["docs", str(report_set), "--out", str(tmp_path / "bad"), "--model", str(missing)])
    assert code == 2 and "none.onnx: no such model file" in capsys.readouterr().err
    assert not (tmp_path / "bad").exists()
