"""Never lose a picture: every way the attack round lost one, replayed on real photos.

Each case scans real sample photos, changes the folder the way a user (or another program)
might between the scan and the action, then moves or deletes, and checks that every
picture that had no other copy is still on disk, byte for byte.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from lookalike.dupes.actions import Action, check_destination
from lookalike.dupes.find import DupesOptions, find_duplicates
from lookalike.dupes.plan import apply_plan, plan_from_report
from lookalike.dupes.records import DuplicateReport
from lookalike.errors import LookalikeError

OPTIONS = DupesOptions(methods=("phash8",), jobs=1)


def delete_copies(report: DuplicateReport, journal: Path) -> list[Action]:
    """What `lookalike dupes --delete --yes` does after the scan: plan, then apply."""
    return apply_plan(plan_from_report(report, "delete"), journal)


def move_copies(
    report: DuplicateReport, dest: Path, roots: list[Path], journal: Path
) -> list[Action]:
    """What `lookalike dupes --move-to DEST` does after the scan: plan, then apply."""
    return apply_plan(plan_from_report(report, "move", dest=dest, roots=roots), journal)


def _digests(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.fixture
def folder(tmp_path: Path, sample_photos: list[Path]) -> Path:
    """Three pictures, each with a byte copy: a.jpg ~ a-copy.jpg, and so on."""
    root = tmp_path / "photos"
    root.mkdir()
    for k, photo in enumerate(sample_photos[:3]):
        shutil.copy(photo, root / f"{k}.jpg")
        shutil.copy(photo, root / f"{k}-copy.jpg")
    return root


def _cache(tmp_path: Path) -> DupesOptions:
    return DupesOptions(methods=("phash8",), jobs=1, cache=str(tmp_path / "cache.sqlite"))


def test_copies_of_a_keeper_removed_after_the_scan_are_kept(folder: Path, tmp_path: Path) -> None:
    report = find_duplicates([folder], OPTIONS)
    assert len(report.groups) == 3
    for g in report.groups:  # another program deletes every keeper meanwhile
        os.remove(g.keep)
    actions = delete_copies(report, tmp_path / "journal.jsonl")
    assert not any(a.done for a in actions)
    assert all(a.kind == "skip" and "keeper" in a.reason for a in actions)
    assert len(list(folder.iterdir())) == 3  # the last copy of each picture is still there


def test_copies_of_a_keeper_moved_away_are_not_moved(folder: Path, tmp_path: Path) -> None:
    report = find_duplicates([folder], OPTIONS)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    for g in report.groups:
        shutil.move(g.keep, elsewhere)
    actions = move_copies(report, tmp_path / "dupes", [folder], tmp_path / "journal.jsonl")
    assert not any(a.done for a in actions)
    assert len(list(folder.iterdir())) == 3


def test_a_keeper_rewritten_with_another_picture_protects_its_copies(
    folder: Path, tmp_path: Path
) -> None:
    report = find_duplicates([folder], OPTIONS)
    keeper = Path(report.groups[0].keep)
    other = Path(report.groups[1].keep)
    keeper.write_bytes(other.read_bytes())
    actions = delete_copies(report, tmp_path / "journal.jsonl")
    kept = [a for a in actions if "changed since the scan" in a.reason]
    assert kept and not kept[0].done


def test_a_copy_overwritten_with_size_and_mtime_kept_is_not_called_identical(
    folder: Path, tmp_path: Path, sample_photos: list[Path]
) -> None:
    options = _cache(tmp_path)
    find_duplicates([folder], options)  # the cache now knows every file
    victim = folder / "0-copy.jpg"
    st = victim.stat()
    unique = sample_photos[5].read_bytes()
    # Another picture, cut or padded to the same size (JPEG ignores bytes after its end).
    data = (unique + b"\0" * st.st_size)[: st.st_size]
    victim.write_bytes(data)
    os.utime(victim, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert (victim.stat().st_size, victim.stat().st_mtime_ns) == (st.st_size, st.st_mtime_ns)
    report = find_duplicates([folder], options)
    pairs = {(Path(p.a).name, Path(p.b).name): p.method for p in report.pairs}
    assert pairs.get(("0.jpg", "0-copy.jpg")) != "bytes"
    before = victim.read_bytes()
    delete_copies(report, tmp_path / "journal.jsonl")
    assert victim.exists() and victim.read_bytes() == before


def test_a_folder_named_like_an_archive_member_is_not_confused_with_it(
    tmp_path: Path, sample_photos: list[Path]
) -> None:
    root = tmp_path / "mixed"
    root.mkdir()
    shutil.copy(sample_photos[0], root / "keep.jpg")
    with zipfile.ZipFile(root / "x.zip", "w") as zf:
        zf.write(sample_photos[0], "photo.jpg")  # a copy of keep.jpg, inside the archive
    (root / "x.zip!").mkdir()
    shutil.copy(sample_photos[4], root / "x.zip!" / "photo.jpg")  # unique, real
    before = _digests(root)
    report = find_duplicates([root], OPTIONS)
    paths = {m.path for g in report.groups for m in g.members}
    assert str(root / "x.zip!" / "photo.jpg") not in paths
    delete_copies(report, tmp_path / "journal.jsonl")
    assert _digests(root) == before  # the member is never deleted, the real file unique


def test_move_to_the_scanned_folder_is_refused_before_any_work(folder: Path) -> None:
    for dest in (folder, folder.parent):
        with pytest.raises(LookalikeError, match="scanned folder"):
            check_destination(dest, [folder])
    check_destination(folder / "dupes", [folder])  # inside is allowed
    before = _digests(folder)
    run = subprocess.run(
        [sys.executable, "-m", "lookalike", "dupes", str(folder), "--move-to", str(folder)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 2, run.stderr
    assert "scanned folder" in run.stderr and "Traceback" not in run.stderr
    assert _digests(folder) == before


def test_delete_removes_only_verified_copies(folder: Path, tmp_path: Path) -> None:
    before = _digests(folder)
    report = find_duplicates([folder], OPTIONS)
    actions = delete_copies(report, tmp_path / "journal.jsonl")
    assert sum(a.done for a in actions) == 3
    after = _digests(folder)
    assert set(after.values()) == set(before.values())  # every picture still has one copy


def test_a_picture_pasted_into_another_is_not_deleted_as_a_copy(
    sample_photos: list[Path], tmp_path: Path
) -> None:
    """One sample photo pasted at 60% into another: the group keeps the photo, and the
    collage -- which holds the photo and the rest of the other picture -- is neither
    counted removable nor deleted; a plain resized copy still is."""
    from PIL import Image

    from lookalike.reports.export import report_totals

    src, host = (Image.open(p).convert("RGB") for p in sample_photos[1:3])
    src.save(tmp_path / "photo.jpg", quality=95)
    collage = host.copy()
    collage.paste(src.resize((src.width * 3 // 5, src.height * 3 // 5)), (20, 20))
    collage.save(tmp_path / "collage.jpg", quality=95)
    src.resize((src.width // 2, src.height // 2)).save(tmp_path / "small.jpg", quality=90)
    report = find_duplicates([tmp_path], DupesOptions(cache=""))
    (group,) = report.groups
    assert group.keep == str(tmp_path / "photo.jpg")
    collage_member = next(m for m in group.members if m.path.endswith("collage.jpg"))
    assert collage_member.holds_more
    assert report_totals(report)["copies"] == 1
    plan = plan_from_report(report, "delete")
    actions = {Path(a.path).name: a.action for a in plan.actions}
    assert actions == {"photo.jpg": "keep", "collage.jpg": "keep", "small.jpg": "delete"}
    apply_plan(plan, tmp_path.parent / f"{tmp_path.name}-journal.jsonl")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["collage.jpg", "photo.jpg"]
