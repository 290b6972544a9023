"""The keeper is the original: on real sample photos, each processed copy loses to it."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageOps

from lookalike.dupes.facts import filled_corners
from lookalike.dupes.find import DupesOptions, find_duplicates, holders_of_smaller
from lookalike.evaluate.attacks import ATTACKS
from lookalike.match.grouping import FileFacts, KeeperRule, picture_classes, same_picture_pairs
from lookalike.match.relation import PairRelation

OPTIONS = DupesOptions(jobs=1, cache="")


def _grey(im: Image.Image, out: Path) -> Path:
    im.convert("L").save(out / "grey.jpg")
    return out / "grey.jpg"


def _mirror(im: Image.Image, out: Path) -> Path:
    ImageOps.mirror(im).save(out / "mirror.jpg")
    return out / "mirror.jpg"


def _rot90_png(im: Image.Image, out: Path) -> Path:
    im.rotate(90, expand=True).save(out / "rot90.png")
    return out / "rot90.png"


def _upscaled(im: Image.Image, out: Path) -> Path:
    im.resize((im.width * 2, im.height * 2), Image.Resampling.BICUBIC).save(
        out / "up2.jpg", quality=95
    )
    return out / "up2.jpg"


def _cropped(im: Image.Image, out: Path) -> Path:
    w, h = im.size
    im.crop((w // 8, h // 8, 7 * w // 8, 7 * h // 8)).save(out / "crop.jpg", quality=95)
    return out / "crop.jpg"


def _screenshot(im: Image.Image, out: Path) -> Path:
    """The photo shrunk into a window on a desktop of the photo's own size."""
    ATTACKS["screenshot"](im, "mild", seed=1).save(out / "screenshot.png")
    return out / "screenshot.png"


def _pasted(im: Image.Image, out: Path) -> Path:
    """The photo shrunk to 80% and pasted into another picture of its size."""
    ATTACKS["paste"](im, "mild", seed=1).save(out / "pasted.jpg", quality=95)
    return out / "pasted.jpg"


MAKERS: dict[str, Callable[[Image.Image, Path], Path]] = {
    "greyscale": _grey,
    "mirrored": _mirror,
    "rot90 PNG conversion": _rot90_png,
    "upscaled": _upscaled,
    "cropped": _cropped,
    "screenshot": _screenshot,
    "pasted into another picture": _pasted,
}


@pytest.mark.parametrize("variant", list(MAKERS))
def test_original_is_kept_over_each_processed_copy(
    variant: str, sample_photos: list[Path], tmp_path: Path
) -> None:
    wrong = []
    for photo in sample_photos:
        folder = tmp_path / photo.stem
        folder.mkdir()
        original = folder / photo.name
        shutil.copy(photo, original)
        MAKERS[variant](Image.open(photo).convert("RGB"), folder)
        report = find_duplicates([folder], OPTIONS)
        assert len(report.groups) == 1, f"{photo.name}: the {variant} copy was not found"
        if report.groups[0].keep != str(original):
            wrong.append((photo.name, report.groups[0].keep, report.groups[0].reason))
    assert not wrong


def test_original_is_kept_among_all_copies_at_once(
    sample_photos: list[Path], tmp_path: Path
) -> None:
    photo = sample_photos[1]
    shutil.copy(photo, tmp_path / photo.name)
    im = Image.open(photo).convert("RGB")
    for make in MAKERS.values():
        make(im, tmp_path)
    report = find_duplicates([tmp_path], OPTIONS)
    assert len(report.groups) == 1 and len(report.groups[0].members) == len(MAKERS) + 1
    assert report.groups[0].keep == str(tmp_path / photo.name)


def test_a_black_and_white_photo_is_kept_over_its_copies_in_a_coloured_frame(
    sample_photos: list[Path], tmp_path: Path
) -> None:
    """A colour screenshot or page around a grey picture does not make the grey picture a
    conversion: "colour over greyscale" counts only against a copy whose colour is its own."""
    wrong = []
    for photo in sample_photos:
        folder = tmp_path / f"黑白-{photo.stem}"
        folder.mkdir()
        grey = Image.open(photo).convert("L")
        original = folder / "黑白.jpg"
        grey.save(original, quality=95)
        _screenshot(grey.convert("RGB"), folder)
        _pasted(grey.convert("RGB"), folder)
        report = find_duplicates([folder], OPTIONS)
        assert len(report.groups) == 1, f"{photo.name}: the framed copies were not found"
        assert len(report.groups[0].members) == 3, photo.name
        if report.groups[0].keep != str(original):
            wrong.append((photo.name, report.groups[0].keep, report.groups[0].reason))
    assert not wrong


def test_largest_rule_keeps_the_upscaled_copy_and_keep_in_wins(
    sample_photos: list[Path], tmp_path: Path
) -> None:
    photos = tmp_path / "photos"
    ref = tmp_path / "reference"
    photos.mkdir()
    ref.mkdir()
    im = Image.open(sample_photos[0]).convert("RGB")
    up = _upscaled(im, photos)
    small = ref / "small.jpg"
    im.resize((im.width // 2, im.height // 2)).save(small)
    shutil.copy(sample_photos[0], photos / "orig.jpg")
    largest = DupesOptions(jobs=1, cache="", keep=KeeperRule.parse("largest"))
    assert find_duplicates([tmp_path], largest).groups[0].keep == str(up)
    pinned = DupesOptions(
        jobs=1, cache="", keep=KeeperRule.parse("original", reference=(str(ref),))
    )
    group = find_duplicates([tmp_path], pinned).groups[0]
    assert group.keep == str(small) and group.reason_key == "reference"
    by_glob = DupesOptions(jobs=1, cache="", keep=KeeperRule.parse("path:*/orig.jpg"))
    assert find_duplicates([tmp_path], by_glob).groups[0].keep == str(photos / "orig.jpg")


def test_unknown_keeper_rule_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown keeper rule"):
        KeeperRule.parse("biggest")


def test_a_copy_turned_by_a_few_degrees_has_filled_corners(sample_photos: list[Path]) -> None:
    for photo in sample_photos:
        im = Image.open(photo).convert("L")
        tilted = im.rotate(8, resample=Image.Resampling.BICUBIC, fillcolor=255)
        assert filled_corners(np.asarray(tilted)), photo.name
        assert not filled_corners(np.asarray(im)), photo.name
        expanded = im.rotate(3, resample=Image.Resampling.BICUBIC, expand=True)  # black
        assert filled_corners(np.asarray(expanded)), photo.name
        framed = ImageOps.expand(im, border=im.width // 30, fill=200)
        assert filled_corners(np.asarray(framed)), photo.name


def _vignette(im: Image.Image, power: float) -> Image.Image:
    """Corners darkened to black, fading smoothly into the picture (a lens or a design)."""
    a = np.asarray(im.convert("RGB"), np.float32)
    h, w = a.shape[:2]
    y, x = np.mgrid[:h, :w]
    r = np.hypot((x - w / 2) / (w / 2), (y - h / 2) / (h / 2)) / np.sqrt(2)
    fade = np.clip(1 - r**2, 0, 1) ** power
    return Image.fromarray((a * fade[..., None]).astype(np.uint8))


@pytest.mark.parametrize("power", [2, 3, 4])
def test_dark_corners_that_fade_into_the_picture_are_not_a_canvas(
    power: float, sample_photos: list[Path]
) -> None:
    """Flat black corners of one colour, as a canvas has, but reached by a fade: the
    picture's own. (The old test of four flat corners took 22 of these 24.)"""
    for photo in sample_photos:
        dark = _vignette(Image.open(photo), power)
        assert not filled_corners(np.asarray(dark.convert("L"))), photo.name


def test_an_original_with_dark_corners_is_kept_over_its_crop(
    sample_photos: list[Path], tmp_path: Path
) -> None:
    wrong = []
    for photo in sample_photos:
        folder = tmp_path / f"暗角-{photo.stem}"
        folder.mkdir()
        original = folder / photo.name
        dark = _vignette(Image.open(photo), 2)
        dark.save(original, quality=95)
        _cropped(dark, folder)
        report = find_duplicates([folder], OPTIONS)
        assert len(report.groups) == 1, f"{photo.name}: the crop was not found"
        if report.groups[0].keep != str(original):
            wrong.append((photo.name, report.groups[0].reason))
    assert not wrong


def test_the_original_is_kept_over_its_crop_mirror_and_turned_conversion(
    sample_photos: list[Path], tmp_path: Path
) -> None:
    """make demo's Autumn group: the mirror and the rot90 PNG each "need a turn" against
    the original, so a vote on turns alone picked the 50 % crop; resolution comes first."""
    from PIL import Image, ImageOps

    from lookalike.dupes.find import DupesOptions, find_duplicates

    for photo in sample_photos[:3]:
        folder = tmp_path / photo.stem
        folder.mkdir()
        im = Image.open(photo).convert("RGB")
        im.save(folder / "original.jpg", quality=92)
        ImageOps.mirror(im).save(folder / "mirror.jpg", quality=92)
        im.transpose(Image.Transpose.ROTATE_90).save(folder / "rot90.png")
        w, h = im.size
        im.crop((w // 4, h // 4, w * 3 // 4, h * 3 // 4)).save(folder / "crop50.jpg", quality=92)
        report = find_duplicates([folder], DupesOptions(jobs=1, cache=""))
        keepers = {Path(g.keep).name for g in report.groups}
        assert "crop50.jpg" not in keepers and "rot90.png" not in keepers, (photo.name, keepers)


def test_the_upscaled_measure_is_stored_by_digest_pair(
    sample_photos: list[Path], tmp_path: Path
) -> None:
    """A warm run reads "upscaled" from the verdict cache instead of decoding the pair."""
    from lookalike.dupes.facts import FACTS_VERSION
    from lookalike.store.catalog import file_digest
    from lookalike.store.verdicts import VerdictCache

    photos = tmp_path / "photos"
    photos.mkdir()
    im = Image.open(sample_photos[0]).convert("RGB")
    up = _upscaled(im, photos)
    shutil.copy(sample_photos[0], photos / "orig.jpg")
    cache = tmp_path / "catalog.sqlite"
    options = DupesOptions(jobs=1, cache=str(cache))
    first = find_duplicates([photos], options).groups[0]
    assert first.keep == str(photos / "orig.jpg")
    big, small = (file_digest(p).hex() for p in (up, photos / "orig.jpg"))
    with VerdictCache(cache) as verdicts:
        stored = verdicts.facts([big], f"upscaled{FACTS_VERSION}")
    assert stored == {big: {small: True}}
    assert find_duplicates([photos], options).groups[0].keep == first.keep


def test_only_a_holder_whose_scale_explains_its_share_shows_a_copy_shrunk() -> None:
    """Sizes and relations as measured on the held-out moonlight design: a paste at 80%
    on a canvas of the source's size holds it shrunk; a native crop whose keypoints fit a
    wrong scale (0.55 for a crop covering 20% of the source) does not demote the source;
    nor does a crop enlarged back to full size (it is the upscaled one)."""
    import numpy as np

    from lookalike.dupes.find import holders_of_smaller
    from lookalike.match.grouping import FileFacts
    from lookalike.match.relation import PairRelation

    source, paste = FileFacts(1024, 576), FileFacts(1024, 576)
    crop, enlarged = FileFacts(461, 259), FileFacts(1024, 576, upscaled=True)
    facts = [source, paste, crop, enlarged]
    i, j = np.array([0, 0, 0]), np.array([1, 2, 3])
    relations = [
        PairRelation("cropped", holder=2, kept=0.64, scale=0.8),  # the paste holds the source
        PairRelation("cropped", holder=1, kept=0.202, scale=0.55),  # 0.06 of it at 0.55
        PairRelation("cropped", holder=1, kept=0.64, scale=0.8),  # holds the enlarged crop
    ]
    assert holders_of_smaller(i, j, relations, facts) == {1}


def test_a_scale_the_other_copies_of_a_picture_contradict_does_not_demote_it() -> None:
    """Sizes and scales as measured on the held-out `joy` design (few corners): the source
    holds its 70% crop at 0.88 by one pair, its JPEG re-encodes hold the same crop at 1.0
    and 0.99. Read alone the 0.88 demotes the source (its re-encode became the keeper);
    read with the picture's other copies it does not. A screenshot whose copies all read
    it shrunk stays demoted."""
    source, jpeg1, jpeg2 = FileFacts(1024, 576), FileFacts(1024, 576), FileFacts(1024, 576)
    crop, screenshot = FileFacts(717, 403), FileFacts(1024, 576)
    facts = [source, jpeg1, jpeg2, crop, screenshot]
    i, j = np.array([0, 1, 2, 0, 1, 2, 0, 1]), np.array([1, 2, 0, 3, 3, 3, 4, 4])
    relations = [
        PairRelation("recompressed"),
        PairRelation("recompressed"),
        PairRelation("recompressed"),
        PairRelation("cropped", holder=1, kept=0.385, scale=0.88),
        PairRelation("cropped", holder=1, kept=0.49, scale=1.0),
        PairRelation("cropped", holder=1, kept=0.48, scale=0.99),
        PairRelation("framed", holder=2, kept=0.56, scale=0.75),
        PairRelation("framed", holder=2, kept=0.57, scale=0.76),
    ]
    similarity = np.array([0.999, 0.999, 0.999, 0.9, 0.9, 0.9, 0.9, 0.9])
    classes = picture_classes(5, i, j, same_picture_pairs(similarity, None, relations))
    assert classes[0] == classes[1] == classes[2] != classes[3]
    assert holders_of_smaller(i, j, relations, facts) == {0, 4}  # the one pair alone
    assert holders_of_smaller(i, j, relations, facts, classes) == {4}


def test_a_copy_stretched_to_another_aspect_loses_to_the_original(
    sample_photos: list[Path], tmp_path: Path
) -> None:
    """A photo, a re-encode, a half-size copy and a copy stretched by 1.7 along one axis:
    the stretched copy has the most pixels, but the picture's other copies keep the
    photo's aspect, so the photo is kept. (Two files alone stay a tie: resolution.)"""
    wrong = []
    for photo in sample_photos:
        folder = tmp_path / f"拉伸-{photo.stem}"
        folder.mkdir()
        original = folder / photo.name
        shutil.copy(photo, original)
        im = Image.open(photo).convert("RGB")
        im.save(folder / "q80.jpg", quality=80)
        im.resize((im.width // 2, im.height // 2)).save(folder / "half.jpg", quality=90)
        im.resize((round(im.width * 1.7), im.height)).save(folder / "stretched.jpg", quality=90)
        report = find_duplicates([folder], OPTIONS)
        assert len(report.groups) == 1 and len(report.groups[0].members) == 4, photo.name
        if report.groups[0].keep != str(original):
            wrong.append((photo.name, report.groups[0].keep, report.groups[0].reason))
    assert not wrong
