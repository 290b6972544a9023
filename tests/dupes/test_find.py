"""`lookalike dupes` end to end on real photos and their transformed copies."""

from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path

import pytest
from PIL import Image, ImageDraw, ImageEnhance, ImageOps

from lookalike.cli import main
from lookalike.dupes.find import DupesOptions, find_duplicates


def _copies(src: Path, folder: Path) -> dict[str, str]:
    """Transformed copies of one real photo: file name -> attack."""
    im = Image.open(src).convert("RGB")
    w, h = im.size
    out = {
        "small.jpg": im.resize((w // 2, h // 2)),
        "bright.jpg": ImageEnhance.Brightness(im).enhance(1.25),
        "rot90.png": im.rotate(90, expand=True),
        "mirror.jpg": ImageOps.mirror(im),
        "crop50.jpg": im.crop((w // 4, h // 4, 3 * w // 4, 3 * h // 4)).resize((w // 2, h // 2)),
        "tilt8.jpg": im.rotate(8, resample=Image.Resampling.BICUBIC, fillcolor="white"),
    }
    captioned = im.copy()
    ImageDraw.Draw(captioned).rectangle((0, h - h // 6, w, h), fill="black")
    ImageDraw.Draw(captioned).text((10, h - h // 8), "Figure 3 图三", fill="white")
    out["caption.jpg"] = captioned
    attacks = {}
    for name, image in out.items():
        path = folder / f"{src.stem}_{name}"
        image.save(path, quality=85)
        attacks[path.name] = name.split(".")[0]
    return attacks


@pytest.fixture(scope="module")
def library(sample_photos: list[Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Eight real photos, copies of two of them, bad files, a zip and a Chinese name."""
    root = tmp_path_factory.mktemp("library")
    (root / "相册").mkdir()
    for p in sample_photos:
        shutil.copy(p, root / p.name)
    _copies(sample_photos[0], root / "相册")
    _copies(sample_photos[1], root)
    shutil.copy(sample_photos[2], root / "相册" / "复制.jpg")  # byte-identical copy
    pasted = Image.open(sample_photos[3]).convert("RGB")
    inset = Image.open(sample_photos[4]).convert("RGB")
    inset = inset.resize((int(pasted.width * 0.45), int(pasted.height * 0.45)))
    pasted.paste(inset, (pasted.width // 2, pasted.height // 3))
    pasted.save(root / "pasted.jpg", quality=90)
    (root / "empty.jpg").write_bytes(b"")
    (root / "notes.jpg").write_text("not a photo")
    data = sample_photos[5].read_bytes()
    (root / "cut.jpg").write_bytes(data[: len(data) // 3])
    with zipfile.ZipFile(root / "archive.zip", "w") as zf:
        zf.write(sample_photos[6], "inside/copy.jpg")
    return root


@pytest.fixture(scope="module")
def report(library: Path, tmp_path_factory: pytest.TempPathFactory):
    cache = tmp_path_factory.mktemp("cache") / "catalog.sqlite"
    return find_duplicates([library], DupesOptions(cache=str(cache), jobs=2)), cache


def _group_of(report, name: str):
    for g in report.groups:
        if any(Path(m.path).name == name or m.path.endswith(name) for m in g.members):
            return g
    return None


def test_every_attacked_copy_is_grouped_with_its_original(report, sample_photos) -> None:
    rep, _ = report
    for photo in sample_photos[:2]:
        group = _group_of(rep, photo.name)
        assert group is not None, photo
        names = {Path(m.path).name for m in group.members}
        for attack in ("small", "bright", "rot90", "mirror", "crop50", "tilt8"):
            assert any(n.startswith(f"{photo.stem}_{attack}") for n in names), (attack, names)


def test_a_copy_with_a_caption_bar_painted_over_is_grouped(report, sample_photos) -> None:
    rep, _ = report
    for photo in sample_photos[:2]:
        group = _group_of(rep, photo.name)
        names = {Path(m.path).name for m in group.members} if group else set()
        assert any(n.startswith(f"{photo.stem}_caption") for n in names), names


def test_unrelated_photos_stay_apart_and_exact_copies_are_found(report, sample_photos) -> None:
    rep, _ = report
    for g in rep.groups:
        stems = {Path(m.path).name.split("_")[0].split(".")[0] for m in g.members}
        originals = stems & {p.stem for p in sample_photos}
        assert len(originals) <= 2, stems  # at most the photo and, for a paste, its inset
    byte_copy = _group_of(rep, "复制.jpg")
    assert byte_copy is not None
    assert any(m.method == "bytes" and m.similarity == 1.0 for m in byte_copy.members)
    zipped = _group_of(rep, "archive.zip!//inside/copy.jpg")
    assert zipped is not None and sample_photos[6].name in {
        Path(m.path).name for m in zipped.members
    }


def test_a_pasted_photo_is_found(report, sample_photos) -> None:
    rep, _ = report
    group = _group_of(rep, "pasted.jpg")
    assert group is not None
    assert {Path(m.path).name for m in group.members} & {
        sample_photos[3].name,
        sample_photos[4].name,
    }


def test_bad_files_are_reported_with_reasons_and_the_rest_goes_on(report) -> None:
    rep, _ = report
    reasons = {Path(e.path).name: e.reason for e in rep.errors}
    assert "empty" in reasons["empty.jpg"]
    assert "not an image" in reasons["notes.jpg"] or "text" in reasons["notes.jpg"]
    assert "truncated" in reasons["cut.jpg"]
    assert rep.stats["images"] >= 8 + 14 + 3


def test_each_pair_names_its_layer_and_keepers_have_reasons(report) -> None:
    rep, _ = report
    layers = {p.method for p in rep.pairs}
    assert {"bytes", "phash8", "orb"} <= layers
    for g in rep.groups:
        assert g.members[0].path == g.keep and g.reason


def test_second_run_decodes_nothing(report, library: Path) -> None:
    rep, cache = report
    again = find_duplicates([library], DupesOptions(cache=str(cache)))
    assert again.stats["cache"]["computed"] == 0
    assert [g.keep for g in again.groups] == [g.keep for g in rep.groups]


def test_cli_json_reports_and_dry_run(library: Path, tmp_path: Path, capsys) -> None:
    cache = tmp_path / "c.sqlite"
    html, xlsx = tmp_path / "r.html", tmp_path / "r.xlsx"
    args = [
        "dupes",
        str(library),
        "--cache",
        str(cache),
        "--json",
        "--report",
        str(html),
        "--report",
        str(xlsx),
        "--move-to",
        str(tmp_path / "moved"),
        "--dry-run",
    ]
    assert main(args) == 1  # some inputs were unreadable
    out = json.loads(capsys.readouterr().out)
    assert out["groups"] and out["errors"]
    member = out["groups"][0]["members"][1]
    assert {"path", "similarity", "method"} <= set(member)
    assert all(a["action"] in ("move", "skip") and not a["done"] for a in out["actions"])
    assert not (tmp_path / "moved").exists()
    assert html.stat().st_size > 1000 and xlsx.stat().st_size > 1000


def test_move_to_keeps_relative_paths_and_never_overwrites(
    sample_photos: list[Path], tmp_path: Path, capsys
) -> None:
    lib = tmp_path / "lib"
    (lib / "sub").mkdir(parents=True)
    big = Image.open(sample_photos[0])
    big.save(lib / "a.jpg", quality=95)
    big.resize((big.width // 2, big.height // 2)).save(lib / "sub" / "a_small.jpg")
    dest = tmp_path / "dest"
    (dest / "sub").mkdir(parents=True)
    (dest / "sub" / "a_small.jpg").write_bytes(b"occupied")
    args = ["dupes", str(lib), "--no-cache", "--methods", "phash8", "--move-to", str(dest)]
    assert main(args) == 0
    assert (lib / "a.jpg").exists() and not (lib / "sub" / "a_small.jpg").exists()
    assert (dest / "sub" / "a_small.jpg").read_bytes() == b"occupied"
    assert (dest / "sub" / "a_small (1).jpg").exists()


def test_delete_needs_confirmation(sample_photos: list[Path], tmp_path: Path, capsys) -> None:
    lib = tmp_path / "lib"
    lib.mkdir()
    shutil.copy(sample_photos[0], lib / "a.jpg")
    shutil.copy(sample_photos[0], lib / "b.jpg")
    assert main(["dupes", str(lib), "--no-cache", "--methods", "phash8", "--delete"]) == 0
    assert (lib / "a.jpg").exists() and (lib / "b.jpg").exists()  # no terminal, no --yes
    assert main(["dupes", str(lib), "--no-cache", "--methods", "phash8", "--delete", "--yes"]) == 0
    assert len(list(lib.iterdir())) == 1


def test_one_file_in_ten_corrupt_still_groups_every_good_file(
    corpus_photos: list[Path], tmp_path: Path
) -> None:
    originals = [p for p in corpus_photos if p.parent.name == "originals"][:20]
    for k, p in enumerate(originals):
        im = Image.open(p)
        im.save(tmp_path / f"{k:02d}.jpg", quality=90)
        im.resize((im.width // 2, im.height // 2)).save(tmp_path / f"{k:02d}_half.jpg", quality=70)
    for k in range(4):  # 4 of 44 files corrupt
        (tmp_path / f"bad{k}.jpg").write_bytes((tmp_path / "00.jpg").read_bytes()[:500])
    rep = find_duplicates(
        [tmp_path], DupesOptions(cache="", methods=("phash8", "color", "content"))
    )
    assert len(rep.errors) == 4
    grouped = {Path(m.path).name for g in rep.groups for m in g.members}
    for k in range(20):
        assert {f"{k:02d}.jpg", f"{k:02d}_half.jpg"} <= grouped, k
