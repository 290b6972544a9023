"""scan(): images found by content, what is reported or ignored, links, archives, names."""

from __future__ import annotations

import io
import os
import shutil
import zipfile
from pathlib import Path

import pytest
from PIL import Image

from lookalike.decode import load
from lookalike.errors import Failure
from lookalike.formats import sniff
from lookalike.sources import folders
from lookalike.sources.folders import MEMBER_SEP, Entry, scan

SAMPLES = Path(__file__).resolve().parents[2] / "samples"
from corpus import CORPUS as SHARED  # noqa: E402

CORPUS = SHARED / "photos"


def _photos() -> list[Path]:
    return sorted(SAMPLES.glob("*.jpg"))


def _split(results: list[Entry | Failure]) -> tuple[list[Entry], list[Failure]]:
    entries = [r for r in results if isinstance(r, Entry)]
    failures = [r for r in results if isinstance(r, Failure)]
    assert len(entries) + len(failures) == len(results)
    return entries, failures


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A folder of real photos, one without extension, one under a misleading name."""
    root = tmp_path / "photos"
    (root / "sub").mkdir(parents=True)
    photos = _photos()
    for p in photos[:3]:
        shutil.copy(p, root / p.name)
    shutil.copy(photos[3], root / "sub" / "IMG_0004")  # no extension
    shutil.copy(photos[4], root / "sub" / "holiday.txt")  # a photo named as text
    (root / "notes.txt").write_text("shopping list\n")
    (root / "script.py").write_text("print('hi')\n")
    (root / "fake.jpg").write_text("<html><body>not a photo</body></html>\n")
    (root / "empty.png").write_bytes(b"")
    return root


def test_images_are_found_by_content_not_by_name(folder: Path) -> None:
    entries, failures = _split(list(scan(folder)))
    names = sorted(os.path.relpath(e.path, folder) for e in entries)
    photos = _photos()
    assert names == sorted([p.name for p in photos[:3]] + ["sub/IMG_0004", "sub/holiday.txt"])
    assert all(e.kind == "jpeg" and os.path.isabs(e.path) for e in entries)
    for e in entries:
        assert e.size == os.path.getsize(e.path)
        assert e.mtime_ns == os.stat(e.path).st_mtime_ns
        assert e.read() == Path(e.path).read_bytes()
    # named like images but not: reported with the reason; other non-images: silent
    reasons = {os.path.basename(f.path): f.reason for f in failures}
    assert set(reasons) == {"fake.jpg", "empty.png"}
    assert "HTML" in reasons["fake.jpg"]
    assert "empty" in reasons["empty.png"]


def test_order_is_deterministic_and_sorted(folder: Path) -> None:
    first = [r.path for r in scan(folder)]
    assert first == [r.path for r in scan([str(folder)])]
    top = [p for p in first if os.path.dirname(p) == str(folder)]
    assert top == sorted(top)


def test_not_recursive_lists_only_the_top_folder(folder: Path) -> None:
    entries, _ = _split(list(scan(folder, recursive=False)))
    assert {os.path.dirname(e.path) for e in entries} == {str(folder)}
    assert len(entries) == 3


def test_explicit_paths_missing_and_non_image(folder: Path) -> None:
    results = list(scan([folder / "notes.txt", folder / "nothing-here", folder / "sub/IMG_0004"]))
    entries, failures = _split(results)
    assert [os.path.basename(e.path) for e in entries] == ["IMG_0004"]
    assert "not an image" in failures[0].reason and "text" in failures[0].reason
    assert "no such file" in failures[1].reason


@pytest.mark.parametrize(
    ("fmt", "kind", "mode"),
    [
        ("JPEG", "jpeg", "RGB"),
        ("PNG", "png", "RGBA"),
        ("GIF", "gif", "P"),
        ("BMP", "bmp", "RGB"),
        ("TIFF", "tiff", "RGB"),
        ("WEBP", "webp", "RGB"),
        ("ICO", "ico", "RGBA"),
        ("PPM", "pnm", "RGB"),
        ("JPEG2000", "jpeg2000", "RGB"),
        ("QOI", "qoi", "RGB"),
        ("DDS", "dds", "RGB"),
    ],
)
def test_sniff_recognises_what_pillow_writes(fmt: str, kind: str, mode: str) -> None:
    buf = io.BytesIO()
    try:
        Image.new(mode, (32, 24), "red" if mode != "P" else 3).save(buf, fmt)
    except (KeyError, OSError) as exc:
        pytest.skip(f"this Pillow cannot write {fmt}: {exc}")
    assert sniff(buf.getvalue()[:64]) == kind


def test_sniff_iso_media_brands() -> None:
    heic = b"\x00\x00\x00\x18ftypmif1\x00\x00\x00\x00mif1heic" + b"\x00" * 16
    avif = b"\x00\x00\x00\x1cftypavif\x00\x00\x00\x00avifmif1miaf" + b"\x00" * 16
    mp4 = b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2" + b"\x00" * 16
    assert sniff(heic) == "heic"
    assert sniff(avif) == "avif"
    assert sniff(mp4) is None
    assert sniff(b"hello world") is None
    assert sniff(b"") is None


def test_symlink_loop_ends_and_each_file_is_yielded_once(tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "a" / "b").mkdir(parents=True)
    photo = _photos()[0]
    shutil.copy(photo, root / "a" / "b" / "x.jpg")
    os.symlink(root, root / "a" / "b" / "loop")  # a link to an ancestor
    os.symlink(root / "a", root / "again")  # the same folder under a second name
    os.symlink(root / "a" / "b" / "x.jpg", root / "a" / "link.jpg")  # the same file
    os.symlink(root / "missing.jpg", root / "dangling.jpg")
    entries, failures = _split(list(scan(root)))
    assert len(entries) == 1
    assert [os.path.basename(f.path) for f in failures] == ["dangling.jpg"]
    assert "broken symbolic link" in failures[0].reason
    # without following links, the real file is found under its real name only
    entries, failures = _split(list(scan(root, follow_symlinks=False)))
    assert [e.path for e in entries] == [str(root / "a" / "b" / "x.jpg")]
    assert failures == []


@pytest.mark.skipif(
    os.name != "posix" or os.geteuid() == 0,
    reason="running as root: chmod 000 does not stop root from reading a folder",
)
def test_unreadable_folder_is_reported_and_the_scan_goes_on(tmp_path: Path) -> None:
    photo = _photos()[0]
    (tmp_path / "locked").mkdir()
    shutil.copy(photo, tmp_path / "locked" / "x.jpg")
    shutil.copy(photo, tmp_path / "open.jpg")
    (tmp_path / "locked").chmod(0)
    try:
        entries, failures = _split(list(scan(tmp_path)))
    finally:
        (tmp_path / "locked").chmod(0o755)
    assert [os.path.basename(e.path) for e in entries] == ["open.jpg"]
    assert [os.path.basename(f.path) for f in failures] == ["locked"]
    assert "cannot list folder" in failures[0].reason


def test_folder_that_cannot_be_listed_is_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same as the chmod case, runnable as root: listing the folder raises EACCES."""
    photo = _photos()[0]
    (tmp_path / "locked").mkdir()
    shutil.copy(photo, tmp_path / "locked" / "x.jpg")
    shutil.copy(photo, tmp_path / "open.jpg")
    real = os.scandir

    def scandir(path: str) -> object:
        if os.path.basename(path) == "locked":
            raise PermissionError(13, "Permission denied", path)
        return real(path)

    monkeypatch.setattr(folders.os, "scandir", scandir)
    entries, failures = _split(list(scan(tmp_path)))
    assert [os.path.basename(e.path) for e in entries] == ["open.jpg"]
    assert [(os.path.basename(f.path), f.reason) for f in failures] == [
        ("locked", "cannot list folder: Permission denied")
    ]


def test_fifo_is_not_opened(tmp_path: Path) -> None:
    if not hasattr(os, "mkfifo"):
        pytest.skip("no named pipes on this platform")
    os.mkfifo(tmp_path / "pipe.jpg")
    shutil.copy(_photos()[0], tmp_path / "a.jpg")
    entries, failures = _split(list(scan(tmp_path)))  # would block if the fifo were read
    assert len(entries) == 1
    assert [Path(f.path).name for f in failures] == ["pipe.jpg"]  # reported, never opened


def test_chinese_file_and_folder_names(tmp_path: Path) -> None:
    folder = tmp_path / "照片" / "二〇一九年 旅行"
    folder.mkdir(parents=True)
    photo = _photos()[1]
    shutil.copy(photo, folder / "猫咪 1.jpg")
    (folder / "说明.txt").write_text("说明", encoding="utf-8")
    entries, failures = _split(list(scan(tmp_path / "照片")))
    assert failures == []
    assert [Path(e.path).name for e in entries] == ["猫咪 1.jpg"]
    assert load(entries[0].read(), mode="L").size[0] > 0


def _zip(path: Path, members: dict[str, bytes], **kw: object) -> None:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, **kw) as zf:
        for name, data in members.items():
            zf.writestr(name, data)


def test_zip_members_are_yielded(tmp_path: Path) -> None:
    photos = _photos()
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w") as zf:
        zf.writestr("deep.jpg", photos[0].read_bytes())
    archive = tmp_path / "holiday"  # found by content, no .zip needed
    _zip(
        archive,
        {
            "trip/b.jpg": photos[1].read_bytes(),
            "a.jpg": photos[0].read_bytes(),
            "相册/狗": photos[2].read_bytes(),
            "readme.txt": b"hello",
            "broken.jpg": b"not really",
            "nested.zip": inner.getvalue(),
        },
    )
    entries, failures = _split(list(scan(tmp_path)))
    prefix = str(archive) + MEMBER_SEP
    assert [e.path for e in entries] == [
        prefix + "a.jpg",
        prefix + "trip/b.jpg",
        prefix + "相册/狗",
    ]
    assert [(e.archive, e.member) for e in entries][1] == (str(archive), "trip/b.jpg")
    assert entries[1].read() == photos[1].read_bytes()
    assert entries[1].size == photos[1].stat().st_size
    assert entries[1].mtime_ns == archive.stat().st_mtime_ns
    assert [f.path for f in failures] == [prefix + "broken.jpg"]
    assert list(scan(tmp_path, include_archives=False)) == []


def test_zip_bombs_and_broken_archives_are_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    photo = _photos()[0].read_bytes()
    _zip(tmp_path / "bomb.zip", {"zeros.jpg": bytes(4 * 1024 * 1024), "ok.jpg": photo})
    (tmp_path / "broken.zip").write_bytes(b"PK\x03\x04" + b"\x00" * 100)
    entries, failures = _split(list(scan(tmp_path)))
    assert [e.member for e in entries] == ["ok.jpg"]
    reasons = {f.path[len(str(tmp_path)) + 1 :]: f.reason for f in failures}
    assert "zip bomb" in reasons["bomb.zip!//zeros.jpg"]
    assert "cannot open zip archive" in reasons["broken.zip"]
    # the size cap is checked again when the member is read
    monkeypatch.setattr(folders, "MAX_MEMBER_BYTES", 1000)
    with pytest.raises(Exception, match="too large"):
        entries[0].read()


def test_office_documents_are_not_opened_as_archives(tmp_path: Path) -> None:
    _zip(
        tmp_path / "report.docx",
        {"[Content_Types].xml": b"<Types/>", "word/media/image1.jpg": _photos()[0].read_bytes()},
    )
    assert list(scan(tmp_path)) == []


@pytest.mark.skipif(not CORPUS.is_dir(), reason="shared corpus ../shared/corpus absent")
def test_corpus_photos_are_all_found() -> None:
    entries, failures = _split(list(scan(CORPUS)))
    assert failures == []
    assert len(entries) == len([p for p in CORPUS.rglob("*") if p.suffix == ".jpg"])
    assert len(entries) >= 90


def test_a_document_or_fifo_named_like_an_image_is_reported(tmp_path: Path) -> None:
    import zipfile

    with zipfile.ZipFile(tmp_path / "report.jpg", "w") as zf:  # a .docx renamed .jpg
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("word/document.xml", "<w:document/>")
    os.mkfifo(tmp_path / "pipe.png")
    _, failures = _split(list(scan(tmp_path)))
    reasons = {Path(f.path).name: f.reason for f in failures}
    assert "zip archive or Office document" in reasons["report.jpg"]
    assert "FIFO" in reasons["pipe.png"]
