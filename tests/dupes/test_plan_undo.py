"""Plans, trash and undo: every file's checksum is the same before a run and after its undo,
also when the run was killed with SIGKILL in the middle."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lookalike.dupes.find import DupesOptions, find_duplicates
from lookalike.dupes.plan import Plan, apply_plan, plan_from_report, read_journal, undo

OPTIONS = DupesOptions(methods=("phash8",), jobs=1, cache="")


def _checksums(*folders: Path) -> dict[str, str]:
    return {
        str(p): hashlib.sha256(p.read_bytes()).hexdigest()
        for f in folders
        for p in sorted(f.rglob("*"))
        if p.is_file()
    }


@pytest.fixture
def folder(tmp_path: Path, sample_photos: list[Path], monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each sample photo with two byte copies in a sub-folder; the trash under tmp_path."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    root = tmp_path / "photos"
    (root / "copies").mkdir(parents=True)
    for k, photo in enumerate(sample_photos):
        shutil.copy(photo, root / f"{k}.jpg")
        shutil.copy(photo, root / "copies" / f"{k}-a.jpg")
        shutil.copy(photo, root / "copies" / f"{k}-b.jpg")
    return root


def test_plan_file_has_the_fixed_format_and_round_trips(folder: Path) -> None:
    report = find_duplicates([folder], OPTIONS)
    plan = plan_from_report(report, "move", dest=folder.parent / "dupes", roots=[folder])
    data = json.loads(plan.to_json())
    assert data["format"] == "lookalike-plan" and data["version"] == 1
    assert set(data) == {"format", "version", "created", "roots", "actions"}
    fields = {"action", "path", "digest", "keeper", "keeper_digest", "target", "group", "reason"}
    assert all(set(a) == fields for a in data["actions"])
    moves = [a for a in data["actions"] if a["action"] == "move"]
    assert len(moves) == 16 and all(os.path.isabs(a["target"]) for a in moves)
    assert all(a["digest"] == report.digests[a["path"]] for a in data["actions"])
    assert Plan.from_json(plan.to_json()) == plan


@pytest.mark.parametrize("action", ["move", "trash"])
def test_undo_puts_every_file_back(folder: Path, tmp_path: Path, action: str) -> None:
    trash = tmp_path / "xdg" / "Trash"
    before = _checksums(folder)
    report = find_duplicates([folder], OPTIONS)
    plan = plan_from_report(report, action, dest=tmp_path / "dupes", roots=[folder])
    journal = tmp_path / "run.jsonl"
    done = apply_plan(plan, journal)
    assert sum(a.done for a in done) == 16
    assert len(_checksums(folder)) == 8
    if action == "trash":
        assert len(list((trash / "files").iterdir())) == 16
        info = next((trash / "info").iterdir()).read_text()
        assert info.startswith("[Trash Info]\nPath=/") and "DeletionDate=" in info
    restored = undo(journal)
    assert sum(a.done for a in restored) == 16
    assert _checksums(folder) == before
    if action == "trash":
        assert not list((trash / "files").iterdir()) and not list((trash / "info").iterdir())
    assert not any(a.done for a in undo(journal))  # a second undo changes nothing
    assert _checksums(folder) == before


def test_changed_copy_is_skipped_and_delete_cannot_be_undone(folder: Path, tmp_path: Path) -> None:
    report = find_duplicates([folder], OPTIONS)
    plan = plan_from_report(report, "delete")
    victim = next(a.path for a in plan.actions if a.action == "delete")
    Path(victim).write_bytes(b"changed")
    done = apply_plan(plan, tmp_path / "j.jsonl")
    assert [a.kind for a in done].count("skip") == 1 and Path(victim).exists()
    back = undo(tmp_path / "j.jsonl")
    assert all(a.error and "cannot come back" in a.error for a in back)


SLOW_APPLY = """
import os, shutil, sys, time
import lookalike.dupes.plan as plan
real = shutil.move
def slow(src, dst, *a, **k):
    time.sleep(0.02)
    out = real(src, dst, *a, **k)
    time.sleep(0.02)
    return out
plan.shutil.move = slow
real_rename = os.rename
def slow_rename(a, b):
    time.sleep(0.02)
    real_rename(a, b)
    time.sleep(0.02)
plan.os.rename = slow_rename
import lookalike.dupes.trash as trash
trash.os.rename = slow_rename
plan.apply_plan(plan.Plan.read(sys.argv[1]), sys.argv[2])
"""


@pytest.mark.parametrize("action", ["move", "trash"])
def test_sigkill_mid_apply_then_undo_restores_every_checksum(
    folder: Path, tmp_path: Path, action: str
) -> None:
    before = _checksums(folder)
    report = find_duplicates([folder], OPTIONS)
    plan_file = tmp_path / "plan.json"
    plan_from_report(report, action, dest=tmp_path / "dupes", roots=[folder]).write(plan_file)
    journal = tmp_path / "kill.jsonl"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.Popen(
        [sys.executable, "-c", SLOW_APPLY, str(plan_file), str(journal)], env=env
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # kill once a few steps have begun
        if journal.exists() and journal.read_text().count('"begin"') >= 5:
            break
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    steps = read_journal(journal)
    assert 5 <= len(steps) < 16, "the kill should land mid-run"
    assert len(_checksums(folder)) < 24  # some files had gone
    undo(journal)
    assert _checksums(folder) == before
    leftovers = tmp_path / ("dupes" if action == "move" else "xdg/Trash/files")
    assert not leftovers.exists() or not any(p.is_file() for p in leftovers.rglob("*"))


def test_a_plan_never_acts_on_a_file_it_keeps_elsewhere_or_twice(tmp_path: Path) -> None:
    """A hand-edited plan: group 2's keeper is a copy in group 1, and one copy is listed
    twice. The keeper stays, the double line is skipped, nothing else is touched."""
    from lookalike.dupes.actions import file_digest
    from lookalike.dupes.plan import Plan, PlanAction, apply_plan

    a, b, c = (tmp_path / n for n in ("a.jpg", "b.jpg", "c.jpg"))
    for f in (a, b, c):
        f.write_bytes(b"same picture")
    d = file_digest(str(a))
    plan = Plan(
        [
            PlanAction("delete", str(b), d, str(a), d, group=1),
            PlanAction("delete", str(c), d, str(b), d, group=2),
            PlanAction("delete", str(c), d, str(a), d, group=3),
        ]
    )
    results = apply_plan(plan, tmp_path / "journal.jsonl")
    assert [r.kind for r in results] == ["skip", "delete", "skip"]
    assert "keeper" in results[0].reason and "earlier in this plan" in results[2].reason
    assert a.exists() and b.exists() and not c.exists()
