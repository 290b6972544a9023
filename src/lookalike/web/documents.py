"""The Documents page: drop Word/Excel/PowerPoint/PDF files (or a zip of them), see which
pictures they share, download the workbook ``图片相似度<date>.xlsx``.

A tab of ``lookalike serve`` (``/documents``) and, alone, ``lookalike docs --page``. The
boundaries of :mod:`lookalike.web.app` hold here too (Host allow-list 421, cross-origin
writes 403, capped bodies, the token for writes); on top of them:

* an upload whose ``Content-Length`` is over the limit is refused before it is read;
* every file is sniffed: OOXML packages (named by their parts: .docx, .xlsx, .pptx),
  legacy OLE files and PDFs are documents; a plain zip is opened with the zip-bomb limits
  of :mod:`lookalike.sources.folders` (declared size, ratio, encryption, a cap on the
  total) and its documents taken, nested zips left closed; anything else is refused (400)
  and nothing of that request stays on disk;
* names are never trusted: files are stored under :func:`safe_file_name` of the upload's
  base name with the extension of the sniffed kind, in a fresh folder per check under
  the server's own state folder (a private temporary folder of the process);
* the check (:func:`~lookalike.doccheck.check.check_documents`) runs in a worker thread
  inside the server's CPU semaphore; the page polls ``GET /api/documents/jobs/{id}``;
* finished checks are kept for an hour, at most :data:`KEEP_JOBS` of them, then their
  files are removed; the whole state folder goes when the process exits (or, killed,
  at the next start).
"""

from __future__ import annotations

import asyncio
import atexit
import hmac
import json
import os
import re
import secrets
import shutil
import tempfile
import threading
import time
import zipfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any
from urllib.parse import quote

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException

from lookalike import __version__
from lookalike.doccheck.records import CheckOptions, DocumentCheck
from lookalike.errors import LookalikeError
from lookalike.reports.labels import location_text, reason_text, relation
from lookalike.sources.documents import safe_file_name
from lookalike.sources.folders import MAX_MEMBER_BYTES, check_member
from lookalike.web.app import (
    ENVELOPE_BYTES,
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
    scrub,
)

#: Most files one check may hold (uploads, or documents taken from a zip).
MAX_DOCUMENTS = 64
#: Most bytes the documents taken from zips of one check may expand to.
MAX_EXTRACTED_BYTES = 1 << 30
#: Finished checks kept (newest first), and for how long (seconds).
KEEP_JOBS = 20
KEEP_SECONDS = 3600.0
#: Checks queued or running at once; more are refused 429.
MAX_ACTIVE_JOBS = 8
#: Upload limit of ``lookalike docs --page`` (``serve`` uses its own --max-upload-mb).
PAGE_UPLOAD_BYTES = 200 << 20
#: The extensions each OOXML kind may keep from the upload's name (first: the default).
_OOXML = {
    "word/": (".docx", ".docm", ".dotx"),
    "xl/": (".xlsx", ".xlsm"),
    "ppt/": (".pptx", ".pptm"),
}
_OLE_EXTENSIONS = (".doc", ".xls", ".ppt")
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class Refused(ValueError):
    """An upload that is not taken (not a document, too large): 400 or 413 with the reason."""

    def __init__(self, reason: str, status: int = 400) -> None:
        super().__init__(reason)
        self.status = status


def document_extension(path: Path, name: str) -> str | None:
    """The extension ``path`` is stored under, by content: ``.docx``/``.xlsx``/``.pptx``
    (by the package's parts), ``.doc``/``.xls``/``.ppt`` (OLE), ``.pdf``; ``.zip`` for a
    plain zip; None for anything else. The uploader's ``name`` only picks among the
    extensions of the sniffed kind (``.xlsm`` stays ``.xlsm``)."""
    with open(path, "rb") as fh:
        head = fh.read(1024)
    own = os.path.splitext(name)[1].lower()
    if head[:8] == _OLE_MAGIC:
        return own if own in _OLE_EXTENSIONS else ".doc"
    if b"%PDF-" in head:
        return ".pdf"
    if head[:2] != b"PK":
        return None
    try:
        with zipfile.ZipFile(path) as zf:
            names = zf.namelist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError):
        return None
    if "[Content_Types].xml" not in names:
        return ".zip"
    for prefix, extensions in _OOXML.items():
        if any(n.startswith(prefix) for n in names):
            return own if own in extensions else extensions[0]
    return None


def copy_capped(source: IO[bytes], target: Path, limit: int) -> int:
    """Copy ``source`` into a new file ``target``, at most ``limit`` bytes (else Refused)."""
    written = 0
    with open(target, "xb") as out:
        while chunk := source.read(1 << 20):
            written += len(chunk)
            if written > limit:
                raise Refused(f"larger than {limit} bytes", 413)
            out.write(chunk)
    return written


@dataclass
class Job:
    """One document check: its files, its progress and, once finished, its result."""

    id: str
    folder: Path
    lang: str = "zh"
    state: str = "queued"  # queued, running, done, error
    stage: str = "queued"
    done: int = 0
    total: int = 0
    error: str | None = None
    result: dict[str, Any] | None = None
    workbook: Path | None = None
    #: The pictures the page may show (thumbnails by index).
    pictures: list[Path] = field(default_factory=list)
    #: Upload or zip member names that were not documents (left out, said on the page).
    skipped: list[str] = field(default_factory=list)
    documents: list[Path] = field(default_factory=list)
    finished: float | None = None

    def progress(self, stage: str, done: int, total: int) -> None:
        """The callback given to ``check_documents``."""
        self.stage, self.done, self.total = stage, done, total

    def status(self) -> dict[str, Any]:
        """What ``GET /api/documents/jobs/{id}`` answers."""
        out: dict[str, Any] = {
            "id": self.id,
            "state": self.state,
            "stage": self.stage,
            "done": self.done,
            "total": self.total,
        }
        if self.error is not None:
            out["error"] = self.error
        if self.result is not None:
            out["result"] = self.result
        return out


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # another user's process, or no way to tell: leave its folder
        return True
    return True


def state_folder() -> Path:
    """A fresh private folder for this process's checks, ``<tmp>/lookalike-documents-UID/
    PID-xxxx``; folders left by processes that are gone (killed: no exit handler ran)
    are removed first."""
    uid = os.getuid() if hasattr(os, "getuid") else 0
    base = Path(tempfile.gettempdir()) / f"lookalike-documents-{uid}"
    try:
        base.mkdir(mode=0o700, exist_ok=True)
        st = base.lstat()
        if base.is_symlink() or st.st_uid != uid or st.st_mode & 0o077:
            raise PermissionError("not a private folder")
    except OSError:
        return Path(tempfile.mkdtemp(prefix="lookalike-documents-"))
    for old in base.iterdir():
        pid = old.name.split("-")[0]
        if pid.isdigit() and int(pid) != os.getpid() and not _alive(int(pid)):
            shutil.rmtree(old, ignore_errors=True)
    return Path(tempfile.mkdtemp(prefix=f"{os.getpid()}-", dir=base))


class DocumentJobs:
    """The checks of one server: stored uploads, running and finished jobs, their cleanup."""

    def __init__(self, state_dir: str | os.PathLike[str] | None = None) -> None:
        if state_dir is None:
            self.root = state_folder()
            atexit.register(shutil.rmtree, self.root, True)
        else:
            self.root = Path(state_dir)
            self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.jobs: dict[str, Job] = {}
        self.lock = threading.Lock()
        self.tasks: set[asyncio.Task[None]] = set()

    def new(self, lang: str) -> Job:
        """A new job with an empty folder (429 when too many are queued or running)."""
        self.evict()
        with self.lock:
            active = sum(1 for j in self.jobs.values() if j.finished is None)
            if active >= MAX_ACTIVE_JOBS:
                raise HTTPException(429, "too many document checks running: try again soon")
            job_id = secrets.token_urlsafe(16)
            folder = self.root / job_id
            (folder / "in").mkdir(parents=True, mode=0o700)
            job = Job(job_id, folder, lang)
            self.jobs[job_id] = job
            return job

    def get(self, job_id: str) -> Job:
        """The job ``job_id``, or 404 (unknown, or finished long enough ago to be gone)."""
        self.evict()
        with self.lock:
            job = self.jobs.get(job_id)
        if job is None:
            raise HTTPException(404, "no such check (checks are kept an hour): start again")
        return job

    def drop(self, job: Job) -> None:
        """Forget ``job`` and remove its files."""
        with self.lock:
            self.jobs.pop(job.id, None)
        shutil.rmtree(job.folder, ignore_errors=True)

    def evict(self) -> None:
        """Remove finished jobs past :data:`KEEP_SECONDS` or beyond the newest :data:`KEEP_JOBS`."""
        now = time.monotonic()
        with self.lock:
            finished = sorted(
                (j for j in self.jobs.values() if j.finished is not None),
                key=lambda j: j.finished or 0.0,
                reverse=True,
            )
            old = [
                j for k, j in enumerate(finished)
                if k >= KEEP_JOBS or now - (j.finished or now) > KEEP_SECONDS
            ]  # fmt: skip
            for j in old:
                del self.jobs[j.id]
        for j in old:
            shutil.rmtree(j.folder, ignore_errors=True)

    # -- storing uploads ------------------------------------------------------------------

    def store(self, job: Job, uploads: Sequence[tuple[str, IO[bytes]]], limit: int) -> None:
        """Store each upload in the job's folder under a safe name by its sniffed kind;
        a plain zip's documents are taken out of it. Raises Refused (nothing kept)."""
        incoming = job.folder / "in"
        taken: set[str] = set()
        extracted = 0
        for n, (name, data) in enumerate(uploads):
            shown = safe_file_name(os.path.basename(name.replace("\\", "/")) or "upload")
            part = job.folder / f"upload-{n}.part"
            try:
                copy_capped(data, part, limit)
            except Refused as exc:
                raise Refused(f"{shown}: {exc}", exc.status) from None
            if part.stat().st_size == 0:
                raise Refused(f"{shown}: empty file")
            ext = document_extension(part, shown)
            if ext is None:
                raise Refused(
                    f"{shown}: not a Word, Excel, PowerPoint or PDF document, nor a zip of them"
                )
            if ext == ".zip":
                extracted += self._unzip(job, part, shown, taken, extracted)
                part.unlink()
            else:
                target = _free_name(incoming, shown, ext, taken)
                part.rename(target)
                job.documents.append(target)
            if len(job.documents) > MAX_DOCUMENTS:
                raise Refused(f"more than {MAX_DOCUMENTS} documents in one check")
        if not job.documents:
            raise Refused("no documents: the zip holds no Word, Excel, PowerPoint or PDF file")

    def _unzip(self, job: Job, archive: Path, shown: str, taken: set[str], used: int) -> int:
        """Take the documents out of a plain zip (bomb limits); returns the bytes written."""
        written = 0
        try:
            with zipfile.ZipFile(archive) as zf:
                infos = sorted(
                    (i for i in zf.infolist() if not i.is_dir()), key=lambda i: i.filename
                )
                for k, info in enumerate(infos):
                    member = os.path.basename(info.filename.replace("\\", "/"))
                    label = f"{shown} > {safe_file_name(member or 'member')}"
                    try:
                        check_member(info)
                    except LookalikeError as exc:
                        job.skipped.append(f"{label}: {exc.reason}")
                        continue
                    if used + written + info.file_size > MAX_EXTRACTED_BYTES:
                        raise Refused(f"{shown}: expands past {MAX_EXTRACTED_BYTES} bytes", 413)
                    part = job.folder / f"member-{k}.part"
                    try:
                        with zf.open(info) as src:
                            written += copy_capped(src, part, MAX_MEMBER_BYTES)
                    except Refused:
                        part.unlink(missing_ok=True)
                        job.skipped.append(f"{label}: larger than declared (zip bomb?)")
                        continue
                    except (zipfile.BadZipFile, RuntimeError, NotImplementedError, EOFError) as e:
                        part.unlink(missing_ok=True)
                        job.skipped.append(f"{label}: cannot read archive member: {e}")
                        continue
                    ext = document_extension(part, member)
                    if ext in (None, ".zip"):
                        part.unlink()
                        job.skipped.append(f"{label}: not a document")
                        continue
                    target = _free_name(job.folder / "in", safe_file_name(member), ext, taken)
                    part.rename(target)
                    job.documents.append(target)
                    if len(job.documents) > MAX_DOCUMENTS:
                        raise Refused(f"more than {MAX_DOCUMENTS} documents in one check")
        except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError) as exc:
            raise Refused(f"{shown}: cannot open the zip: {exc}") from None
        return written

    # -- running --------------------------------------------------------------------------

    def run(self, job: Job) -> None:
        """Check the job's documents (call in a worker thread, inside the CPU semaphore)."""
        from lookalike.doccheck.check import check_documents

        job.state = job.stage = "running"
        options = CheckOptions(out=job.folder / "out", lang=job.lang, jobs=1)
        check = check_documents(job.documents, options, progress=job.progress)
        job.workbook = check.workbook
        job.result = self.page_result(job, check)

    def page_result(self, job: Job, check: DocumentCheck) -> dict[str, Any]:
        """The result as the page draws it: the pairs in both languages, thumbnails by
        index, no server paths."""
        index: dict[Path, int] = {}

        def thumb(path: Path | None) -> str | None:
            if path is None:
                return None
            if path not in index:
                index[path] = len(job.pictures)
                job.pictures.append(path)
            return f"/api/documents/jobs/{job.id}/pictures/{index[path]}"

        pairs = []
        for pair, row in zip(check.pairs, check.to_dict()["pairs"], strict=True):
            pairs.append(
                {
                    "document1": row["document"],
                    "document2": row["document2"] or row["document"],
                    "within": row["document2"] is None,
                    "image1": row["image1"],
                    "image2": row["image2"],
                    "location1": _both(row["location1"], location_text),
                    "location2": _both(row["location2"], location_text),
                    "similarity": row["similarity"],
                    "method": row["method"],
                    "relation": {
                        "en": relation(pair.method, measured=pair.relation),
                        "zh": relation(pair.method, "zh", pair.relation),
                    },
                    "thumbnail1": thumb(pair.image1.compare),
                    "thumbnail2": thumb(pair.image2.compare),
                }
            )
        documents = [
            {
                "document": d.name,
                "images": len(d.images),
                "skipped_small": d.skipped_small,
                "status": d.status,
            }
            for d in check.documents
        ]
        errors = [
            {"document": e.document, "reason": _both(scrub(e.reason), reason_text)}
            for e in check.errors
        ]
        errors += [
            {"document": s.split(" > ")[0], "reason": {"en": s, "zh": s}} for s in job.skipped
        ]
        stats = check.stats
        return {
            "pairs": pairs,
            "documents": documents,
            "errors": errors,
            "stats": {
                k: stats.get(k)
                for k in ("documents", "images", "compared", "skipped_small", "pairs")
            }
            | {"seconds": stats.get("seconds", {}).get("total")},
            "workbook": check.workbook.name if check.workbook else None,
            "workbook_url": f"/api/documents/jobs/{job.id}/workbook" if check.workbook else None,
        }


def _both(text: str | None, translate: Callable[[str, str], str | None]) -> dict[str, Any]:
    return {"en": text, "zh": translate(text, "zh") if text else text}


def _free_name(folder: Path, name: str, ext: str, taken: set[str]) -> Path:
    """A new file in ``folder``: ``name``'s stem with ``ext``, ``stem (2)`` when taken."""
    stem = os.path.splitext(name)[0].strip(" .") or "document"
    for n in range(1, 10_000):
        candidate = safe_file_name(f"{stem}{ext}" if n == 1 else f"{stem} ({n}){ext}")
        if candidate.lower() not in taken:
            taken.add(candidate.lower())
            return folder / candidate
    raise Refused("too many files of the same name")


def content_disposition(name: str) -> str:
    """``attachment`` with an ASCII fallback and the RFC 5987 UTF-8 ``filename*``."""
    fallback = re.sub(r"[^A-Za-z0-9._-]+", "", name)
    if fallback[:1].isdigit() or fallback.startswith("."):
        fallback = "image-similarity-" + fallback.lstrip(".")
    fallback = fallback or "workbook.xlsx"
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


def check_token(request: Request, token: str | None) -> None:
    """Refuse a write without ``Authorization: Bearer TOKEN`` (401 absent, 403 wrong)."""
    if token is None:
        return
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not given.strip():
        raise HTTPException(
            401, "writes need Authorization: Bearer TOKEN", headers={"WWW-Authenticate": "Bearer"}
        )
    if not hmac.compare_digest(given.strip().encode(), token.encode()):
        raise HTTPException(403, "wrong token")


def documents_router(
    *,
    templates: Jinja2Templates,
    token: str | None,
    embed_token: bool,
    cpu_slots: asyncio.Semaphore,
    max_upload_bytes: int,
    jobs: DocumentJobs | None = None,
    page_paths: Iterable[str] = ("/documents",),
    search_link: bool = True,
) -> APIRouter:
    """The Documents page at ``page_paths`` and its API under ``/api/documents``."""
    router = APIRouter()
    store = jobs or DocumentJobs()
    texts = json.loads((HERE / "static" / "i18n.json").read_text(encoding="utf-8"))
    thumbs = ThumbnailCache(max_bytes=32 << 20)

    async def page(request: Request) -> Response:
        lang = pick_language(request)
        response = templates.TemplateResponse(
            request,
            "documents.html",
            {
                "lang": lang,
                "t": texts[lang],
                "texts": texts,
                "version": __version__,
                "token": token if embed_token else None,
                "max_upload_bytes": max_upload_bytes,
                "search_link": search_link,
            },
        )
        response.headers["Cache-Control"] = "no-store"
        response.headers["Content-Language"] = lang
        response.headers["Vary"] = "Accept-Language, Cookie"
        response.headers.update(PAGE_HEADERS)
        return response

    for path in page_paths:
        router.add_api_route(
            path, page, methods=["GET"], response_class=HTMLResponse, include_in_schema=False
        )

    async def work(job: Job) -> None:
        try:
            async with cpu_slots:
                await run_in_threadpool(store.run, job)
            job.state = job.stage = "done"
        except Exception as exc:  # a check that fails outright: said on the page
            reason = exc.reason if isinstance(exc, LookalikeError) else type(exc).__name__
            job.state, job.error = "error", scrub(f"the check failed: {reason}")
        finally:
            job.finished = time.monotonic()

    @router.post("/api/documents/jobs", status_code=202, tags=["documents"])
    async def start(request: Request) -> dict[str, Any]:
        """Check documents: multipart ``files`` (Word, Excel, PowerPoint, PDF, or zips of
        them), optional ``lang`` (zh, en: the workbook's). Needs the token. Answers the
        job's ``id``; poll ``GET /api/documents/jobs/{id}``."""
        check_token(request, token)
        declared = request.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > max_upload_bytes + ENVELOPE_BYTES:
            raise HTTPException(413, f"the upload is larger than {max_upload_bytes} bytes")
        ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if ctype != "multipart/form-data":
            raise HTTPException(415, "send the documents as multipart/form-data field 'files'")
        try:
            form = await request.form(max_files=MAX_DOCUMENTS, max_fields=8)
        except HTTPException:
            raise
        except (ValueError, KeyError, IndexError, UnicodeError) as exc:
            raise HTTPException(400, f"malformed form data: {type(exc).__name__}") from None
        try:
            lang = form.get("lang") or "zh"
            if lang not in ("zh", "en"):
                raise HTTPException(400, "lang must be zh or en")
            uploads = [u for u in form.getlist("files") if isinstance(u, UploadFile)]
            if not uploads:
                raise HTTPException(400, "no files: send documents as the multipart field 'files'")
            job = store.new(str(lang))
            files = [(u.filename or "upload", u.file) for u in uploads]
            try:
                await run_in_threadpool(store.store, job, files, max_upload_bytes)
            except Refused as exc:
                store.drop(job)
                raise HTTPException(exc.status, str(exc)) from None
            except BaseException:
                store.drop(job)
                raise
        finally:
            await form.close()
        task = asyncio.get_running_loop().create_task(work(job))
        store.tasks.add(task)
        task.add_done_callback(store.tasks.discard)
        names = [p.name for p in job.documents]
        return {"id": job.id, "url": f"/api/documents/jobs/{job.id}", "documents": names}

    @router.get("/api/documents/jobs/{job_id}", tags=["documents"])
    async def status(job_id: str) -> dict[str, Any]:
        """A check's stage and progress (done of total); when finished, its result."""
        return store.get(job_id).status()

    @router.get("/api/documents/jobs/{job_id}/workbook", tags=["documents"])
    async def workbook(job_id: str) -> Response:
        """The workbook of a finished check (图片相似度<date>.xlsx)."""
        job = store.get(job_id)
        if job.workbook is None or not job.workbook.is_file():
            raise HTTPException(409 if job.finished is None else 404, "no workbook (yet)")
        return FileResponse(
            job.workbook,
            media_type=_XLSX_TYPE,
            headers={
                "Content-Disposition": content_disposition(job.workbook.name),
                "Cache-Control": "no-store",
                "X-Content-Type-Options": "nosniff",
            },
        )

    @router.get("/api/documents/jobs/{job_id}/pictures/{number}", tags=["documents"])
    async def picture(job_id: str, number: int, w: int = 320) -> Response:
        """A JPEG thumbnail of one picture of a finished check (by its number)."""
        job = store.get(job_id)
        if not 0 <= number < len(job.pictures):
            raise HTTPException(404, "no such picture in this check")
        path = job.pictures[number]
        width = min(THUMB_WIDTHS, key=lambda x: abs(x - w))
        async with cpu_slots:
            data = await run_in_threadpool(
                thumbs.get, (str(path), job.id), lambda: str(path), width, render_thumbnail
            )
        if data is None:
            raise HTTPException(404, "this picture cannot be shown")
        return Response(data, media_type="image/jpeg", headers={"Cache-Control": "no-store"})

    return router


def create_documents_app(
    *,
    token: str | None,
    allowed_hosts: Iterable[str] | None = LOOPBACK_HOSTS,
    max_upload_bytes: int = PAGE_UPLOAD_BYTES,
    state_dir: str | os.PathLike[str] | None = None,
) -> FastAPI:
    """The Documents page alone (``lookalike docs --page``): same guard as ``serve``."""
    hosts = None if allowed_hosts is None else {h.strip("[]").lower() for h in allowed_hosts}
    app = FastAPI(title="lookalike documents", version=__version__, docs_url=None, redoc_url=None)
    app.add_middleware(BodyLimit, limit=max_upload_bytes + ENVELOPE_BYTES)
    app.add_middleware(RequestGuard, allowed_hosts=hosts)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        return json_error(exc.status_code, str(exc.detail), getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def internal_error(request: Request, exc: Exception) -> JSONResponse:
        return json_error(500, f"internal error: {type(exc).__name__}")

    slots = asyncio.Semaphore(max(1, min(4, os.cpu_count() or 1)))
    app.include_router(
        documents_router(
            templates=Jinja2Templates(directory=HERE / "templates"),
            token=token,
            embed_token=True,
            cpu_slots=slots,
            max_upload_bytes=max_upload_bytes,
            jobs=DocumentJobs(state_dir),
            page_paths=("/", "/documents"),
            search_link=False,
        )
    )
    return app
