"""What to do with the copies a duplicate search found: move them aside, or delete them.

Nothing is deleted by default. ``--move-to DIR`` moves every member but the keeper into
DIR, keeping its path relative to the folder it was found under, and never overwrites
(a name already taken gets `` (1)``, `` (2)``... before its suffix). Members inside zip
archives are left alone (an archive is not rewritten) and say so.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from lookalike.dupes.records import DuplicateReport


@dataclass(frozen=True)
class Action:
    """One planned or done step: ``kind`` is "move", "delete" or "skip"."""

    kind: str
    path: str
    target: str | None = None
    reason: str = ""
    done: bool = False
    error: str | None = None

    def to_dict(self) -> dict[str, object]:
        return {
            "action": self.kind,
            "path": self.path,
            "target": self.target,
            "reason": self.reason,
            "done": self.done,
            "error": self.error,
        }


def copies(report: DuplicateReport) -> list[str]:
    """Every group member except the keepers, in report order, each once."""
    keepers = {g.keep for g in report.groups}
    out: dict[str, None] = {}
    for g in report.groups:
        for m in g.members:
            if m.path != g.keep and m.path not in keepers:
                out[m.path] = None
    return list(out)


def _relative(path: str, roots: list[str]) -> str:
    """``path`` relative to the deepest root that contains it, else its bare name."""
    best = None
    for root in roots:
        try:
            rel = os.path.relpath(path, root)
        except ValueError:
            continue
        if not rel.startswith(os.pardir) and (best is None or len(rel) < len(best)):
            best = rel
    return best if best is not None else os.path.basename(path)


def _free_name(target: Path) -> Path:
    if not target.exists():
        return target
    for k in range(1, 100_000):
        candidate = target.with_name(f"{target.stem} ({k}){target.suffix}")
        if not candidate.exists():
            return candidate
    raise FileExistsError(f"no free name for {target}")


def move_copies(
    report: DuplicateReport, dest: str | os.PathLike[str], roots: list[str], *, dry_run: bool
) -> list[Action]:
    """Move every non-keeper into ``dest`` (relative paths kept, never overwriting)."""
    dest_path = Path(dest).resolve()
    root_dirs = [
        os.path.abspath(r) if os.path.isdir(r) else os.path.dirname(os.path.abspath(r))
        for r in roots
    ]
    actions = []
    for p in copies(report):
        if "!/" in p and not os.path.exists(p):
            actions.append(Action("skip", p, reason="inside an archive: left in place"))
            continue
        target = _free_name(dest_path / _relative(p, root_dirs))
        if Path(p).resolve() == target:
            actions.append(Action("skip", p, reason="already in the destination"))
            continue
        if dry_run:
            actions.append(Action("move", p, str(target), "dry run"))
            continue
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(p, target)
            actions.append(Action("move", p, str(target), done=True))
        except OSError as exc:
            actions.append(Action("move", p, str(target), error=exc.strerror or str(exc)))
    return actions


def delete_copies(report: DuplicateReport, *, dry_run: bool) -> list[Action]:
    """Delete every non-keeper (the caller has asked for confirmation)."""
    actions = []
    for p in copies(report):
        if "!/" in p and not os.path.exists(p):
            actions.append(Action("skip", p, reason="inside an archive: left in place"))
            continue
        if dry_run:
            actions.append(Action("delete", p, reason="dry run"))
            continue
        try:
            os.remove(p)
            actions.append(Action("delete", p, done=True))
        except OSError as exc:
            actions.append(Action("delete", p, error=exc.strerror or str(exc)))
    return actions
