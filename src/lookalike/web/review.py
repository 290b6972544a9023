"""The review page of ``lookalike dupes PATH --review``: look, mark, act, and go back.

Two parts:

* **plans** (:func:`build_plan`): turns a :class:`~lookalike.dupes.records.DuplicateReport`
  and the user's choices into a plan (the ``lookalike-plan`` version 1 format of
  :mod:`lookalike.dupes.plan`), which :func:`lookalike.dupes.plan.apply_plan` carries out
  with its re-checks (keeper and copy must still hold the bytes that were compared) and
  its journal, and :func:`lookalike.dupes.plan.undo` reverses: the page and
  ``lookalike apply`` / ``undo`` act through one code path;
* **the web app** (:func:`create_review_app`): the page and its API, behind the same guard
  as ``lookalike serve`` (Host allow-list 421, cross-origin writes 403, capped bodies) and
  the start-up token for every write (apply, undo, marks).

Only the report's own files can be named: the browser sends group numbers and paths, and
every path must be a member of that group, so a page cannot move or delete anything else.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import os
import threading
import zipfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from lookalike import __version__
from lookalike.dupes.actions import (
    Action,
    check_destination,
    free_name,
    relative_to_roots,
    scan_roots,
)
from lookalike.dupes.plan import FORMAT as PLAN_FORMAT
from lookalike.dupes.plan import VERSION as PLAN_VERSION
from lookalike.dupes.plan import Plan, PlanAction, apply_plan, read_journal, undo
from lookalike.dupes.records import DuplicateReport, Group, Member
from lookalike.errors import LookalikeError
from lookalike.formats import is_video
from lookalike.sources.folders import MAX_MEMBER_BYTES, MEMBER_SEP
from lookalike.web.app import (
    HERE,
    LOOPBACK_HOSTS,
    PAGE_HEADERS,
    THUMB_WIDTHS,
    BodyLimit,
    RequestGuard,
    ThumbnailCache,
    json_error,
    pick_language,
    render_thumbnail,
)

#: What a plan may ask for; "keep" touches nothing.
#: Largest request body the review API reads (a selection of many thousand paths).
MAX_BODY = 8 << 20
#: Where a video's card still is taken from (seconds in: past a fade-in; a clip shorter
#: than this shows its first frame).
VIDEO_STILL_SECONDS = 1.0


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _ordered(group: Group) -> list[Member]:
    """The group's members, its keeper first (as the reports show them)."""
    first = [m for m in group.members if m.path == group.keep][:1]
    return first + [m for m in group.members if m not in first]


# ======================================================================================
# Plans: the page's selection as a lookalike-plan (carried out by lookalike.dupes.plan)
# ======================================================================================


@dataclass
class Selection:
    """What the user decided: the action, where moves go, each group's keeper and picks."""

    action: str
    destination: str | None = None
    #: group number (from 1) -> (keeper path, the paths to act on)
    groups: dict[int, tuple[str, set[str]]] = field(default_factory=dict)
    #: group numbers marked "not duplicates": every member is kept
    not_duplicates: set[int] = field(default_factory=set)


def parse_selection(report: DuplicateReport, roots: Sequence[str], body: Any) -> Selection:
    """A :class:`Selection` from the page's JSON, every path checked against ``report``.

    Raises ValueError with a message for the user (bad action, unknown group, a path that
    is not a member of its group, a keeper that is also selected, a bad destination).
    """
    if not isinstance(body, dict):
        raise ValueError("the body must be a JSON object")
    action = body.get("action", "move")
    if action not in ("move", "trash", "delete"):
        raise ValueError("action must be move, trash or delete")
    destination = body.get("destination") or None
    if action == "move":
        if not isinstance(destination, str) or not os.path.isabs(destination):
            raise ValueError("moving needs a destination folder given as an absolute path")
        try:
            check_destination(destination, roots)
        except LookalikeError as exc:
            raise ValueError(exc.reason) from None
    n_groups = len(report.groups)

    def number(value: Any) -> int:
        if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= n_groups:
            raise ValueError(f"no group {value!r} in this review")
        return value

    not_dupes = {number(n) for n in body.get("not_duplicates") or []}
    groups: dict[int, tuple[str, set[str]]] = {}
    for item in body.get("groups") or []:
        if not isinstance(item, dict):
            raise ValueError("each group must be an object")
        n = number(item.get("group"))
        members = {m.path for m in report.groups[n - 1].members}
        keeper = item.get("keeper")
        selected = item.get("selected") or []
        if keeper not in members:
            raise ValueError(f"group {n}: the keeper is not one of its images")
        if not isinstance(selected, list) or not all(p in members for p in selected):
            raise ValueError(f"group {n}: a selected file is not one of its images")
        if keeper in selected:
            raise ValueError(f"group {n}: the keeper cannot be selected too")
        groups[n] = (keeper, set(selected))
    return Selection(str(action), destination, groups, not_dupes)


def build_plan(
    report: DuplicateReport, roots: Sequence[str], selection: Selection
) -> dict[str, Any]:
    """The plan (``lookalike-plan`` version 1) for ``selection``: one entry per member of
    every decided group; unselected members, keepers and "not duplicates" groups as keep."""
    digests = report.digests
    root_dirs = scan_roots(roots)
    dest = Path(selection.destination).resolve() if selection.destination else None
    actions: list[dict[str, Any]] = []

    def entry(kind: str, path: str, keeper: str | None, n: int, reason: str) -> dict[str, Any]:
        target = None
        if kind == "move" and dest is not None:
            target = str(free_name(dest / relative_to_roots(path, root_dirs)))
        return {
            "action": kind,
            "path": path,
            "digest": digests.get(path),
            "keeper": keeper,
            "keeper_digest": digests.get(keeper) if keeper else None,
            "target": target,
            "group": n,
            "reason": reason,
        }

    for n, group in enumerate(report.groups, 1):
        if n in selection.not_duplicates:
            actions += [entry("keep", m.path, None, n, "not duplicates") for m in _ordered(group)]
            continue
        if n not in selection.groups:
            continue
        keeper, picked = selection.groups[n]
        members = sorted(group.members, key=lambda m: m.path != keeper)
        for m in members:
            if m.path == keeper:
                actions.append(entry("keep", m.path, keeper, n, "keeper"))
            elif m.path not in picked:
                actions.append(entry("keep", m.path, keeper, n, "not selected"))
            elif MEMBER_SEP in m.path:
                actions.append(entry("keep", m.path, keeper, n, "inside an archive"))
            else:
                why = f"copy of the keeper ({m.method}, {100 * m.similarity:.1f}%)"
                actions.append(entry(selection.action, m.path, keeper, n, why))
    return {
        "format": PLAN_FORMAT,
        "version": PLAN_VERSION,
        "created": _now(),
        "roots": [os.path.abspath(os.fspath(r)) for r in roots],
        "actions": actions,
    }


def check_plan(plan: Any) -> list[PlanAction]:
    """The plan's actions, read as ``lookalike apply`` reads a plan file (ValueError naming
    what is wrong)."""
    try:
        return Plan.from_json(json.dumps(plan), "plan").actions
    except LookalikeError as exc:
        raise ValueError(exc.reason) from None


def journal_folder() -> Path:
    """Where plans and journals are kept: ``$XDG_STATE_HOME/lookalike/journals``."""
    state = os.environ.get("XDG_STATE_HOME") or os.path.join(
        os.path.expanduser("~"), ".local/state"
    )
    return Path(state) / "lookalike" / "journals"


def _applied(a: Action) -> dict[str, Any]:
    """One step of an apply as the page shows it (``action`` is "skip" when skipped)."""
    return {
        "action": a.kind,
        "path": a.path,
        "target": a.target,
        "done": a.done,
        "reason": a.reason or None,
        "error": a.error,
    }


def _undone(step: dict[str, Any], a: Action) -> dict[str, Any]:
    """One step of an undo as the page shows it, with the action it reverses."""
    reason = a.reason or a.error or None
    if step["action"] == "delete" and not a.done:
        reason = "deleted: it cannot be restored"
    return {
        "undo": a.path,
        "action": step["action"],
        "from": step.get("target"),
        "done": a.done,
        "reason": reason,
    }


# ======================================================================================
# The web app
# ======================================================================================


@dataclass
class Review:
    """One review session: the report, the scanned roots, and where journals go."""

    report: DuplicateReport
    roots: list[str]
    journals: Path = field(default_factory=journal_folder)
    #: called with a "not duplicates" group's paths (a later marks store hooks in here)
    on_not_duplicates: Callable[[list[str]], None] | None = None
    not_duplicates: dict[int, list[str]] = field(default_factory=dict)
    #: journals of this session's applies, newest last (undo takes them back in turn)
    done: list[Path] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.paths = [m.path for g in self.report.groups for m in _ordered(g)]
        self.ids = {p: i for i, p in enumerate(self.paths)}

    def data(self) -> dict[str, Any]:
        """The groups as the page draws them (ids for thumbnails, nothing else added)."""
        groups = []
        for n, g in enumerate(self.report.groups, 1):
            members = [
                {
                    **m.to_dict(),
                    "id": self.ids[m.path],
                    "thumbnail_url": f"/api/review/thumbnails/{self.ids[m.path]}",
                }
                for m in _ordered(g)
            ]
            groups.append({"group": n, "keep": g.keep, "reason": g.reason, "members": members})
        default_dest = None
        if self.roots:
            first = scan_roots(self.roots)[0]
            default_dest = os.path.join(
                os.path.dirname(first), os.path.basename(first) + " duplicates"
            )
        return {
            "roots": self.roots,
            "groups": groups,
            "not_duplicates": sorted(self.not_duplicates),
            "destination": default_dest,
            "undoable": bool(self.done),
            "errors": len(self.report.errors),
        }

    def mark_not_duplicates(self, number: int) -> list[str]:
        """Record that group ``number`` holds no copies; call the hook with its paths."""
        if not 1 <= number <= len(self.report.groups):
            raise ValueError(f"no group {number} in this review")
        paths = [m.path for m in _ordered(self.report.groups[number - 1])]
        self.not_duplicates[number] = paths
        if self.on_not_duplicates is not None:
            self.on_not_duplicates(paths)
        return paths

    def plan(self, body: Any) -> dict[str, Any]:
        """The plan for the page's selection; the groups marked "not duplicates" as keep."""
        selection = parse_selection(self.report, self.roots, body)
        selection.not_duplicates |= set(self.not_duplicates)
        return build_plan(self.report, self.roots, selection)

    def summary(self, plan: dict[str, Any]) -> dict[str, Any]:
        """Count, total size and every file of the plan's non-keep actions."""
        sizes = {m.path: m.bytes for g in self.report.groups for m in g.members}
        files = [
            {
                "path": a["path"],
                "bytes": sizes.get(a["path"], 0),
                "target": a["target"],
                "group": a["group"],
            }
            for a in plan["actions"]
            if a["action"] != "keep"
        ]
        return {"count": len(files), "bytes": sum(f["bytes"] for f in files), "files": files}

    def apply(self, body: Any) -> dict[str, Any]:
        """Build the plan from ``body``, save it, apply it, remember its journal for undo."""
        plan = self.plan(body)
        with self.lock:
            stamp = datetime.now().strftime("%Y%m%d-%H%M%S-%f")
            self.journals.mkdir(parents=True, exist_ok=True)
            (self.journals / f"plan-{stamp}.json").write_text(
                json.dumps(plan, ensure_ascii=False, indent=1), encoding="utf-8"
            )
            journal = self.journals / f"journal-{stamp}.jsonl"
            done = apply_plan(Plan.from_json(json.dumps(plan)), journal)
            results = [_applied(a) for a in done]
            self.done.append(journal)
        return {"results": results, "journal": str(journal), "undoable": True}

    def undo(self) -> dict[str, Any]:
        """Reverse the newest journal not yet undone."""
        with self.lock:
            if not self.done:
                raise ValueError("nothing to undo")
            journal = self.done.pop()
            steps = read_journal(journal)
            results = [_undone(s, a) for s, a in zip(steps, undo(journal), strict=True)]
            undoable = bool(self.done)
        return {"results": results, "undoable": undoable}

    def thumbnail_source(self, member_id: int) -> str | bytes:
        """A member's path, the bytes of an archive member, or for a video a JPEG of the
        frame one second in (``lookalike videos --review``)."""
        path = self.paths[member_id]
        if MEMBER_SEP not in path and is_video(path):
            from lookalike.errors import DecodeError
            from lookalike.video.frames import frame_jpeg

            try:
                return frame_jpeg(path, VIDEO_STILL_SECONDS)
            except DecodeError:
                return frame_jpeg(path, 0.0)
        if MEMBER_SEP not in path:
            return path
        archive, inner = path.split(MEMBER_SEP, 1)
        with zipfile.ZipFile(archive) as zf, zf.open(inner) as fh:
            return fh.read(MAX_MEMBER_BYTES)


def review_router(review: Review, token: str | None, templates: Jinja2Templates) -> APIRouter:
    """The review page at ``/`` and its API under ``/api/review``."""
    router = APIRouter()
    texts = json.loads((HERE / "static" / "i18n.json").read_text(encoding="utf-8"))
    thumbs = ThumbnailCache()
    slots = asyncio.Semaphore(max(1, min(4, os.cpu_count() or 1)))

    def authorize(request: Request) -> None:
        if token is None:
            return
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not given.strip():
            raise HTTPException(401, "writes need Authorization: Bearer TOKEN")
        if not hmac.compare_digest(given.strip().encode(), token.encode()):
            raise HTTPException(403, "wrong token")

    async def body(request: Request) -> Any:
        try:
            return json.loads(await request.body() or b"{}")
        except (ValueError, RecursionError):
            raise HTTPException(400, "the body must be JSON") from None

    async def guarded(call: Callable[[], Any]) -> Any:
        try:
            return await run_in_threadpool(call)
        except ValueError as exc:
            raise HTTPException(400, str(exc)) from None

    @router.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def page(request: Request) -> Response:
        lang = pick_language(request)
        response = templates.TemplateResponse(
            request,
            "review.html",
            {
                "lang": lang,
                "t": texts[lang],
                "texts": texts,
                "version": __version__,
                "token": token,
            },
        )
        response.headers["Cache-Control"] = "no-store"
        response.headers["Content-Language"] = lang
        response.headers["Vary"] = "Accept-Language, Cookie"
        response.headers.update(PAGE_HEADERS)
        return response

    @router.get("/api/review", tags=["review"])
    async def groups() -> dict[str, Any]:
        """The groups under review, each member with its thumbnail URL."""
        return review.data()

    @router.get("/api/review/thumbnails/{member_id}", tags=["review"])
    async def thumbnail(member_id: int, w: int = 320) -> Response:
        """A JPEG thumbnail of one member of the review (by its id in ``/api/review``)."""
        if not 0 <= member_id < len(review.paths):
            raise HTTPException(404, "no such image in this review")
        width = min(THUMB_WIDTHS, key=lambda x: abs(x - w))
        path = review.paths[member_id]
        try:
            st = os.stat(path)
            key: tuple[object, ...] = (path, st.st_size, st.st_mtime_ns)
        except OSError:
            key = (path, member_id)
        async with slots:
            try:
                data = await run_in_threadpool(
                    thumbs.get,
                    key,
                    lambda: review.thumbnail_source(member_id),
                    width,
                    render_thumbnail,
                )
            except (OSError, KeyError, zipfile.BadZipFile, LookalikeError):
                data = None
        if data is None:
            raise HTTPException(404, "this image cannot be shown (gone, moved or unreadable)")
        return Response(data, media_type="image/jpeg", headers={"Cache-Control": "no-store"})

    @router.post("/api/review/plan", tags=["review"])
    async def plan(request: Request) -> dict[str, Any]:
        """The plan for a selection, and its summary (count, total size, every file)."""
        selection = await body(request)
        made = await guarded(lambda: review.plan(selection))
        return {"plan": made, "summary": review.summary(made)}

    @router.post("/api/review/apply", tags=["review"])
    async def apply(request: Request) -> dict[str, Any]:
        """Build the plan for a selection and carry it out, journalled. Needs the token."""
        authorize(request)
        selection = await body(request)
        return await guarded(lambda: review.apply(selection))

    @router.post("/api/review/undo", tags=["review"])
    async def undo(request: Request) -> dict[str, Any]:
        """Reverse the last apply. Needs the token."""
        authorize(request)
        return await guarded(review.undo)

    @router.post("/api/review/not-duplicates", tags=["review"])
    async def not_duplicates(request: Request) -> dict[str, Any]:
        """Mark a group "not duplicates": it leaves this review, kept whole. Needs the token."""
        authorize(request)
        data = await body(request)
        number = data.get("group") if isinstance(data, dict) else None
        if not isinstance(number, int) or isinstance(number, bool):
            raise HTTPException(400, "name the group: {'group': N}")
        paths = await guarded(lambda: review.mark_not_duplicates(number))
        return {"group": number, "paths": paths}

    return router


def create_review_app(
    report: DuplicateReport,
    roots: Iterable[str | os.PathLike[str]],
    *,
    token: str | None,
    allowed_hosts: Iterable[str] | None = LOOPBACK_HOSTS,
    journals: Path | None = None,
    on_not_duplicates: Callable[[list[str]], None] | None = None,
) -> FastAPI:
    """The FastAPI app of the review page for ``report`` (same guard as ``serve``)."""
    review = Review(
        report,
        [os.path.abspath(os.fspath(r)) for r in roots],
        journals=journals or journal_folder(),
        on_not_duplicates=on_not_duplicates,
    )
    hosts = None if allowed_hosts is None else {h.strip("[]").lower() for h in allowed_hosts}
    app = FastAPI(title="lookalike review", version=__version__, docs_url=None, redoc_url=None)
    app.state.review = review
    app.add_middleware(BodyLimit, limit=MAX_BODY)
    app.add_middleware(RequestGuard, allowed_hosts=hosts)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        return json_error(exc.status_code, str(exc.detail), getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def internal_error(request: Request, exc: Exception) -> JSONResponse:
        return json_error(500, f"internal error: {type(exc).__name__}")

    app.include_router(review_router(review, token, Jinja2Templates(directory=HERE / "templates")))
    return app
