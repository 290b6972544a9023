"""Fixed-seed fuzzing of document extraction: mutated documents never escape or hang.

Seeds are a few small real documents of the shared corpus (see ../shared/corpus/README.md)
when present, else documents built here. Each mutated document goes through
:func:`lookalike.sources.documents.extract_images`, which must return (pictures, an error
or warnings) or raise a LookalikeError, and finish within a time limit.
"""

from __future__ import annotations

import io
import random
import time
import zipfile
from pathlib import Path

import pytest
from PIL import Image

from lookalike.errors import LookalikeError
from lookalike.sources.documents import Budget, DocumentImages, extract_images

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus" / "docs"
SEEDS = (
    "56392.docx",
    "bug63189.xlsx",
    "tika_testEXCEL_1img.xlsx",
    "OPCCompliance_CoreProperties_AlternateTimezones.docx",
    "imagemagick-images.pdf",
    "imagemagick-lzw.pdf",
    "PngPicture.doc",
    "SheetWithDrawing.xls",
    "bug58144-headers-footers-2003.ppt",
)
CASES = 150
#: Per-case limit: the extraction budget is 2 s; pdfium/olefile calls may overrun a little.
CASE_LIMIT_S = 8.0


def _png(color: tuple[int, int, int]) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (24, 16), color).save(buf, "PNG")
    return buf.getvalue()


def _built_seeds() -> dict[str, bytes]:
    """A docx, an xlsx and a PDF made here, for when the corpus is absent."""
    seeds: dict[str, bytes] = {}
    rels = (
        '<Relationships><Relationship Id="rId1" Type="x/image" Target="media/image1.png"/>'
        "</Relationships>"
    )
    for name, prefix in (("built.docx", "word"), ("built.xlsx", "xl")):
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
            zf.writestr("[Content_Types].xml", "<Types/>")
            zf.writestr(f"{prefix}/document.xml", '<w:object><a:blip r:embed="rId1"/></w:object>')
            zf.writestr(f"{prefix}/_rels/document.xml.rels", rels)
            zf.writestr(f"{prefix}/media/image1.png", _png((200, 30, 30)))
            zf.writestr(f"{prefix}/media/image2.png", _png((30, 200, 30)))
        seeds[name] = buf.getvalue()
    buf = io.BytesIO()
    pages = [Image.new("RGB", (30, 20), (40 * i, 80, 120)) for i in range(3)]
    pages[0].save(buf, "PDF", save_all=True, append_images=pages[1:])
    seeds["built.pdf"] = buf.getvalue()
    return seeds


def _seeds() -> dict[str, bytes]:
    found = {n: (CORPUS / n).read_bytes() for n in SEEDS if (CORPUS / n).is_file()}
    return found or _built_seeds()


def _mutate_bytes(rng: random.Random, data: bytes) -> bytes:
    """Flip bytes, cut, duplicate or splice a run: the whole file, structure ignored."""
    buf = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        op = rng.randrange(5)
        at = rng.randrange(max(1, len(buf)))
        if op == 0:
            for _ in range(rng.randint(1, 16)):
                buf[rng.randrange(len(buf))] = rng.randrange(256)
        elif op == 1:
            del buf[at:]
            buf += b"\x00" * rng.randint(0, 8)
        elif op == 2:
            buf[at:at] = buf[at : at + rng.randint(1, 4096)] * rng.randint(2, 8)
        elif op == 3:
            buf[at : at + 4] = rng.choice([b"\xff\xff\xff\x7f", b"\x00\x00\x00\x00", b"\xff" * 4])
        else:
            del buf[at : at + rng.randint(1, 512)]
    return bytes(buf)


_HOSTILE_XML = (
    b"<w:object>" * 3000,
    b"<Relationship " * 2000,
    b'<Relationship Id="rId1" Target="../../../../etc/passwd"/>' * 50,
    b"<a " + b"x:" * 20000,
    b'<Relationship Id="rId1" Target="media/image1.png"/>' * 500,
)


def _mutate_zip(rng: random.Random, data: bytes) -> bytes:
    """Rewrite the package with mutated members (XML and pictures), renamed or added."""
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for info in src.infolist():
            member = src.read(info)
            name = info.filename
            roll = rng.random()
            if roll < 0.15:
                member = _mutate_bytes(rng, member) if member else member
            elif roll < 0.22 and name.endswith((".xml", ".rels")):
                member = member[: rng.randrange(len(member) + 1)] + rng.choice(_HOSTILE_XML)
            elif roll < 0.26 and "/media/" in name:
                name = name.rsplit(".", 1)[0] + rng.choice([".exe", ".bat", "", ".png.lnk"])
            zf.writestr(name, member)
        if rng.random() < 0.3:
            zf.writestr(f"word/media/../../x{rng.randrange(99)}.png", _png((1, 2, 3)))
    return out.getvalue()


def _check(result: DocumentImages) -> None:
    assert isinstance(result, DocumentImages)
    assert result.error is None or isinstance(result.error, str)
    assert all(isinstance(w, str) for w in result.warnings)
    for image in result.images:
        assert isinstance(image.data, bytes) and image.data
        assert isinstance(image.format, str) and isinstance(image.name, str)


def test_fuzz_documents(tmp_path: Path) -> None:
    seeds = _seeds()
    names = sorted(seeds)
    rng = random.Random(20261127)
    worst = 0.0
    start = time.monotonic()
    for case in range(CASES):
        name = names[case % len(names)]
        data = seeds[name]
        if data[:2] == b"PK" and rng.random() < 0.6:
            try:
                mutated = _mutate_zip(rng, data)
            except (zipfile.BadZipFile, ValueError):  # a corrupt seed: mutate its bytes
                mutated = _mutate_bytes(rng, data)
        else:
            mutated = _mutate_bytes(rng, data)
        path = tmp_path / f"case{case:03d}{Path(name).suffix}"
        path.write_bytes(mutated)
        t0 = time.monotonic()
        try:
            result = extract_images(path, Budget(2.0))
        except LookalikeError:
            pass
        except Exception as exc:  # pragma: no cover - the failure this test looks for
            pytest.fail(f"case {case} ({name}): {type(exc).__name__}: {exc}")
        else:
            _check(result)
        took = time.monotonic() - t0
        worst = max(worst, took)
        assert took < CASE_LIMIT_S, f"case {case} ({name}) took {took:.1f} s"
        path.unlink()
    assert time.monotonic() - start < 60, f"{CASES} cases, slowest {worst:.1f} s"
