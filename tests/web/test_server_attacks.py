"""The attack round on `lookalike serve`, replayed against real servers on 127.0.0.1.

One class of attack per section: foreign Host names (DNS rebinding), cross-site writes,
slow and half-sent requests (to the server, and from a site a URL points to), malformed
input, and images whose header promises more memory than a request may use. Inputs are
small and generated; every wait is bounded by a socket or client timeout.
"""

from __future__ import annotations

import http.client
import io
import os
import re
import shutil
import socket
import struct
import threading
import time
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

httpx = pytest.importorskip("httpx")
pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")

from lookalike_server import Served, serve, stop  # noqa: E402

from lookalike.cli.serve_command import allowed_hosts  # noqa: E402
from lookalike.search.collection import Collection  # noqa: E402
from lookalike.web.app import host_name, scrub  # noqa: E402

HEAD_TIMEOUT = 2
BODY_TIMEOUT = 3


def png(size: tuple[int, int] = (64, 48), color: str = "teal") -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, "PNG")
    return buf.getvalue()


def chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def with_chunk(kind: bytes, data: bytes) -> bytes:
    """A small valid PNG with one extra chunk before its image data."""
    raw = png()
    at = raw.index(b"IDAT") - 4
    return raw[:at] + chunk(kind, data) + raw[at:]


def header_only_png(width: int, height: int, depth: int = 16, color: int = 0) -> bytes:
    """A PNG that declares ``width`` x ``height`` pixels but carries a few bytes of data."""
    ihdr = struct.pack(">IIBBBBB", width, height, depth, color, 0, 0, 0)
    idat = zlib.compress(b"\0" * 1024)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


#: 200 MB of zeros in 200 KB: Pillow refuses it ("Decompressed data too large").
BOMB = zlib.compress(b"\0" * (200 << 20), 9)


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory, sample_photos: list[Path]) -> Path:
    folder = tmp_path_factory.mktemp("attack-db") / "collection"
    with Collection(folder, create=True) as collection:
        collection.update([str(p) for p in sample_photos[:4]])
    return folder


def start(db: Path, tmp: pytest.TempPathFactory, name: str, *options: str) -> Served:
    copy = tmp.mktemp(name) / "collection"
    shutil.copytree(db, copy)
    return serve(
        copy,
        tmp.mktemp("logs") / f"{name}.log",
        "--header-timeout",
        str(HEAD_TIMEOUT),
        "--body-timeout",
        str(BODY_TIMEOUT),
        "--max-upload-mb",
        "2",
        "--max-memory-mb",
        "1024",
        *options,
    )


@pytest.fixture(scope="module")
def server(db: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """The defaults (a made-up token), with short timeouts and private URLs allowed."""
    served = start(db, tmp_path_factory, "guarded", "--allow-private-urls", "--url-timeout", "1")
    yield served
    stop(served)


@pytest.fixture(scope="module")
def open_server(db: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """``--no-token``: the Origin and Host checks must hold on their own."""
    served = start(db, tmp_path_factory, "open", "--no-token")
    yield served
    stop(served)


@pytest.fixture(scope="module")
def client(server: Served) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.base, timeout=20) as c:
        yield c


def address(served: Served) -> tuple[str, int]:
    host, port = served.base.removeprefix("http://").split(":")
    return host, int(port)


def uploads(served: Served) -> list[str]:
    folder = Path(served.process.args[served.process.args.index("--db") + 1]) / "uploads"
    return sorted(os.listdir(folder)) if folder.is_dir() else []


def no_tracebacks(served: Served) -> None:
    log = served.log.read_text(errors="replace")
    assert "Traceback" not in log, log[-3000:]


# -- 1. Host names: DNS rebinding ----------------------------------------------------------------


@pytest.mark.parametrize("path", ["/api/stats", "/", "/api/images/1", "/api/thumbnails/1"])
def test_a_foreign_host_name_reads_nothing(server: Served, path: str) -> None:
    r = httpx.get(server.base + path, headers={"Host": "evil.example"}, timeout=10)
    assert r.status_code == 421
    assert "evil.example" in r.json()["error"]
    assert "images" not in r.json() and b"<html" not in r.content


@pytest.mark.parametrize("host", ["127.0.0.1:{port}", "localhost:{port}", "LOCALHOST", "[::1]:80"])
def test_loopback_names_are_answered(server: Served, host: str) -> None:
    _, port = address(server)
    r = httpx.get(server.base + "/api/stats", headers={"Host": host.format(port=port)}, timeout=10)
    assert r.status_code == 200


def test_a_missing_or_broken_host_header_is_400(server: Served) -> None:
    for head in (
        b"GET /api/stats HTTP/1.0\r\n\r\n",
        b"GET /api/stats HTTP/1.0\r\nHost: a/b\r\n\r\n",
    ):
        with socket.create_connection(address(server), timeout=10) as s:
            s.sendall(head)
            answer = s.recv(4096)
        assert answer.startswith(b"HTTP/1.1 400"), answer


def test_allowed_host_names() -> None:
    assert allowed_hosts("127.0.0.1", []) == ["127.0.0.1", "localhost", "::1", "127.0.0.1"]
    assert "photos.lan" in allowed_hosts("0.0.0.0", ["Photos.lan"])
    assert "0.0.0.0" not in allowed_hosts("0.0.0.0", [])
    assert "192.168.1.5" in allowed_hosts("192.168.1.5", [])
    assert allowed_hosts("127.0.0.1", ["*"]) is None
    assert host_name("[::1]:8000") == "::1" and host_name("Example.COM.:80") == "example.com"
    assert host_name("a:b") is None and host_name("") is None and host_name("[::1") is None


# -- 2. Cross-site writes and the start-up token -------------------------------------------------


def test_the_token_is_made_up_printed_and_handed_to_the_page_only(
    server: Served, client: httpx.Client
) -> None:
    assert server.token and len(server.token) >= 24
    page = client.get("/")
    assert f'<meta name="lookalike-token" content="{server.token}">' in page.text
    assert page.headers["cache-control"] == "no-store"
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert server.token not in client.get("/api/stats").text


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "http://evil.example"},
        {"Origin": "null"},
        {"Origin": "http://127.0.0.1:1"},  # another port is another origin
        {"Origin": "https://{host}"},  # another scheme too
        {"Sec-Fetch-Site": "cross-site"},
    ],
)
def test_cross_site_writes_are_refused_even_with_the_token(
    server: Served, open_server: Served, headers: dict[str, str]
) -> None:
    for served in (server, open_server):
        host = served.base.removeprefix("http://")
        sent = {k: v.format(host=host) for k, v in headers.items()} | served.auth
        r = httpx.post(
            served.base + "/api/images",
            files={"files": ("x.png", png(), "image/png")},
            headers=sent,
            timeout=20,
        )
        assert r.status_code == 403, r.text
        assert "cross-site" in r.json()["error"]
        r = httpx.post(served.base + "/api/search", data={"url": "http://x/"}, headers=sent)
        assert r.status_code == 403
        r = httpx.delete(served.base + "/api/images/1", headers=sent, timeout=20)
        assert r.status_code == 403
        assert uploads(served) == []


def test_same_origin_and_api_clients_with_the_token_write(
    server: Served, client: httpx.Client
) -> None:
    files = {"files": ("same.png", png(color="navy"), "image/png")}
    assert client.post("/api/images", files=files).status_code == 401
    r = client.post("/api/images", files=files, headers={"Origin": server.base, **server.auth})
    assert r.status_code == 201, r.text
    r = client.post("/api/images", files=files, headers=server.auth)  # no Origin: an API client
    assert r.status_code == 201, r.text
    added = r.json()["added"][0]
    assert client.delete(f"/api/images/{added['id']}", headers=server.auth).status_code == 200


# -- 3. Slow clients and slow sites --------------------------------------------------------------


def test_half_sent_request_heads_are_closed_and_do_not_lock_others_out(server: Served) -> None:
    slow: list[socket.socket] = []
    try:
        for _ in range(200):
            s = socket.create_connection(address(server), timeout=10)
            s.sendall(b"GET /api/stats HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
            slow.append(s)
        t0 = time.monotonic()
        r = httpx.get(server.base + "/api/stats", timeout=10)
        assert r.status_code == 200 and time.monotonic() - t0 < 3
        closed_by = time.monotonic() + HEAD_TIMEOUT + 5
        for s in slow:
            s.settimeout(max(0.1, closed_by - time.monotonic()))
            answer = s.recv(4096)  # the 408, then end of stream; a timeout fails the test
            assert answer == b"" or answer.startswith(b"HTTP/1.1 408"), answer
    finally:
        for s in slow:
            s.close()


def test_a_dripped_request_head_is_closed_on_time(server: Served) -> None:
    with socket.create_connection(address(server), timeout=10) as s:
        t0 = time.monotonic()
        with pytest.raises(OSError):
            for byte in b"GET /api/stats HTTP/1.1\r\nHost: 127.0.0.1\r\nX-A: " + b"a" * 100:
                s.sendall(bytes([byte]))
                time.sleep(0.25)
        assert time.monotonic() - t0 < HEAD_TIMEOUT + 3


def test_a_half_sent_body_is_closed_on_time(server: Served) -> None:
    with socket.create_connection(address(server), timeout=BODY_TIMEOUT + 5) as s:
        s.sendall(
            b"POST /api/search HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: multipart/form-data; boundary=x\r\nContent-Length: 100000\r\n\r\n"
            b"--x\r\n"
        )
        t0 = time.monotonic()
        while s.recv(4096):  # whatever comes, the stream must end
            pass
        assert BODY_TIMEOUT - 0.5 < time.monotonic() - t0 < BODY_TIMEOUT + 4
    assert httpx.get(server.base + "/api/stats", timeout=10).status_code == 200


@pytest.fixture
def dripping_site() -> Iterator[str]:
    """A 'website' whose response head arrives one byte every 0.2 s (90 s in all)."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(10)
    done = threading.Event()

    def drip() -> None:
        try:
            conn, _ = listener.accept()
        except OSError:
            return
        with conn:
            conn.recv(4096)
            for byte in b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 450:
                if done.wait(0.2):
                    return
                try:
                    conn.sendall(bytes([byte]))
                except OSError:
                    return

    thread = threading.Thread(target=drip, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}/slow.jpg"
    done.set()
    listener.close()
    thread.join(5)


def test_a_site_that_drips_its_headers_is_cut_off(client: httpx.Client, dripping_site: str) -> None:
    """--url-timeout 1: the whole fetch ends within 2 s, and others are served meanwhile."""
    t0 = time.monotonic()
    r = client.post("/api/search", data={"url": dripping_site})
    assert r.status_code == 400 and "too slow" in r.json()["error"]
    assert time.monotonic() - t0 < 5


# -- 4. Malformed input: 400, never 500 ----------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "ctype"),
    [
        (b"[" * 100_000 + b"]" * 100_000, "application/json"),
        (b'{"a":' * 50_000 + b"1" + b"}" * 50_000, "application/json"),
        (b"--x\r\ngarbage", "multipart/form-data; boundary=x"),
        (b"garbage", "multipart/form-data"),
        (
            b"--x\r\nContent-Disposition: form-data\r\n\r\n1\r\n--x--\r\n",
            "multipart/form-data; boundary=x",
        ),
        (b"\xff\xfe=%zz&&", "application/x-www-form-urlencoded"),
    ],
)
def test_malformed_bodies_are_400(
    server: Served, client: httpx.Client, content: bytes, ctype: str
) -> None:
    for path in ("/api/search", "/api/compare"):
        r = client.post(path, content=content, headers={"Content-Type": ctype})
        assert r.status_code == 400, (path, r.status_code, r.text)
        assert r.json()["error"]
    no_tracebacks(server)


@pytest.mark.parametrize("kind", [b"zTXt", b"iCCP"])
def test_decompression_bombs_in_png_chunks_are_400(
    server: Served, client: httpx.Client, kind: bytes
) -> None:
    bomb = with_chunk(kind, b"k\0\0" + BOMB)
    r = client.post("/api/search", files={"file": ("bomb.png", bomb, "image/png")})
    assert r.status_code == 400 and "bomb.png" in r.json()["error"]
    r = client.post("/api/images", files={"files": ("bomb.php", bomb)}, headers=server.auth)
    assert r.status_code == 400 and "bomb.php" in r.json()["error"]
    assert uploads(server) == [] or not any(n.endswith(".php") for n in uploads(server))
    no_tracebacks(server)


def test_uploads_are_stored_under_their_real_format(server: Served, client: httpx.Client) -> None:
    before = set(uploads(server))
    files = [
        ("files", ("page.html", png(color="olive"), "text/html")),
        ("files", ("shell.php", png(color="maroon"), "application/x-php")),
    ]
    r = client.post("/api/images", files=files, headers=server.auth)
    assert r.status_code == 201, r.text
    new = set(uploads(server)) - before
    assert len(new) == 2 and all(n.endswith(".png") for n in new), new
    assert [a["name"] for a in r.json()["added"]] == ["page.html", "shell.php"]
    for added in r.json()["added"]:
        client.delete(f"/api/images/{added['id']}", headers=server.auth)


def test_refused_uploads_leave_nothing_and_errors_name_no_folders(
    server: Served, client: httpx.Client
) -> None:
    before = uploads(server)
    folder = server.process.args[server.process.args.index("--db") + 1]
    cases = [
        [("files", ("ok.png", png(color="gold"), "image/png")), ("files", ("x.html", b"<script>"))],
        [("files", ("/tmp/a/b/c.png", png()[:60], "image/png"))],
        [("files", ("big.png", header_only_png(9000, 9000), "image/png"))],
    ]
    for files in cases:
        r = client.post("/api/images", files=files, headers=server.auth)
        assert r.status_code == 400, r.text
        error = r.json()["error"]
        assert "/tmp" not in error and "uploads" not in error and folder not in error, error
    assert uploads(server) == before
    no_tracebacks(server)


def test_messages_are_scrubbed_of_absolute_paths() -> None:
    assert (
        scrub("cannot read: [Errno 2] '/srv/db/uploads/ab.png'")
        == "cannot read: [Errno 2] 'ab.png'"
    )
    assert (
        scrub("cannot fetch http://127.0.0.1:8/a/b.jpg")
        == "cannot fetch http://127.0.0.1:8/a/b.jpg"
    )
    assert scrub("send multipart/form-data or JSON") == "send multipart/form-data or JSON"


# -- 5. Memory: refused from the header, before decoding -----------------------------------------


def peak_rss_mb(served: Served) -> float:
    status = Path(f"/proc/{served.process.pid}/status").read_text()
    return int(re.search(r"VmHWM:\s+(\d+) kB", status).group(1)) / 1024


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs /proc")
def test_huge_declared_images_are_refused_before_decoding(
    server: Served, client: httpx.Client, sample_photos: list[Path]
) -> None:
    """The 328 KB 16-bit 13000x13000 PNG of the attack round took 6 GB; a header says so."""
    bomb = header_only_png(13000, 13000)
    for _ in range(3):
        t0 = time.monotonic()
        r = client.post("/api/search", files={"file": ("deep.png", bomb, "image/png")})
        assert r.status_code == 400 and "too large to decode" in r.json()["error"], r.text
        assert time.monotonic() - t0 < 3
    r = client.post("/api/compare", data={"id": "1"}, files={"file": ("deep.png", bomb)})
    assert r.status_code == 400 and "too large to decode" in r.json()["error"]
    ok = client.post("/api/search", files={"file": ("q.jpg", sample_photos[0].read_bytes())})
    assert ok.status_code == 200
    assert client.get(ok.json()["query_image_url"]).status_code == 200
    assert peak_rss_mb(server) < 1024
    no_tracebacks(server)


def test_the_server_answers_plain_http_clients(server: Served) -> None:
    """http.client (no Origin, no Sec-Fetch headers) reads and searches as before."""
    conn = http.client.HTTPConnection(*address(server), timeout=10)
    conn.request("GET", "/api/stats")
    assert conn.getresponse().status == 200
    conn.close()
