"""sources/urls.fetch against a real HTTP server on 127.0.0.1: limits, redirects, refusals."""

from __future__ import annotations

import ipaddress
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest

from lookalike.errors import LookalikeError
from lookalike.sources.urls import FetchError, check_address, fetch

SAMPLE = Path(__file__).resolve().parents[2] / "samples" / "Kite.jpg"


class _Handler(BaseHTTPRequestHandler):
    image = SAMPLE.read_bytes()
    hosts: ClassVar[list[str]] = []

    def log_message(self, *args: object) -> None:  # quiet
        pass

    def do_GET(self) -> None:
        _Handler.hosts.append(self.headers.get("Host", ""))
        path = self.path
        if path == "/kite.jpg":
            self._send(200, self.image, "image/jpeg")
        elif path.startswith("/hop/"):
            n = int(path.rsplit("/", 1)[1])
            self.send_response(302)
            self.send_header("Location", f"/hop/{n - 1}" if n > 1 else "/kite.jpg")
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif path == "/to-file":
            self.send_response(301)
            self.send_header("Location", "file:///etc/passwd")
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif path == "/huge":
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.end_headers()  # no Content-Length: the limit must hold while streaming
            try:
                for _ in range(64):
                    self.wfile.write(b"\0" * 65536)
            except OSError:
                pass
        elif path == "/huge-declared":
            self.send_response(200)
            self.send_header("Content-Length", str(10**9))
            self.end_headers()
        elif path == "/slow":
            time.sleep(2.0)
            self._send(200, self.image, "image/jpeg")
        else:
            self._send(404, b"no", "text/plain")

    def _send(self, code: int, body: bytes, ctype: str) -> None:
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_fetches_an_image_when_private_is_allowed(server: str) -> None:
    final, data = fetch(f"{server}/kite.jpg", allow_private=True)
    assert data == SAMPLE.read_bytes()
    assert final == f"{server}/kite.jpg"


def test_localhost_name_is_resolved_checked_and_sent_as_host(server: str) -> None:
    url = server.replace("127.0.0.1", "localhost") + "/kite.jpg"
    with pytest.raises(FetchError, match="loopback"):
        fetch(url)
    _Handler.hosts.clear()
    _, data = fetch(url, allow_private=True)
    assert data == SAMPLE.read_bytes()
    assert _Handler.hosts[-1].startswith("localhost:")  # connected by IP, Host kept


def test_loopback_refused_by_default_without_a_request(server: str) -> None:
    _Handler.hosts.clear()
    with pytest.raises(FetchError, match="loopback") as info:
        fetch(f"{server}/kite.jpg")
    assert info.value.source == f"{server}/kite.jpg"
    assert isinstance(info.value, LookalikeError)
    assert _Handler.hosts == []


def test_redirect_chain_followed_up_to_five(server: str) -> None:
    final, data = fetch(f"{server}/hop/4", allow_private=True)
    assert final.endswith("/kite.jpg") and data == SAMPLE.read_bytes()
    with pytest.raises(FetchError, match="more than 5 redirects"):
        fetch(f"{server}/hop/6", allow_private=True)


def test_every_redirect_is_checked(server: str) -> None:
    """Each hop goes through the same checks: a redirect to file:// is refused even when
    private addresses are allowed (the first hop, on 127.0.0.1, was fetched)."""
    with pytest.raises(FetchError, match="only http and https") as info:
        fetch(f"{server}/to-file", allow_private=True)
    assert info.value.source == "file:///etc/passwd"


def test_huge_body_stops_at_the_limit(server: str) -> None:
    with pytest.raises(FetchError, match="too large"):
        fetch(f"{server}/huge", allow_private=True, max_bytes=1_000_000)
    with pytest.raises(FetchError, match="too large: 1000000000 bytes"):
        fetch(f"{server}/huge-declared", allow_private=True)


def test_slow_response_times_out(server: str) -> None:
    t0 = time.monotonic()
    with pytest.raises(FetchError, match="timed out"):
        fetch(f"{server}/slow", allow_private=True, timeout=0.3)
    assert time.monotonic() - t0 < 1.5


@pytest.fixture
def dripping() -> Iterator[str]:
    """A raw server on 127.0.0.1 that sends its response head one byte every 0.2 s."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(10)
    stop = threading.Event()

    def drip() -> None:
        try:
            conn, _ = listener.accept()
        except OSError:
            return
        with conn:
            conn.recv(4096)
            head = b"HTTP/1.1 200 OK\r\n" + b"X-Slow: " + b"a" * 400 + b"\r\n\r\n"
            for byte in head:
                if stop.wait(0.2):
                    return
                try:
                    conn.sendall(bytes([byte]))
                except OSError:
                    return

    thread = threading.Thread(target=drip, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}/drip.jpg"
    stop.set()
    listener.close()
    thread.join(5)


def test_headers_dripped_byte_by_byte_hit_the_total_deadline(dripping: str) -> None:
    """Every read returns within the per-read timeout, yet the fetch ends at ``total``."""
    t0 = time.monotonic()
    with pytest.raises(FetchError, match="too slow") as info:
        fetch(dripping, allow_private=True, timeout=1.0, total=1.5)
    assert 1.4 < time.monotonic() - t0 < 3.0
    assert info.value.source == dripping


def test_the_total_deadline_defaults_to_four_timeouts(dripping: str) -> None:
    t0 = time.monotonic()
    with pytest.raises(FetchError, match="too slow"):
        fetch(dripping, allow_private=True, timeout=0.5)
    assert 1.9 < time.monotonic() - t0 < 3.5


def test_http_error_status(server: str) -> None:
    with pytest.raises(FetchError, match="HTTP 404"):
        fetch(f"{server}/missing", allow_private=True)


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("file:///etc/passwd", "only http and https"),
        ("ftp://example.com/a.jpg", "only http and https"),
        ("gopher://example.com/", "only http and https"),
        ("http://169.254.169.254/latest/meta-data/", "link-local"),
        ("http://[::1]/", "loopback"),
        ("http://[::ffff:127.0.0.1]/", "loopback"),
        ("http://[::ffff:10.0.0.1]/", "private"),
        ("http://10.1.2.3/", "private"),
        ("http://192.168.0.1/", "private"),
        ("http://0.0.0.0/", "unspecified"),
        ("http://224.0.0.1/", "multicast"),
        ("http://[fe80::1]/", "link-local"),
        ("http://100.64.0.1/", "not a public"),
        ("http://user:pw@example.com/", "credentials"),
        ("http:///nohost", "no host"),
    ],
)
def test_refused_without_any_connection(url: str, reason: str, monkeypatch) -> None:
    def no_connect(*args: object, **kwargs: object) -> None:
        raise AssertionError("a connection was attempted")

    monkeypatch.setattr(socket, "create_connection", no_connect)
    monkeypatch.setattr(socket.socket, "connect", no_connect)
    with pytest.raises(FetchError, match=reason) as info:
        fetch(url)
    assert info.value.source == url


def test_public_addresses_pass_the_check() -> None:
    assert check_address(ipaddress.ip_address("93.184.216.34")) is None
    assert check_address(ipaddress.ip_address("2606:4700::1111")) is None
    assert check_address(ipaddress.ip_address("64:ff9b::a00:1")) is not None  # NAT64 of 10.0.0.1
    assert check_address(ipaddress.ip_address("2002:7f00:1::")) is not None  # 6to4 of 127.0.0.1
