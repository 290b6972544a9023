"""The web face of a collection: one page to search by example and a JSON API.

Why a web app at all: people drop, paste or link an image and see what looks like it;
programs get the same answers as ``lookalike search --json`` over HTTP. Page, API and CLI
are three faces of one :class:`~lookalike.search.collection.Collection`.

Boundaries checked here, once (the library trusts what passes):

* the ``Host`` header must name this server (loopback names, the bound address, and what
  ``--allow-host`` adds): another name is answered 421, so a DNS-rebinding page that
  points its own name at 127.0.0.1 reads nothing;
* a request that changes or spends something (POST, PUT, PATCH, DELETE) from a browser
  page of another origin is refused 403 (``Origin``, else ``Sec-Fetch-Site``); API clients
  that send neither pass;
* request bodies are capped: a ``Content-Length`` over the limit is refused before any
  byte is read, and a body without one is counted as it streams and cut off at the limit;
* an upload must decode as an image (``DecodeError`` -> 400 with the reason), and its
  header must promise no more decoding memory than one request's share of the server's
  budget (checked before any pixel is decoded); uploads are stored under the extension of
  their sniffed format, never the uploader's, and nothing refused stays on disk;
* malformed input (deeply nested JSON, broken multipart, decompression bombs in PNG text
  or ICC chunks) is a 400, and error messages carry no absolute paths;
* every decode and every score runs inside the CPU semaphore (one request's share of the
  memory budget each);
* URLs are fetched only through :func:`lookalike.sources.urls.fetch`, which refuses
  loopback, private and link-local addresses unless the server allows them;
* only images in the catalog are served (:meth:`Collection.image`), by id;
* writes (add, remove) need ``Authorization: Bearer TOKEN`` when a token is configured
  (``lookalike serve`` makes one up at start-up unless told otherwise);
* every error is JSON ``{"error": "..."}`` with a status code that means something.

The query of a search is kept a few minutes under a random ``query_id`` so that the
side-by-side comparison (``POST /api/compare``) need not upload it again.
"""

from __future__ import annotations

import asyncio
import hmac
import io
import json
import math
import os
import re
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from PIL import Image
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect

from lookalike import __version__
from lookalike.comparison import compare
from lookalike.decode import SourceInfo, probe
from lookalike.errors import CollectionError, DecodeError, LookalikeError
from lookalike.reports.thumbnails import make_thumbnail
from lookalike.search.collection import Collection
from lookalike.sources.urls import fetch_async

HERE = Path(__file__).resolve().parent
#: Both languages of the page; the first is the fallback.
LANGUAGES = ("en", "zh")
#: Bytes a multipart envelope may add around the files (boundaries, part headers, fields).
ENVELOPE_BYTES = 64 * 1024
#: Most files one ``POST /api/images`` may carry.
MAX_FILES = 32
#: Largest ``k`` a search may ask for.
MAX_K = 200
#: Thumbnail widths the API renders (anything else is rounded to the nearest).
THUMB_WIDTHS = (160, 320, 480)
#: Formats browsers show as they are; anything else is served as a JPEG rendition.
WEB_FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "GIF": "image/gif", "WEBP": "image/webp"}

#: Host names every server answers to (any port); ``--allow-host`` adds more.
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
#: Methods that change or spend something: refused from other origins.
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
#: Memory the server's decoding and scoring may use at once, unless configured.
MEMORY_BYTES = 2048 << 20
#: One CPU slot gets at least this much of the memory budget (fewer slots when it is small).
MIN_SLOT_BYTES = 512 << 20
#: Bytes a decode and the features after it hold per declared pixel, by Pillow mode (measured
#: with ``Collection.search``: 16-bit greyscale 26, RGBA 20, RGB 8, L 8); others count 28.
WORK_BYTES_PER_PIXEL = {
    "1": 8, "L": 8, "P": 10, "RGB": 10, "YCbCr": 10, "LAB": 10, "HSV": 10, "CMYK": 12,
    "LA": 20, "PA": 20, "RGBA": 20, "RGBa": 20, "La": 20,
}  # fmt: skip
#: Stored uploads are named by their sniffed format (anything else: ``.img``).
FORMAT_EXTENSIONS = {
    "JPEG": ".jpg", "PNG": ".png", "GIF": ".gif", "WEBP": ".webp", "BMP": ".bmp",
    "TIFF": ".tif", "MPO": ".jpg", "HEIF": ".heic", "AVIF": ".avif", "ICO": ".ico",
    "PPM": ".ppm", "TGA": ".tga", "JPEG2000": ".jp2",
}  # fmt: skip
#: An absolute POSIX path inside a message (not the path part of a URL).
_ABSOLUTE_PATH = re.compile(r"(?<![\w:/.%-])/(?:[^\s'\"/]+/)+([^\s'\"/]*)")

#: The page loads nothing from elsewhere and runs no inline script; these headers hold it to that.
PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' blob: data:; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


def json_error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": scrub(message)}, status_code=status, headers=headers)


def scrub(message: str) -> str:
    """``message`` with every absolute path cut to its last part (no folders in errors)."""
    return _ABSOLUTE_PATH.sub(lambda m: m.group(1) or "…", message)


def host_name(value: str) -> str | None:
    """The name part of a ``Host`` header (``[::1]:80`` -> ``::1``), lower case; None if bad."""
    value = value.strip().lower()
    if value.startswith("["):
        name, bracket, rest = value[1:].partition("]")
        if not bracket or (rest and not (rest.startswith(":") and rest[1:].isdigit())):
            return None
    else:
        name, colon, port = value.partition(":")
        if colon and not port.isdigit():
            return None
    name = name.rstrip(".")
    return name if name and not any(c in name for c in "/\\@ ") else None


class RequestGuard:
    """ASGI middleware: the ``Host`` allow-list (421) and the cross-origin write check (403).

    ``allowed_hosts``: lower-case names without ports (any port passes), or None for any.
    A request of an unsafe method passes when it has no ``Origin`` (an API client; a
    browser page of another origin always sends one) or its ``Origin`` is this server as
    the ``Host`` header names it; ``Origin: null`` (sandboxed frames, some redirects) is
    refused, and so is ``Sec-Fetch-Site: cross-site`` without an ``Origin``.
    """

    def __init__(self, app: Callable[..., Awaitable[None]], allowed_hosts: set[str] | None):
        self.app = app
        self.allowed_hosts = allowed_hosts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.lower(): v for k, v in scope["headers"]}
        host = headers.get(b"host", b"").decode("latin-1")
        name = host_name(host)
        if name is None:
            await json_error(400, "missing or invalid Host header")(scope, receive, send)
            return
        if self.allowed_hosts is not None and name not in self.allowed_hosts:
            message = f"this server does not answer to the host name {name!r} (see --allow-host)"
            await json_error(421, message)(scope, receive, send)
            return
        if scope["method"] in UNSAFE_METHODS:
            why = self.cross_origin(headers, scope.get("scheme", "http"), host)
            if why:
                await json_error(403, why)(scope, receive, send)
                return
        await self.app(scope, receive, send)

    @staticmethod
    def cross_origin(headers: dict[bytes, bytes], scheme: str, host: str) -> str | None:
        """Why this request comes from another origin's page, or None when it does not."""
        origin = headers.get(b"origin")
        if origin is None:
            if headers.get(b"sec-fetch-site", b"").lower() == b"cross-site":
                return "cross-site request refused"
            return None
        text = origin.decode("latin-1").strip().lower()
        if text == "null":
            return "cross-site request refused (Origin: null)"
        try:
            parts = urlsplit(text)
            theirs = (parts.scheme, parts.hostname, parts.port)
            ours = urlsplit(f"{scheme}://{host.strip().lower()}")
            mine = (ours.scheme, ours.hostname, ours.port)
        except ValueError:
            return "cross-site request refused (invalid Origin)"
        default = {"http": 80, "https": 443}
        if (theirs[0], theirs[1], theirs[2] or default.get(theirs[0])) != (
            mine[0],
            mine[1],
            mine[2] or default.get(mine[0]),
        ):
            return f"cross-site request refused (Origin {text})"
        return None


class BodyTooLarge(HTTPException):
    """A request body went past the limit while it was streaming in (413)."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"request body too large: the limit is {limit} bytes")


class BodyLimit:
    """ASGI middleware capping request bodies without reading an oversized one.

    A declared ``Content-Length`` over the limit is answered 413 before the app sees any
    of it (up to 4x the limit is read and thrown away first, so that a client still
    sending gets the answer rather than a reset). Otherwise the body is counted chunk by
    chunk as the app reads it, and the read that crosses the limit raises
    :class:`BodyTooLarge`, so the app never holds more than the limit.
    """

    def __init__(self, app: Callable[..., Awaitable[None]], limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None:
            if not declared.isdigit():
                await json_error(400, "invalid Content-Length")(scope, receive, send)
                return
            if int(declared) > self.limit:
                await self._drain(receive, int(declared))
                await BodyLimit._refuse(self.limit, scope, receive, send)
                return
        seen = 0

        async def capped() -> MutableMapping[str, Any]:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise BodyTooLarge(self.limit)
            return message

        await self.app(scope, capped, send)

    async def _drain(self, receive: Receive, declared: int) -> None:
        """Discard (never store) a modestly oversized body, so the client reads our answer.

        Closing on a client still sending makes many clients see a reset instead of the 413;
        bodies far over the limit are not worth the bandwidth and just get the close.
        """
        if declared > 4 * self.limit + ENVELOPE_BYTES:
            return
        while True:
            message = await receive()
            if message["type"] != "http.request" or not message.get("more_body", False):
                return

    @staticmethod
    async def _refuse(limit: int, scope: Scope, receive: Receive, send: Send) -> None:
        response = json_error(413, f"request body too large: the limit is {limit} bytes")
        response.headers["Connection"] = "close"
        await response(scope, receive, send)


class QueryStore:
    """Recent query images under random ids, for a few minutes, bounded in count and bytes."""

    def __init__(self, *, ttl: float = 600.0, max_items: int = 1024, max_bytes: int = 256 << 20):
        self.ttl = ttl
        self.max_items = max_items
        self.max_bytes = max_bytes
        self._items: OrderedDict[str, tuple[float, str, bytes]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def put(self, name: str, data: bytes) -> str:
        """Keep ``data`` and return its new query id."""
        qid = secrets.token_urlsafe(12)
        with self._lock:
            self._items[qid] = (time.monotonic(), name, data)
            self._bytes += len(data)
            self._evict()
        return qid

    def get(self, qid: str) -> tuple[str, bytes] | None:
        """The (name, bytes) kept under ``qid``, or ``None`` once expired or evicted."""
        with self._lock:
            self._evict()
            item = self._items.get(qid)
            return None if item is None else (item[1], item[2])

    def _evict(self) -> None:
        now = time.monotonic()
        while self._items:
            qid, (born, _, data) = next(iter(self._items.items()))
            stale = now - born > self.ttl
            if not (stale or len(self._items) > self.max_items or self._bytes > self.max_bytes):
                break
            del self._items[qid]
            self._bytes -= len(data)


class ThumbnailCache:
    """Rendered thumbnails, keyed by file, size, modification time and width (bounded LRU)."""

    def __init__(self, max_bytes: int = 64 << 20) -> None:
        self.max_bytes = max_bytes
        self._items: OrderedDict[tuple[object, ...], bytes] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(
        self,
        key: tuple[object, ...],
        source: Callable[[], str | bytes],
        width: int,
        render: Callable[[str | bytes, int], bytes | None] | None = None,
    ) -> bytes | None:
        """The thumbnail of ``source()`` ``width`` pixels wide, rendered once per ``key``."""
        key = (*key, width)
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        data = (render or render_thumbnail)(source(), width)
        if data is None:
            return None
        with self._lock:
            self._items[key] = data
            self._bytes += len(data)
            while self._bytes > self.max_bytes and self._items:
                _, old = self._items.popitem(last=False)
                self._bytes -= len(old)
        return data


def render_thumbnail(source: str | bytes, width: int) -> bytes | None:
    """A JPEG of ``source`` scaled to ``width`` pixels wide.

    Tall images stay tall (up to four times the width) so the grid can scroll them on
    hover instead of squashing them; wide ones are ``width`` wide.
    """
    try:
        info = probe(source)
    except DecodeError:
        return None
    w, h = info.width, info.height
    side = width if w >= h else min(4 * width, round(width * h / max(1, w)))
    thumb = make_thumbnail(source, max(1, side))
    return thumb.data if thumb else None


def pick_language(request: Request) -> str:
    """``?lang=``, then the ``lang`` cookie, then the best of Accept-Language; else English."""
    for choice in (request.query_params.get("lang"), request.cookies.get("lang")):
        if choice in LANGUAGES:
            return choice
    ranked: list[tuple[float, int, str]] = []
    for i, part in enumerate(request.headers.get("accept-language", "").split(",")):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        primary = tag.strip().lower().split("-")[0]
        if primary in LANGUAGES and q > 0:
            ranked.append((-q, i, primary))
    return min(ranked)[2] if ranked else LANGUAGES[0]


def _bool_field(value: Any, name: str, default: bool) -> bool:
    if value in (None, ""):
        return default
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise HTTPException(400, f"{name} must be true or false")


def _int_field(value: Any, name: str, default: int, low: int, high: int) -> int:
    if value in (None, ""):
        return default
    try:
        number = int(str(value))
    except ValueError:
        raise HTTPException(400, f"{name} must be an integer") from None
    if not low <= number <= high:
        raise HTTPException(400, f"{name} must be between {low} and {high}")
    return number


class Server:
    """The state behind the routes: the collection and the server's limits and caches."""

    def __init__(
        self,
        collection: Collection,
        *,
        token: str | None,
        allow_private_urls: bool,
        max_upload_bytes: int,
        url_timeout: float,
        memory_bytes: int = MEMORY_BYTES,
    ) -> None:
        self.collection = collection
        self.token = token or None
        self.allow_private_urls = allow_private_urls
        self.max_upload_bytes = max_upload_bytes
        self.url_timeout = url_timeout
        self.queries = QueryStore()
        self.thumbnails = ThumbnailCache()
        # Writes change the catalog and the index together: one at a time.
        self.write_lock = threading.Lock()
        # Decoding, searching, comparing and rendering are CPU work in worker threads: at
        # most one per core runs, the rest wait here first come first served, so a burst of
        # searches cannot take every worker thread. Each slot gets an equal share of the
        # memory budget, and an image whose header promises more is refused undecoded, so
        # all slots together stay within ``memory_bytes``.
        # (Measured: same throughput as unbounded under 50 clients; bench/web_load.py.)
        slots = max(1, min(max(2, os.cpu_count() or 1), memory_bytes // MIN_SLOT_BYTES))
        self.cpu_slots = asyncio.Semaphore(slots)
        self.decode_budget = memory_bytes // slots

    # -- request parts -------------------------------------------------------------------

    def authorize(self, request: Request) -> None:
        """Refuse a write without the configured bearer token (401 absent, 403 wrong)."""
        if self.token is None:
            return
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not given.strip():
            raise HTTPException(
                401,
                "this server needs Authorization: Bearer TOKEN for writes",
                headers={"WWW-Authenticate": "Bearer"},
            )
        if not hmac.compare_digest(given.strip().encode(), self.token.encode()):
            raise HTTPException(403, "wrong token")

    async def fields(self, request: Request) -> FormData | dict[str, Any]:
        """The request's fields: multipart or url-encoded form, or a JSON object (else 400)."""
        ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if ctype == "application/json":
            body = await request.body()
            try:
                data = json.loads(body or b"{}")
            except ValueError as exc:
                raise HTTPException(400, f"invalid JSON: {exc}") from None
            except RecursionError:
                raise HTTPException(400, "invalid JSON: nested too deeply") from None
            if not isinstance(data, dict):
                raise HTTPException(400, "the JSON body must be an object")
            return data
        if ctype in ("multipart/form-data", "application/x-www-form-urlencoded"):
            try:
                return await request.form(max_files=MAX_FILES, max_fields=32)
            except HTTPException:
                raise
            except (ValueError, KeyError, IndexError, UnicodeError) as exc:
                raise HTTPException(400, f"malformed form data: {type(exc).__name__}") from None
        if not ctype:
            return {}
        raise HTTPException(
            415, f"unsupported Content-Type {ctype!r}: send multipart/form-data or JSON"
        )

    async def upload_bytes(self, upload: UploadFile) -> bytes:
        """An upload's bytes, refused (413) past the per-file limit, (400) when empty."""
        data = await upload.read(self.max_upload_bytes + 1)
        if len(data) > self.max_upload_bytes:
            raise HTTPException(
                413, f"{upload.filename or 'upload'}: larger than {self.max_upload_bytes} bytes"
            )
        if not data:
            raise HTTPException(400, f"{upload.filename or 'upload'}: empty file")
        return data

    @staticmethod
    def not_an_image(name: str, exc: DecodeError) -> HTTPException:
        """Content sniffing failed: the bytes do not decode as an image (400, the reason)."""
        return HTTPException(400, f"{name}: not a readable image: {scrub(exc.reason)}")

    def check_image(self, name: str, source: str | bytes) -> SourceInfo:
        """Read ``source``'s header only; refuse what is not an image or is too big to decode.

        Refused (``DecodeError``): no recognisable image header, a header Pillow chokes on
        (a decompression bomb in a PNG text or ICC chunk: "Decompressed data too large"),
        or a declared size whose decoding would need more than this request's share of
        the memory budget (pixels x working bytes per pixel of its mode).
        """
        try:
            info = probe(source)
            with Image.open(io.BytesIO(source) if isinstance(source, bytes) else source) as im:
                mode = im.mode
        except DecodeError as exc:
            raise DecodeError(name, exc.reason) from None
        except Exception as exc:  # Pillow raises ValueError, SyntaxError, struct.error ...
            raise DecodeError(name, f"{type(exc).__name__}: {exc}") from None
        need = info.width * info.height * WORK_BYTES_PER_PIXEL.get(mode, 28)
        if need > self.decode_budget:
            raise DecodeError(
                name,
                f"too large to decode on this server: {info.width}x{info.height} {mode} "
                f"needs about {need >> 20} MB, the limit per request is "
                f"{self.decode_budget >> 20} MB",
            )
        return info

    def store_name(self, name: str, info: SourceInfo) -> str:
        """The name an upload is stored under: its stem, and the extension of its real format."""
        stem = re.sub(r"[^\w.-]+", "_", Path(name).stem)[:64] or "upload"
        return stem + FORMAT_EXTENSIONS.get(info.format or "", ".img")

    async def query_from(self, form: FormData | dict[str, Any]) -> tuple[str, bytes]:
        """The query of a search: an uploaded ``file``, or a ``url`` fetched safely."""
        upload = form.get("file")
        url = form.get("url")
        if isinstance(upload, UploadFile):
            data = await self.upload_bytes(upload)
            name = upload.filename or "upload"
        elif isinstance(url, str) and url.strip():
            url = url.strip()
            try:  # awaited in the event loop: a slow site holds no worker thread
                final, data = await fetch_async(
                    url,
                    max_bytes=self.max_upload_bytes,
                    timeout=self.url_timeout,
                    total=2 * self.url_timeout,
                    allow_private=self.allow_private_urls,
                )
            except LookalikeError as exc:
                raise HTTPException(400, f"cannot fetch {url}: {exc.reason}") from None
            name = final
        else:
            raise HTTPException(400, "send an image as the multipart field 'file', or a 'url'")
        return name, data

    # -- answers -------------------------------------------------------------------------

    @staticmethod
    def hit_urls(hit_id: int) -> dict[str, str]:
        return {
            "thumbnail_url": f"/api/thumbnails/{hit_id}",
            "image_url": f"/api/images/{hit_id}",
        }

    def search(self, name: str, data: bytes, k: int, verify: bool = True) -> dict[str, Any]:
        """Run a search and shape it as the CLI's JSON plus ids and URLs for the page.

        The collection decodes the query: an undecodable one is refused here (400).
        Call it inside :attr:`cpu_slots`.
        """
        try:
            self.check_image(name, data)
            result = self.collection.search(data, k=k, verify=verify)
        except DecodeError as exc:
            raise self.not_an_image(name, exc) from None
        out = result.to_dict()
        out["query"] = name
        for row in out["results"]:
            # -- video hits (issue 14): the video's URL, to play from the matched time --
            if row.get("video"):
                row["video_url"] = f"/api/videos/{row['id']}"
                row["frame_url"] = f"/api/videos/{row['id']}/frame?t={row['time'] or 0:.3f}"
                continue
            row.update(self.hit_urls(row["id"]))
        qid = self.queries.put(name, data)
        out["query_id"] = qid
        out["query_image_url"] = f"/api/queries/{qid}"
        return out

    def catalog_path(self, image_id: str | int) -> tuple[int, str]:
        """The id and catalog path of an indexed image, or 404.

        Only decimal ids are accepted (never paths), and only what the collection says it
        holds is served: ``..%2F``, absolute paths and unknown ids all end here as 404.
        """
        text = str(image_id)
        if not (text.isascii() and text.isdigit()) or len(text) > 18:
            raise HTTPException(404, f"no image {text!r} in this collection")
        try:
            return int(text), self.collection.image(int(text))
        except LookalikeError:
            raise HTTPException(404, f"no image {text!r} in this collection") from None

    def image_bytes_or_file(self, image_id: int, path: str) -> str | bytes:
        """A plain file's path, or the bytes of an archive member (read by the collection)."""
        return path if os.path.isfile(path) else self.collection.read(image_id)

    def thumbnail(self, image_id: int, path: str, width: int) -> bytes | None:
        """A catalog image's thumbnail (cached); None when it cannot be rendered here."""
        try:
            st = os.stat(path)
            key: tuple[object, ...] = (path, st.st_size, st.st_mtime_ns)
        except OSError:  # an archive member: its bytes come from the collection
            key = (path, image_id)
        return self.thumbnails.get(
            key, lambda: self.image_bytes_or_file(image_id, path), width, self.render
        )

    def video_frame(self, video_id: str, seconds: float) -> bytes:
        """A JPEG of the frame a stored video shows at ``seconds`` (a video hit's still);
        404 for anything the collection does not hold, 422 when no frame decodes there."""
        path = self.video_path(video_id)
        from lookalike.video.frames import frame_jpeg

        try:
            return frame_jpeg(path, seconds, side=480)
        except DecodeError as exc:
            raise HTTPException(422, f"video {video_id}: {scrub(exc.reason)}") from None

    def video_path(self, video_id: str) -> str:
        """The path of a stored video by its decimal id, or 404 (only what the collection
        holds is served, never a path from the request)."""
        if not (video_id.isascii() and video_id.isdigit()) or len(video_id) > 18:
            raise HTTPException(404, f"no video {video_id!r} in this collection")
        try:
            path = self.collection.video(int(video_id))
        except LookalikeError:
            raise HTTPException(404, f"no video {video_id!r} in this collection") from None
        if not os.path.isfile(path):
            raise HTTPException(404, f"video {video_id!r} is gone from disk")
        return path

    def render(self, source: str | bytes, width: int) -> bytes | None:
        """:func:`render_thumbnail` within the memory budget; None when refused or broken."""
        try:
            self.check_image("image", source)
        except DecodeError:
            return None
        return render_thumbnail(source, width)


def create_app(
    collection: Collection,
    *,
    token: str | None = None,
    allow_private_urls: bool = False,
    max_upload_bytes: int = 20 << 20,
    url_timeout: float = 10.0,
    allowed_hosts: Iterable[str] | None = LOOPBACK_HOSTS,
    embed_token: bool = False,
    memory_bytes: int = MEMORY_BYTES,
) -> FastAPI:
    """The FastAPI app serving ``collection``: the page at ``/``, the API under ``/api``.

    ``token``: when set, adding and removing images need ``Authorization: Bearer TOKEN``.
    ``embed_token``: hand the token to the page (in its HTML, which other sites cannot read).
    ``allow_private_urls``: let URL searches reach loopback and private networks (tests,
    intranets); off by default, so the server cannot be used to probe its own network.
    ``max_upload_bytes``: the largest image accepted (upload or fetched URL).
    ``allowed_hosts``: the names the ``Host`` header may carry (None: any).
    ``memory_bytes``: what decoding and scoring may use at once, all requests together.
    """
    server = Server(
        collection,
        token=token,
        allow_private_urls=allow_private_urls,
        max_upload_bytes=max_upload_bytes,
        url_timeout=url_timeout,
        memory_bytes=memory_bytes,
    )
    hosts = None if allowed_hosts is None else {h.strip("[]").lower() for h in allowed_hosts}
    app = FastAPI(
        title="lookalike",
        version=__version__,
        description="Search a collection of images by example (upload or URL). "
        '以图搜图：上传图片或输入网址，查找相似图片。 Errors are JSON `{"error": ...}`.',
    )
    app.state.server = server
    app.add_middleware(BodyLimit, limit=max_upload_bytes + ENVELOPE_BYTES)
    app.add_middleware(RequestGuard, allowed_hosts=hosts)  # outermost: before any body
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    templates = Jinja2Templates(directory=HERE / "templates")
    texts = json.loads((HERE / "static" / "i18n.json").read_text(encoding="utf-8"))

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        return json_error(exc.status_code, str(exc.detail), getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        parts = [f"{'.'.join(map(str, e.get('loc', ())))}: {e.get('msg')}" for e in exc.errors()]
        return json_error(422, "; ".join(parts) or "invalid request")

    @app.exception_handler(CollectionError)
    async def collection_error(request: Request, exc: CollectionError) -> JSONResponse:
        return json_error(500, exc.reason)

    @app.exception_handler(DecodeError)
    async def decode_error(request: Request, exc: DecodeError) -> JSONResponse:
        return json_error(400, f"not a readable image: {exc.reason}")

    @app.exception_handler(ClientDisconnect)
    async def client_gone(request: Request, exc: ClientDisconnect) -> JSONResponse:
        # Gave up (or was cut off for sending too slowly) mid-body: no one reads this answer.
        return json_error(400, "the client went away before the request was complete")

    @app.exception_handler(RecursionError)
    async def recursion_error(request: Request, exc: RecursionError) -> JSONResponse:
        return json_error(400, "the request is nested too deeply")

    @app.exception_handler(LookalikeError)
    async def lookalike_error(request: Request, exc: LookalikeError) -> JSONResponse:
        return json_error(400, str(exc))

    @app.exception_handler(Exception)
    async def internal_error(request: Request, exc: Exception) -> JSONResponse:
        return json_error(500, f"internal error: {type(exc).__name__}")

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def page(request: Request) -> Response:
        lang = pick_language(request)
        response = templates.TemplateResponse(
            request,
            "index.html",
            {
                "lang": lang,
                "t": texts[lang],
                "texts": texts,
                "version": __version__,
                "max_upload_bytes": max_upload_bytes,
                "token": server.token if embed_token else None,
            },
        )
        if embed_token:
            response.headers["Cache-Control"] = "no-store"
        response.headers["Content-Language"] = lang
        response.headers["Vary"] = "Accept-Language, Cookie"
        response.headers.update(PAGE_HEADERS)
        return response

    image_form = {"type": "string", "format": "binary", "description": "the query image"}
    search_body = {
        "requestBody": {
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "properties": {
                            "file": image_form,
                            "url": {"type": "string", "description": "or: an image URL"},
                            "k": {"type": "integer", "default": 20, "maximum": MAX_K},
                            "verify": {
                                "type": "boolean",
                                "default": True,
                                "description": "score candidates with the cascade "
                                "(ORB for crops); false: nearest pHash codes only, faster",
                            },
                        },
                    }
                }
            }
        }
    }

    @app.post("/api/search", openapi_extra=search_body, tags=["search"])
    async def api_search(request: Request) -> dict[str, Any]:
        """Search by example: multipart `file`, or `url` (form or JSON); optional `k`, `verify`.

        Answers the JSON of `lookalike search --json`, each result with its `id`,
        `thumbnail_url` and `image_url`, plus a `query_id` for `/api/compare`.
        """
        form = await server.fields(request)
        k = _int_field(form.get("k"), "k", 20, 1, MAX_K)
        verify = _bool_field(form.get("verify"), "verify", True)
        name, data = await server.query_from(form)
        async with server.cpu_slots:
            return await run_in_threadpool(server.search, name, data, k, verify)

    add_body = {
        "requestBody": {
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "properties": {"files": {"type": "array", "items": image_form}},
                        "required": ["files"],
                    }
                }
            }
        }
    }

    @app.post("/api/images", openapi_extra=add_body, status_code=201, tags=["collection"])
    async def api_add(request: Request) -> dict[str, Any]:
        """Add images (multipart `files`, repeatable) to the collection. Needs the token.

        Together they may weigh up to the server's upload limit; each must decode as an
        image, else nothing is stored (400 naming the file).
        """
        server.authorize(request)
        form = await server.fields(request)
        if isinstance(form, dict):
            raise HTTPException(400, "send the images as multipart/form-data field 'files'")
        uploads = [u for key in ("files", "file") for u in form.getlist(key)]
        uploads = [u for u in uploads if isinstance(u, UploadFile)]
        if not uploads:
            raise HTTPException(400, "no files: send images as the multipart field 'files'")
        sources: list[tuple[str, bytes]] = []
        total = 0
        for upload in uploads:
            data = await server.upload_bytes(upload)
            total += len(data)
            if total > max_upload_bytes:
                raise HTTPException(413, f"the files together exceed {max_upload_bytes} bytes")
            name = Path(upload.filename or "upload").name or "upload"
            sources.append((name, data))

        def add() -> list[dict[str, Any]]:
            stored: list[tuple[str, bytes]] = []
            for name, data in sources:  # every header first: nothing is written for a refusal
                try:
                    info = server.check_image(name, data)
                except DecodeError as exc:
                    raise server.not_an_image(name, exc) from None
                stored.append((server.store_name(name, info), data))
            with server.write_lock:
                folder = Path(server.collection.directory) / "uploads"
                before = set(os.listdir(folder)) if folder.is_dir() else set()
                try:
                    ids = server.collection.add(stored)
                except DecodeError as exc:
                    # Remove what this call wrote (catalog entries and files) before refusing.
                    new = set(os.listdir(folder)) - before if folder.is_dir() else set()
                    if new:
                        server.collection.remove([str(folder / n) for n in sorted(new)])
                        for n in new:
                            (folder / n).unlink(missing_ok=True)
                    names = {s: n for (s, _), (n, _) in zip(stored, sources, strict=True)}
                    failed = names.get(exc.source or "") or (
                        sources[0][0] if len(sources) == 1 else "one of the uploads"
                    )
                    raise server.not_an_image(failed, exc) from None
                added = []
                for image_id, (name, _) in zip(ids, sources, strict=True):
                    path = server.collection.image(image_id)
                    added.append(
                        {"id": image_id, "name": name, "path": path, **server.hit_urls(image_id)}
                    )
                return added

        async with server.cpu_slots:
            return {"added": await run_in_threadpool(add)}

    @app.delete("/api/images/{image_id}", tags=["collection"])
    async def api_remove(image_id: str, request: Request) -> dict[str, Any]:
        """Remove one image from the collection (the file itself stays). Needs the token."""
        server.authorize(request)
        number, path = server.catalog_path(image_id)

        def remove() -> int:
            with server.write_lock:
                return server.collection.remove([path])

        return {"removed": await run_in_threadpool(remove), "id": number, "path": path}

    @app.get("/api/stats", tags=["collection"])
    async def api_stats() -> dict[str, Any]:
        """What the collection holds, and this server's limits."""
        stats = await run_in_threadpool(server.collection.stats)
        return {
            **stats,
            "server": {
                "version": __version__,
                "max_upload_bytes": max_upload_bytes,
                "token_required": server.token is not None,
                "allow_private_urls": allow_private_urls,
            },
        }

    @app.get("/api/images/{image_id}", tags=["collection"])
    async def api_image(image_id: str) -> Response:
        """The image file (browser formats as is, others as a JPEG rendition)."""
        number, path = server.catalog_path(image_id)
        source = await run_in_threadpool(server.image_bytes_or_file, number, path)
        try:  # the header only: files browsers show are sent as they are, never decoded
            fmt = (await run_in_threadpool(probe, source)).format
        except DecodeError as exc:
            raise HTTPException(422, f"{image_id}: {scrub(exc.reason)}") from None
        except Exception as exc:  # a header Pillow chokes on (ValueError, SyntaxError ...)
            raise HTTPException(
                422, f"{image_id}: unreadable header ({type(exc).__name__})"
            ) from None
        headers = {"Cache-Control": "private, max-age=3600", "X-Content-Type-Options": "nosniff"}
        if fmt in WEB_FORMATS:
            if isinstance(source, bytes):
                return Response(source, media_type=WEB_FORMATS[fmt], headers=headers)
            return FileResponse(source, media_type=WEB_FORMATS[fmt], headers=headers)
        async with server.cpu_slots:
            data = await run_in_threadpool(server.render, source, 2048)
        if data is None:
            raise HTTPException(422, f"{image_id}: cannot be rendered")
        return Response(data, media_type="image/jpeg", headers=headers)

    # -- videos (issue 14): a video hit's file, with HTTP range requests (FileResponse) ---
    @app.get("/api/videos/{video_id}", tags=["collection"])
    async def api_video(video_id: str) -> Response:
        """A video of the collection by its id (a video hit's ``id``); ranges supported."""
        path = await run_in_threadpool(server.video_path, video_id)
        import mimetypes

        media = mimetypes.guess_type(path)[0] or "video/mp4"
        headers = {"Cache-Control": "private, max-age=3600", "X-Content-Type-Options": "nosniff"}
        return FileResponse(path, media_type=media, headers=headers)

    @app.get("/api/videos/{video_id}/frame", tags=["collection"])
    async def api_video_frame(video_id: str, t: float = 0.0) -> Response:
        """The frame the video shows at ``t`` seconds, as a JPEG (480 px): the still of a
        video hit, shown even where the browser cannot play the video's codec."""
        if not math.isfinite(t) or not 0.0 <= t <= 86_400.0:
            raise HTTPException(422, "t: seconds from the start, 0 to 86400")
        async with server.cpu_slots:
            data = await run_in_threadpool(server.video_frame, video_id, t)
        return Response(
            data,
            media_type="image/jpeg",
            headers={"Cache-Control": "private, max-age=3600", "X-Content-Type-Options": "nosniff"},
        )

    # -- end videos --------------------------------------------------------------------

    @app.get("/api/thumbnails/{image_id}", tags=["collection"])
    async def api_thumbnail(image_id: str, w: int = 320) -> Response:
        """A JPEG thumbnail ``w`` pixels wide (160, 320 or 480); tall images stay tall."""
        number, path = server.catalog_path(image_id)
        width = min(THUMB_WIDTHS, key=lambda x: abs(x - w))
        async with server.cpu_slots:
            data = await run_in_threadpool(server.thumbnail, number, path, width)
        if data is None:
            raise HTTPException(422, f"{image_id}: cannot be rendered")
        return Response(
            data,
            media_type="image/jpeg",
            headers={"Cache-Control": "private, max-age=3600", "X-Content-Type-Options": "nosniff"},
        )

    @app.get("/api/queries/{query_id}", tags=["search"])
    async def api_query_image(query_id: str) -> Response:
        """The query image of a recent search (kept about ten minutes), as a JPEG."""
        kept = server.queries.get(query_id)
        if kept is None:
            raise HTTPException(404, "this query has expired: search again")
        async with server.cpu_slots:
            data = await run_in_threadpool(server.render, kept[1], 2048)
        if data is None:  # pragma: no cover - queries are checked when they arrive
            raise HTTPException(422, "the query cannot be rendered")
        return Response(data, media_type="image/jpeg", headers={"Cache-Control": "no-store"})

    compare_body = {
        "requestBody": {
            "content": {
                "application/json": {
                    "schema": {
                        "type": "object",
                        "properties": {
                            "id": {"type": "string", "description": "a catalog image id"},
                            "query_id": {"type": "string", "description": "from /api/search"},
                        },
                        "required": ["id", "query_id"],
                    }
                },
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "properties": {
                            "id": {"type": "string"},
                            "query_id": {"type": "string"},
                            "file": image_form,
                            "url": {"type": "string"},
                        },
                        "required": ["id"],
                    }
                },
            }
        }
    }

    @app.post("/api/compare", openapi_extra=compare_body, tags=["search"])
    async def api_compare(request: Request) -> dict[str, Any]:
        """Every method's score for the query against one catalog image (side by side).

        The query is a recent search's `query_id`, or the image again as `file` or `url`.
        """
        form = await server.fields(request)
        image_id = form.get("id")
        if not isinstance(image_id, str | int) or str(image_id) == "":
            raise HTTPException(400, "name the catalog image to compare with: 'id'")
        number, path = server.catalog_path(str(image_id))
        qid = form.get("query_id")
        if isinstance(qid, str) and qid:
            kept = server.queries.get(qid)
            if kept is None:
                raise HTTPException(404, "this query has expired: search again")
            name, data = kept
        elif isinstance(form.get("file"), UploadFile) or form.get("url"):
            name, data = await server.query_from(form)
        else:
            raise HTTPException(
                400, "send the query as 'query_id' (from a search), 'file' or 'url'"
            )
        other = await run_in_threadpool(server.image_bytes_or_file, number, path)

        def check_and_compare() -> Any:
            server.check_image(name, data)
            try:
                server.check_image(str(number), other)
            except DecodeError as exc:
                raise HTTPException(422, f"{number}: {scrub(exc.reason)}") from None
            return compare(data, other)

        try:
            async with server.cpu_slots:
                result = await run_in_threadpool(check_and_compare)
        except DecodeError as exc:
            raise server.not_an_image(name, exc) from None
        out = result.to_dict()
        out["a"] = name
        out["b"] = path
        out["id"] = number
        out["methods"] = [{"method": m, **s} for m, s in out["methods"].items()]
        return out

    # --- Documents tab (issue 12): its page and API live in web/documents.py ---
    from lookalike.web.documents import documents_router

    app.include_router(
        documents_router(
            templates=templates,
            token=server.token,
            embed_token=embed_token,
            cpu_slots=server.cpu_slots,
            max_upload_bytes=max_upload_bytes,
        )
    )
    # --- end of the Documents tab ---
    return app
