"""Clean-up plans for duplicate videos: the same plans, journal and undo as for images.

:func:`plan_from_videos` turns a :class:`~lookalike.video.collection.VideoReport` into a
:class:`~lookalike.dupes.plan.Plan` through :func:`~lookalike.dupes.plan.plan_from_report`,
so ``lookalike videos --move-to / --trash / --delete / --plan`` and ``lookalike apply`` /
``lookalike undo`` run every step with the image path's checks (the keeper is there with
the bytes that were compared, the copy too) and its journal.

One rule is the videos' own: a copy is acted on only when the keeper holds it, i.e. the
matched segments cover at least :data:`CONTAINED` of the copy's duration. A longer video
that merely contains the keeper (a clip of it, at a lower resolution) matches it too, but
it holds footage the keeper lacks: it is kept, with that reason in the plan.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from lookalike.dupes.plan import Plan, PlanAction, plan_from_report
from lookalike.dupes.records import DuplicateReport, Group, Member
from lookalike.video.collection import VideoReport

__all__ = ["CONTAINED", "plan_from_videos", "video_duplicate_report"]

#: Share of a copy's duration the keeper must cover before the copy may be moved or
#: deleted. The source covers 0.96-1.00 of every matched edit of ``video/edits.py``
#: (re-encoded, resized, trimmed, cut, logo, border) of two sample slideshows and the
#: corpus's v1 and v2 (``tests/video/test_video_plan.py`` checks one slideshow); a video
#: that holds the keeper and more is covered by a fraction of its duration.
CONTAINED = 0.9


def video_duplicate_report(report: VideoReport) -> tuple[DuplicateReport, list[PlanAction]]:
    """The groups whose copies the keeper holds, as a duplicate report (digests of the
    files' bytes now), and a "keep" line for every other member, with its reason."""
    from lookalike.dupes.actions import file_digest

    groups: list[Group] = []
    kept: list[PlanAction] = []
    digests: dict[str, str] = {}
    for n, g in enumerate(report.groups, 1):
        keeper_digest = file_digest(g.keeper)
        if keeper_digest is not None:
            digests[g.keeper] = keeper_digest
        members = [Member(g.keeper, 1.0, "video")]
        for m in g.members:
            d = file_digest(m.b)
            if m.coverage_b < CONTAINED:
                why = (
                    f"holds footage group {n}'s keeper lacks (only {m.coverage_b:.0%} of it "
                    "matched): kept"
                )
                kept.append(PlanAction("keep", m.b, d, g.keeper, keeper_digest, None, n, why))
                continue
            if d is not None:
                digests[m.b] = d
            members.append(Member(m.b, m.similarity, "video"))
        groups.append(Group(g.keeper, "highest resolution, then longest", members))
    return DuplicateReport(groups=groups, digests=digests), kept


def plan_from_videos(
    report: VideoReport,
    action: str,
    *,
    dest: str | os.PathLike[str] | None = None,
    keep_in: Sequence[str | os.PathLike[str]] = (),
    roots: Sequence[str | os.PathLike[str]] = (),
) -> Plan:
    """The plan that applies ``action`` ("move", "trash" or "delete") to every copy the
    keeper of its group holds (see the module docstring); the others are "keep" lines."""
    dupes, kept = video_duplicate_report(report)
    plan = plan_from_report(dupes, action, dest=dest, keep_in=keep_in, roots=roots)
    by_group: dict[int, list[PlanAction]] = {}
    for a in kept:
        by_group.setdefault(a.group, []).append(a)
    actions: list[PlanAction] = []
    for a in plan.actions:
        actions.append(a)
        if a.action == "keep" and a.keeper is None:  # a group's keeper line: its others next
            actions += by_group.pop(a.group, [])
    for rest in by_group.values():
        actions += rest
    return Plan(actions, plan.roots, plan.created)
