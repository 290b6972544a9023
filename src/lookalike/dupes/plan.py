"""Plans: what a clean-up would do, written down first, run later, journalled, undoable.

``lookalike dupes PATH --plan PLAN.json`` writes a plan; people (or the review page) read
and edit it; ``lookalike apply PLAN.json`` runs it; ``lookalike undo JOURNAL`` takes it back.

**The plan file** (fixed; the review page writes and reads it), UTF-8 JSON::

    {"format": "lookalike-plan", "version": 1, "created": "2026-03-01T12:30:05+00:00",
     "roots": ["/home/me/photos"],
     "actions": [{"action": "move" | "trash" | "delete" | "keep",
                  "path": "/abs/copy.jpg", "digest": "<hex BLAKE2b-128 of its bytes>",
                  "keeper": "/abs/keeper.jpg" | null, "keeper_digest": "<hex>" | null,
                  "target": "/abs/destination.jpg" (move) | null,
                  "group": 1, "reason": "text"}]}

**Applying** re-checks every step as :mod:`lookalike.dupes.actions` does (the keeper is
there with its digest, the copy still holds the bytes that were compared, the copy is not
the keeper under another name); a step that fails a check is skipped with the reason.

**The journal** (JSON lines) is written and fsynced *before* each step ("begin", with
everything needed to take it back: the target, the trash info file) and after it ("done",
"failed" or "skip"). A run killed at any instant (``kill -9``, a power cut after the
fsync) leaves a journal from which :func:`undo` restores every file: a step that began is
judged by what is on disk (the copy still in place, or at its target), so an interrupted
step is undone too. Undo is idempotent; deleted files cannot come back and undo says so.
"""

from __future__ import annotations

import datetime as _dt
import fnmatch
import json
import os
import shutil
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from lookalike.dupes.actions import (
    Action,
    Checker,
    file_digest,
    free_name,
    relative_to_roots,
    scan_roots,
)
from lookalike.dupes.records import DuplicateReport
from lookalike.dupes.trash import Trashed, reserve, restore, trash_file
from lookalike.errors import LookalikeError
from lookalike.sources.folders import MEMBER_SEP

__all__ = [
    "ACTIONS",
    "FORMAT",
    "Plan",
    "PlanAction",
    "apply_plan",
    "in_folders",
    "plan_from_report",
    "undo",
]

FORMAT = "lookalike-plan"
VERSION = 1
JOURNAL_FORMAT = "lookalike-journal"
#: What a plan can do with a file.
ACTIONS = ("move", "trash", "delete", "keep")


@dataclass(frozen=True)
class PlanAction:
    """One line of a plan (the fields of the file format, in its order)."""

    action: str
    path: str
    digest: str | None
    keeper: str | None = None
    keeper_digest: str | None = None
    target: str | None = None
    group: int = 0
    reason: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Plan:
    """What a clean-up will do: one :class:`PlanAction` per file of every group."""

    actions: list[PlanAction] = field(default_factory=list)
    roots: list[str] = field(default_factory=list)
    created: str = field(
        default_factory=lambda: _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")
    )

    def to_json(self) -> str:
        """The plan file's text (UTF-8 JSON, see the module docstring)."""
        data = {
            "format": FORMAT,
            "version": VERSION,
            "created": self.created,
            "roots": self.roots,
            "actions": [a.to_dict() for a in self.actions],
        }
        return json.dumps(data, ensure_ascii=False, indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str, source: str | None = None) -> Plan:
        """Read a plan file's text; LookalikeError naming what is wrong (and ``source``)."""
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise LookalikeError(source, f"not a plan: invalid JSON ({exc})") from None
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise LookalikeError(source, f'not a plan: "format" must be "{FORMAT}"')
        if data.get("version") != VERSION:
            raise LookalikeError(
                source, f"plan version {data.get('version')!r}: this lookalike reads {VERSION}"
            )
        actions = data.get("actions")
        if not isinstance(actions, list):
            raise LookalikeError(source, 'not a plan: "actions" must be a list')
        out = []
        for k, a in enumerate(actions, 1):
            out.append(_parse_action(a, k, source))
        roots = data.get("roots") or []
        if not isinstance(roots, list) or not all(isinstance(r, str) for r in roots):
            raise LookalikeError(source, 'not a plan: "roots" must be a list of paths')
        return cls(out, list(roots), str(data.get("created") or ""))

    @classmethod
    def read(cls, path: str | os.PathLike[str]) -> Plan:
        """Read a plan file."""
        with open(path, encoding="utf-8") as fh:
            return cls.from_json(fh.read(), os.fspath(path))

    def write(self, path: str | os.PathLike[str]) -> None:
        """Write the plan file atomically."""
        from lookalike.store.atomic import atomic_write

        with atomic_write(path, "w", encoding="utf-8") as fh:
            fh.write(self.to_json())


def _parse_action(a: Any, k: int, source: str | None) -> PlanAction:
    def bad(why: str) -> LookalikeError:
        return LookalikeError(source, f"action {k}: {why}")

    if not isinstance(a, dict):
        raise bad("must be an object")
    kind = a.get("action")
    if kind not in ACTIONS:
        raise bad(f"unknown action {kind!r}: use one of {', '.join(ACTIONS)}")
    path = a.get("path")
    if not isinstance(path, str) or not os.path.isabs(path):
        raise bad('"path" must be an absolute path')
    for name in ("digest", "keeper", "keeper_digest", "target"):
        if a.get(name) is not None and not isinstance(a.get(name), str):
            raise bad(f'"{name}" must be a string or null')
    if kind == "move" and not (isinstance(a.get("target"), str) and os.path.isabs(a["target"])):
        raise bad('a "move" needs an absolute "target"')
    if kind in ("move", "trash", "delete") and not (a.get("digest") and a.get("keeper")):
        raise bad(f'a "{kind}" needs "digest" and "keeper" (nothing is removed unchecked)')
    group = a.get("group", 0)
    if not isinstance(group, int) or isinstance(group, bool):
        raise bad('"group" must be a whole number')
    return PlanAction(
        kind,
        path,
        a.get("digest"),
        a.get("keeper"),
        a.get("keeper_digest"),
        a.get("target") if kind == "move" else None,
        group,
        str(a.get("reason") or ""),
    )


def in_folders(path: str, folders: Iterable[str | os.PathLike[str]]) -> bool:
    """Whether ``path`` lies in one of ``folders`` (or matches one as a glob)."""
    real = os.path.realpath(path.split(MEMBER_SEP, 1)[0])
    for f in folders:
        folder = os.path.realpath(os.fspath(f))
        if real == folder or real.startswith(folder.rstrip(os.sep) + os.sep):
            return True
        if fnmatch.fnmatchcase(path, os.fspath(f)):
            return True
    return False


def plan_from_report(
    report: DuplicateReport,
    action: str,
    *,
    dest: str | os.PathLike[str] | None = None,
    keep_in: Sequence[str | os.PathLike[str]] = (),
    roots: Sequence[str | os.PathLike[str]] = (),
) -> Plan:
    """The plan that applies ``action`` ("move", "trash" or "delete") to every copy.

    Keepers, archive members and files in the ``keep_in`` reference folders get "keep".
    ``dest`` (required for "move") receives the copies under their paths relative to the
    scanned ``roots`` (default: the folders of the report's keepers).
    """
    if action not in ("move", "trash", "delete"):
        raise ValueError(f"unknown action {action!r}: use move, trash or delete")
    if action == "move" and dest is None:
        raise ValueError('a "move" plan needs dest')
    root_dirs = scan_roots(roots) if roots else []
    dest_path = Path(dest).resolve() if dest is not None else None
    digests = report.digests
    taken: set[str] = set()
    seen: set[str] = set()
    keepers = {g.keep for g in report.groups}
    out: list[PlanAction] = []
    for n, g in enumerate(report.groups, 1):
        kd = digests.get(g.keep) or file_digest(g.keep)
        if g.keep not in seen:
            seen.add(g.keep)
            out.append(PlanAction("keep", g.keep, kd, None, None, None, n, g.reason))
        for m in g.members:
            p = m.path
            if p in seen or p in keepers:
                continue
            seen.add(p)
            d = digests.get(p)

            if MEMBER_SEP in p:
                out.append(_keep(p, d, g.keep, kd, n, "inside an archive: left in place"))
            elif keep_in and in_folders(p, keep_in):
                out.append(
                    _keep(p, d, g.keep, kd, n, "in a reference folder (--keep-in): never touched")
                )
            elif d is None or kd is None:
                out.append(_keep(p, d, g.keep, kd, n, "its content was never recorded: kept"))
            elif m.holds_more:
                out.append(
                    _keep(
                        p,
                        d,
                        g.keep,
                        kd,
                        n,
                        "it shows its keeper and more (a screenshot, a paste into another "
                        "picture, the uncropped picture): kept",
                    )
                )
            elif dest_path is not None and Path(p).resolve().is_relative_to(dest_path):
                out.append(_keep(p, d, g.keep, kd, n, "already in the destination folder"))
            else:
                target = None
                if action == "move":
                    assert dest_path is not None
                    rel = relative_to_roots(p, root_dirs) if root_dirs else os.path.basename(p)
                    t = free_name(dest_path / rel)
                    while str(t) in taken:
                        t = t.with_name(f"{t.stem} (1){t.suffix}")
                        t = free_name(t)
                    taken.add(str(t))
                    target = str(t)
                why = f"a copy of group {n}'s keeper ({m.method}, {m.similarity:.1%})"
                out.append(PlanAction(action, p, d, g.keep, kd, target, n, why))
    return Plan(out, [os.path.abspath(os.fspath(r)) for r in roots])


def _keep(
    path: str, digest: str | None, keeper: str, keeper_digest: str | None, group: int, why: str
) -> PlanAction:
    return PlanAction("keep", path, digest, keeper, keeper_digest, None, group, why)


class Journal:
    """An append-only JSON-lines file; every line is fsynced before the call returns."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = os.fspath(path)
        os.makedirs(os.path.dirname(os.path.abspath(self.path)), exist_ok=True)
        new = not os.path.exists(self.path)
        self._fh = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 (closed in close)
        if new:
            _fsync_dir(os.path.dirname(os.path.abspath(self.path)))

    def write(self, record: dict[str, Any]) -> None:
        self._fh.write(json.dumps(record, ensure_ascii=False) + "\n")
        self._fh.flush()
        os.fsync(self._fh.fileno())

    def close(self) -> None:
        self._fh.close()

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _fsync_dir(path: str) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _now() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")


def apply_plan(
    plan: Plan, journal_path: str | os.PathLike[str], *, dry_run: bool = False
) -> list[Action]:
    """Run ``plan`` step by step, each after its re-checks, journalled in ``journal_path``.

    Returns one :class:`~lookalike.dupes.actions.Action` per move / trash / delete line
    (``done``, ``skip`` with the reason, or ``error``). ``dry_run`` checks, writes no
    journal and changes nothing.
    """
    digests: dict[str, str] = {}
    for a in plan.actions:
        if a.action == "keep":
            continue
        if a.digest:
            digests[a.path] = a.digest
        if a.keeper and a.keeper_digest:
            digests[a.keeper] = a.keeper_digest
    checker = Checker(digests)
    # A file a plan keeps (or names as a keeper) anywhere is never acted on elsewhere in
    # it, and no file is acted on twice: a hand-edited plan cannot make a copy's keeper go.
    kept = {a.path for a in plan.actions if a.action == "keep"}
    kept |= {a.keeper for a in plan.actions if a.action != "keep" and a.keeper}
    seen: set[str] = set()
    results: list[Action] = []
    journal = None if dry_run else Journal(journal_path)
    try:
        if journal is not None:
            journal.write(
                {"format": JOURNAL_FORMAT, "version": 1, "started": _now(), "plan": plan.created}
            )
        for step, a in enumerate(plan.actions, 1):
            if a.action == "keep":
                continue
            if a.path in seen:
                problem: str | None = "already handled earlier in this plan"
            elif a.path in kept:
                problem = "it is a keeper, or kept, elsewhere in this plan"
            else:
                problem = _problem(a, checker)
            seen.add(a.path)
            if problem is not None:
                results.append(Action("skip", a.path, a.target, problem))
                if journal is not None:
                    journal.write(
                        {"step": step, "state": "skip", "path": a.path, "reason": problem}
                    )
                continue
            if dry_run:
                results.append(Action(a.action, a.path, a.target, "dry run"))
                continue
            assert journal is not None
            results.append(_run_step(step, a, journal))
    finally:
        if journal is not None:
            journal.close()
    return results


def _problem(a: PlanAction, checker: Checker) -> str | None:
    if MEMBER_SEP in a.path:
        return "inside an archive: left in place"
    if a.keeper is None:
        return "no keeper named: kept"
    if os.path.abspath(a.keeper) == os.path.abspath(a.path):
        return "it is its own keeper: kept"
    return checker.problem(a.path, a.keeper)


def _run_step(step: int, a: PlanAction, journal: Journal) -> Action:
    """One move / trash / delete: journal "begin", act, journal the state after."""
    record: dict[str, Any] = {
        "step": step,
        "state": "begin",
        "action": a.action,
        "path": a.path,
        "digest": a.digest,
        "target": None,
        "info": None,
    }
    try:
        if a.action == "move":
            assert a.target is not None
            target = str(free_name(Path(a.target)))
            record["target"] = target
            journal.write(record)
            os.makedirs(os.path.dirname(target), exist_ok=True)
            shutil.move(a.path, target)
        elif a.action == "trash":
            slot = reserve(a.path)
            record["target"], record["info"] = slot.files_path, slot.info_path
            journal.write(record)
            trash_file(a.path, slot)
            target = slot.files_path
        else:
            journal.write(record)
            os.remove(a.path)
            target = None
    except OSError as exc:
        error = exc.strerror or str(exc)
        journal.write({"step": step, "state": "failed", "error": error})
        return Action(a.action, a.path, record["target"], error=error)
    except LookalikeError as exc:
        journal.write({"step": step, "state": "failed", "error": exc.reason})
        return Action(a.action, a.path, record["target"], error=exc.reason)
    journal.write({"step": step, "state": "done"})
    return Action(a.action, a.path, target, done=True)


def read_journal(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """The "begin" records of a journal, each with the last state its step reached.

    A torn last line (the run was killed while writing it) is ignored: its step had not
    started, as every step is journalled before it starts.
    """
    steps: dict[int, dict[str, Any]] = {}
    with open(path, encoding="utf-8") as fh:
        lines = fh.read().split("\n")
    for k, line in enumerate(lines):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError:
            if k == 0 and not line.startswith(f'{{"format": "{JOURNAL_FORMAT}"'):
                raise LookalikeError(os.fspath(path), "not a lookalike journal") from None
            if k >= len(lines) - 2:
                continue  # the torn last line
            raise LookalikeError(
                os.fspath(path), f"line {k + 1} of the journal is damaged"
            ) from None
        if k == 0 and rec.get("format") != JOURNAL_FORMAT:
            raise LookalikeError(os.fspath(path), "not a lookalike journal")
        step = rec.get("step")
        if not isinstance(step, int):
            continue
        if rec.get("state") == "begin":
            steps[step] = {**rec, "last": "begin"}
        elif step in steps:
            steps[step]["last"] = rec.get("state")
    return [steps[k] for k in sorted(steps)]


def undo(journal_path: str | os.PathLike[str]) -> list[Action]:
    """Put back every file the journalled run moved or trashed, newest first.

    Each step is judged by what is on disk, so a run killed mid-step is undone too, and
    undoing twice changes nothing more. Returns one Action per step: "restore" (done, or
    with the error), or "skip" with the reason (nothing had moved; deleted for good).
    """
    steps = read_journal(journal_path)
    results: list[Action] = []
    with Journal(journal_path) as journal:
        for rec in reversed(steps):
            action = _undo_step(rec)
            results.append(action)
            state = "undone" if action.done else ("lost" if action.error else "unchanged")
            journal.write(
                {"step": rec["step"], "state": state, "note": action.error or action.reason}
            )
    results.reverse()
    return results


def _undo_step(rec: dict[str, Any]) -> Action:
    path, target, digest = rec["path"], rec.get("target"), rec.get("digest")
    here = os.path.lexists(path)
    if rec["action"] == "delete":
        if here:
            return Action("skip", path, reason="never deleted: it is still there")
        return Action("skip", path, error="deleted: a deleted file cannot come back")
    if here:
        unfinished = target and os.path.lexists(target) and rec.get("last") != "done"
        if unfinished and file_digest(path) == digest:
            # a move across devices copies first: the copy of an unfinished step goes
            os.remove(str(target))
        if rec.get("info"):
            Path(rec["info"]).unlink(missing_ok=True)
        return Action("skip", path, target, reason="already in place")
    if not target or not os.path.lexists(target):
        return Action("restore", path, target, error="gone from both its place and its target")
    if digest and file_digest(target) != digest:
        return Action(
            "restore", path, target, error="the file at the target has changed: left there"
        )
    try:
        if rec["action"] == "trash":
            restore(Trashed(target, rec.get("info") or ""), path)
        else:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            shutil.move(target, path)
    except OSError as exc:
        return Action("restore", path, target, error=exc.strerror or str(exc))
    return Action("restore", path, target, done=True)
