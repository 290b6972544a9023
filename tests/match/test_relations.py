"""Each verified pair is named for what was done to the picture, on one calibrated scale.

Real photos from samples/, edited the way copies are made: re-encoded, resized, turned
grey, mirrored, turned by 90 and by 7 degrees, cropped, framed, captioned. The engine
must name each edit from what it measured, place it on the shared similarity scale, and
give the same answer from the verdict cache (the keypoint geometry is directional).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from PIL import Image, ImageDraw, ImageOps

from lookalike.dupes.find import DupesOptions, find_duplicates
from lookalike.dupes.records import DuplicateReport, Pair
from lookalike.match.relation import BANDS, PairRelation, flip_geometry, parse_geometry

SAMPLES = Path(__file__).resolve().parents[2] / "samples"


@pytest.fixture(scope="module")
def edits(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("编辑")
    im = Image.open(SAMPLES / "Altai.jpg").convert("RGB")
    w, h = im.size
    im.save(folder / "orig.png")
    shutil.copy(folder / "orig.png", folder / "copy.png")
    im.save(folder / "recomp.jpg", quality=80)
    im.resize((w // 2, h // 2)).save(folder / "half.png")
    ImageOps.grayscale(im).save(folder / "grey.png")
    ImageOps.mirror(im).save(folder / "mirror.png")
    im.crop((int(w * 0.1), int(h * 0.1), int(w * 0.85), int(h * 0.85))).save(folder / "crop.png")
    frame = Image.new("RGB", (w + 200, h + 260), (240, 240, 240))
    frame.paste(im, (100, 160))
    frame.save(folder / "framed.png")
    im.rotate(7, expand=True, fillcolor=(255, 255, 255)).save(folder / "rot7.png")
    im.rotate(90, expand=True).save(folder / "rot90.png")
    caption = im.copy()
    ImageDraw.Draw(caption).rectangle((0, h - h // 8, w, h), fill=(0, 0, 0))
    caption.save(folder / "caption.png")
    return folder


def _run(folder: Path, cache: str = "", **kw: object) -> DuplicateReport:
    return find_duplicates([folder], DupesOptions(cache=cache, **kw))  # type: ignore[arg-type]


def _with_orig(report: DuplicateReport) -> dict[str, tuple[Pair, PairRelation]]:
    """Each edit's pair with orig.png (or its byte copy copy.png, as candidates link byte
    copies to one of them), its relation read with the original as image 1."""
    out: dict[str, tuple[Pair, PairRelation]] = {}
    for ref in ("copy.png", "orig.png"):
        for p in report.pairs:
            a, b = Path(p.a).name, Path(p.b).name
            if ref not in (a, b) or p.relation is None:
                continue
            rel = p.relation if a == ref else p.relation.swapped()
            out[b if a == ref else a] = (p, rel)
    out.pop("orig.png", None)
    return out


@pytest.fixture(scope="module")
def report(edits: Path) -> DuplicateReport:
    return _run(edits)


def test_each_edit_is_named_for_what_was_done(report: DuplicateReport) -> None:
    found = _with_orig(report)
    kinds = {name: rel.kind for name, (_, rel) in found.items()}
    assert kinds == {
        "copy.png": "identical bytes",
        "recomp.jpg": "recompressed",
        "half.png": "resized",
        "grey.png": "greyscale",
        "mirror.png": "mirrored",
        "rot90.png": "rotated",
        "rot7.png": "rotated",
        "crop.png": "cropped",
        "framed.png": "framed",
        "caption.png": "edited",
    }
    assert abs(abs(found["rot90.png"][1].angle) - 90) <= 2
    assert abs(abs(found["rot7.png"][1].angle) - 7) <= 2
    crop = found["crop.png"][1]
    assert crop.holder == 1  # orig.png holds the crop
    assert abs(crop.kept - 0.75 * 0.75) <= 0.08  # 75% of each side kept
    framed = found["framed.png"][1]
    assert framed.holder == 2  # framed.png holds orig.png
    assert "2 is 1 in a frame" in framed.words()
    assert "裁剪" in crop.words("zh") and "图2保留图1" in crop.words("zh")


def test_the_calibrated_scale_puts_closer_copies_higher(report: DuplicateReport) -> None:
    sims = {name: p.similarity for name, (p, _) in _with_orig(report).items()}
    assert sims["copy.png"] == 1.0
    assert all(s < 1.0 for n, s in sims.items() if n != "copy.png")  # 100% = same bytes only
    assert sims["recomp.jpg"] > sims["half.png"] >= 0.95
    closer = ("copy.png", "recomp.jpg", "half.png")
    assert all(0.85 <= s < 0.95 for n, s in sims.items() if n not in closer)
    for name, (p, rel) in _with_orig(report).items():
        lo, hi = BANDS[rel.kind]
        assert lo <= p.similarity <= hi, name


def test_threshold_and_relations_choose_what_counts(edits: Path) -> None:
    strict = _run(edits, threshold=0.95)
    assert strict.pairs and {p.relation.kind for p in strict.pairs if p.relation} <= {
        "identical bytes",
        "recompressed",
        "resized",
    }
    mirrors = _run(edits, relations=("mirrored",))
    assert mirrors.pairs
    assert all(p.relation and p.relation.kind == "mirrored" for p in mirrors.pairs)
    grouped = {Path(m.path).name for g in mirrors.groups for m in g.members}
    assert "crop.png" not in grouped and "mirror.png" in grouped


def test_a_warm_run_names_every_pair_as_the_cold_run_did(edits: Path, tmp_path: Path) -> None:
    cache = str(tmp_path / "catalog.sqlite")
    cold = _run(edits, cache=cache)
    warm = _run(edits, cache=cache)
    assert [(p.a, p.b, p.relation, p.similarity) for p in warm.pairs] == [
        (p.a, p.b, p.relation, p.similarity) for p in cold.pairs
    ]


def test_members_read_their_relation_keeper_first(report: DuplicateReport) -> None:
    """A member's relation is that of the link that joined it to the keeper's picture (the
    keeper, or a copy that is the same picture), turned so the member is image 2."""
    checked = 0
    for g in report.groups:
        names = {m.path for m in g.members}
        for m in g.members[1:]:
            if m.relation is None or not m.relation.holder:
                continue
            seen_from_group = [
                p.relation if p.b == m.path else p.relation.swapped()
                for p in report.pairs
                if p.relation is not None
                and m.path in (p.a, p.b)
                and (p.a if p.b == m.path else p.b) in names
            ]
            assert m.relation in seen_from_group, m.path
            checked += 1
    assert checked


def test_geometry_seen_from_the_other_image() -> None:
    g = "angle=7.0;scale=0.5;mirror=0;keep_a=0.560;keep_b=1.000;edit=0"
    back = parse_geometry(flip_geometry(g))
    assert back["angle"] == -7.0 and back["scale"] == 2.0
    assert (back["keep_a"], back["keep_b"]) == (1.0, 0.56)
    assert flip_geometry(flip_geometry(g)) == g
    mirrored = "angle=30.0;scale=1;mirror=1;keep_a=1.000;keep_b=1.000;edit=0"
    assert parse_geometry(flip_geometry(mirrored))["angle"] == 30.0  # its own inverse's turn
    assert PairRelation("cropped", 1, 0.5).swapped() == PairRelation("cropped", 2, 0.5, -0.0)


def test_compare_names_the_relation_on_the_shared_scale(edits: Path) -> None:
    from lookalike.comparison import compare

    half = compare(edits / "orig.png", edits / "half.png")
    assert half.relation is not None and half.relation.kind == "resized"
    assert 0.95 <= half.calibrated < 1.0
    same = compare(edits / "orig.png", edits / "copy.png")
    assert same.relation == PairRelation("identical bytes") and same.calibrated == 1.0
    rotated = compare(edits / "orig.png", edits / "rot7.png")
    assert rotated.relation is not None and rotated.relation.kind == "rotated"
    other = compare(edits / "orig.png", SAMPLES / "Kite.jpg")
    assert other.verdict == "different" and other.relation is None and other.calibrated < 0.85
    d = half.to_dict()
    assert d["relation"]["kind"] == "resized" and d["calibrated"] == round(half.calibrated, 6)
