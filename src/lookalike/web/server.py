"""Run the web app under uvicorn with limits that slow or half-sent requests cannot outlast.

uvicorn on its own waits forever for a request head that never completes (its keep-alive
timeout only runs between requests), so a few hundred connections that each send half a
request hold their sockets, and past the process's open-file limit nobody else gets in.
:class:`GuardedH11Protocol` therefore closes a connection

* whose request head is not complete ``head_timeout`` seconds after its first byte (or
  after the connection opened), answering ``408`` first;
* whose request body has not fully arrived ``body_timeout`` seconds after its head, unless
  the server itself stopped reading it (back-pressure while the app is busy).

:func:`run` adds uvicorn's ``limit_concurrency`` (503 past it), a short keep-alive and the
soft ``RLIMIT_NOFILE`` raised to the hard limit.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import h11
from uvicorn import Config, Server
from uvicorn.protocols.http.h11_impl import H11Protocol

#: Seconds a client has to send a whole request head.
HEAD_TIMEOUT = 10.0
#: Seconds a client has to send a whole request body, once its head is in.
BODY_TIMEOUT = 120.0
#: Connections (and requests) at once before uvicorn answers 503 (and at most the open-file
#: limit less a reserve for the collection's own files).
LIMIT_CONCURRENCY = 1000
#: Seconds an idle keep-alive connection is kept open.
KEEP_ALIVE = 5

_BODY_408 = b'{"error": "the request took too long to send"}'
_TIMEOUT_408 = (
    b"HTTP/1.1 408 Request Timeout\r\ncontent-type: application/json\r\n"
    b"connection: close\r\ncontent-length: %d\r\n\r\n%s" % (len(_BODY_408), _BODY_408)
)


class GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with deadlines for the request head and the request body."""

    head_timeout: float = HEAD_TIMEOUT
    body_timeout: float = BODY_TIMEOUT

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._head_timer: asyncio.TimerHandle | None = None
        self._body_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        """Start the head deadline as soon as the connection opens."""
        super().connection_made(transport)
        self._head_timer = self.loop.call_later(self.head_timeout, self._head_expired)

    def connection_lost(self, exc: Exception | None) -> None:
        """Drop the deadlines with the connection."""
        self._cancel_timers()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        """Track where the request stands: head pending, body pending, or complete."""
        if self.conn.their_state is h11.IDLE and self._head_timer is None:
            # The first byte of a further request on a kept-alive connection.
            self._head_timer = self.loop.call_later(self.head_timeout, self._head_expired)
        super().data_received(data)
        self._update_timers()

    def on_response_complete(self) -> None:
        """Between requests uvicorn's keep-alive timeout applies, not ours."""
        self._cancel_timers()
        super().on_response_complete()

    def _update_timers(self) -> None:
        state = self.conn.their_state
        if state is not h11.IDLE and self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None
        if state is h11.SEND_BODY and self._body_timer is None:
            self._body_timer = self.loop.call_later(self.body_timeout, self._body_expired)
        elif state is not h11.SEND_BODY and self._body_timer is not None:
            self._body_timer.cancel()
            self._body_timer = None

    def _cancel_timers(self) -> None:
        for timer in (self._head_timer, self._body_timer):
            if timer is not None:
                timer.cancel()
        self._head_timer = self._body_timer = None

    def _head_expired(self) -> None:
        self._head_timer = None
        if self.transport.is_closing() or self.conn.their_state is not h11.IDLE:
            return
        if self.cycle is None or self.cycle.response_complete:
            with contextlib.suppress(Exception):
                self.transport.write(_TIMEOUT_408)
        self.transport.close()

    def _body_expired(self) -> None:
        self._body_timer = None
        if self.transport.is_closing() or self.conn.their_state is not h11.SEND_BODY:
            return
        if self.flow is not None and self.flow.read_paused:
            # We stopped reading (the app is busy): not the client's fault; look again later.
            self._body_timer = self.loop.call_later(self.body_timeout, self._body_expired)
            return
        self.transport.close()  # the app's receive() sees the disconnect


def raise_open_file_limit() -> tuple[int, int] | None:
    """Raise the soft ``RLIMIT_NOFILE`` to the hard limit; the (soft, hard) now, if known."""
    try:
        import resource
    except ImportError:  # pragma: no cover - not on POSIX
        return None
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        target = hard if hard != resource.RLIM_INFINITY else max(soft, 65536)
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)


def make_server(
    app: Any,
    *,
    host: str,
    port: int,
    log_level: str = "info",
    head_timeout: float = HEAD_TIMEOUT,
    body_timeout: float = BODY_TIMEOUT,
    limit_concurrency: int = LIMIT_CONCURRENCY,
    keep_alive: int = KEEP_ALIVE,
) -> Server:
    """A uvicorn server for ``app`` speaking HTTP/1.1 through :class:`GuardedH11Protocol`."""
    protocol = type(
        "GuardedH11",
        (GuardedH11Protocol,),
        {"head_timeout": head_timeout, "body_timeout": body_timeout},
    )
    config = Config(
        app,
        host=host,
        port=port,
        log_level=log_level,
        http=protocol,
        ws="none",
        lifespan="off",
        limit_concurrency=limit_concurrency,
        timeout_keep_alive=keep_alive,
        server_header=False,
    )
    return Server(config)


def run(app: Any, **options: Any) -> None:
    """Serve ``app`` until interrupted (see :func:`make_server` for the options)."""
    limits = raise_open_file_limit()
    if limits is not None and "limit_concurrency" not in options:
        options["limit_concurrency"] = max(16, min(LIMIT_CONCURRENCY, limits[0] - 128))
    make_server(app, **options).run()


def serve_page_on_loopback(app: Any, name: str, name_zh: str, *, open_browser: bool) -> None:
    """Serve ``app`` on a free 127.0.0.1 port until Ctrl+C, opening the browser on it.

    A page started for one person (``dupes --review``, ``docs --page``), not a server; its
    address is announced on stderr as "lookalike: NAME at URL (Ctrl+C to stop) / NAME_ZH".
    """
    import socket
    import sys
    import threading
    import webbrowser

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    url = f"http://127.0.0.1:{sock.getsockname()[1]}/"
    server = make_server(app, host="127.0.0.1", port=0, log_level="warning")
    print(f"lookalike: {name} at {url} (Ctrl+C to stop) / {name_zh}", file=sys.stderr, flush=True)
    if open_browser:

        def opener() -> None:
            for _ in range(200):
                if server.started:
                    webbrowser.open(url)
                    return
                threading.Event().wait(0.05)

        threading.Thread(target=opener, daemon=True).start()
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()
