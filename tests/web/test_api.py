"""`lookalike serve`'s JSON API, spoken to over real sockets as a client would.

The servers are real: `python -m lookalike serve` subprocesses on 127.0.0.1 (free ports),
over a collection built from the committed sample photos plus transformed copies. A second
local http.server plays "some website" for searches by URL.
"""

from __future__ import annotations

import http.client
import http.server
import io
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image, ImageEnhance

httpx = pytest.importorskip("httpx")
pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")

from lookalike_server import Served, serve, stop  # noqa: E402

from lookalike.search.collection import Collection  # noqa: E402

TOKEN = "s3cret-token"
LOCAL = Path(__file__).resolve().parents[1] / "data" / "local"
MAX_UPLOAD_MB = 1


def jpeg(im: Image.Image, quality: int = 85) -> bytes:
    buf = io.BytesIO()
    im.convert("RGB").save(buf, "JPEG", quality=quality)
    return buf.getvalue()


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory, sample_photos: list[Path]) -> Path:
    """The sample photos plus resized, recompressed and brightened copies, and a tall one."""
    lib = tmp_path_factory.mktemp("library")
    for photo in sample_photos:
        shutil.copy(photo, lib / photo.name)
    for photo in sample_photos[:4]:
        im = Image.open(photo)
        im.resize((im.width // 2, im.height // 2)).save(lib / f"{photo.stem}__half.jpg", quality=80)
        ImageEnhance.Brightness(im).enhance(1.25).save(lib / f"{photo.stem}__bright.png")
    stack = [Image.open(p).convert("RGB") for p in sample_photos[4:7]]
    tall = Image.new("RGB", (480, sum(im.height for im in stack)))
    y = 0
    for im in stack:
        tall.paste(im, (0, y))
        y += im.height
    tall.save(lib / "长图 tall.jpg", quality=88)
    return lib


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory, library: Path) -> Path:
    """A collection over the library."""
    folder = tmp_path_factory.mktemp("db") / "collection"
    collection = Collection(folder, create=True)
    try:
        collection.update(sorted(str(p) for p in library.iterdir()))
    finally:
        collection.close()
    return folder


@pytest.fixture(scope="module")
def queries(tmp_path_factory: pytest.TempPathFactory, sample_photos: list[Path]) -> Path:
    """Query images that are not in the collection: a cropped, recompressed Kite."""
    folder = tmp_path_factory.mktemp("site")
    kite = next(p for p in sample_photos if p.stem == "Kite")
    im = Image.open(kite)
    crop = im.crop((12, 8, im.width - 12, im.height - 8)).resize((360, 216))
    (folder / "kite.jpg").write_bytes(jpeg(crop, quality=60))
    (folder / "notes.txt").write_text("not an image")
    return folder


@pytest.fixture(scope="module")
def site(queries: Path) -> Iterator[str]:
    """A second local web server holding the query photos (the 'website' a URL points to)."""

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, directory=str(queries), **kwargs)  # type: ignore[arg-type]

        def log_message(self, *args: object) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="module")
def server(db: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """Token-protected writes, private URLs allowed, 1 MB uploads."""
    served = serve(
        db,
        tmp_path_factory.mktemp("logs") / "serve.log",
        "--token",
        TOKEN,
        "--allow-private-urls",
        "--max-upload-mb",
        str(MAX_UPLOAD_MB),
    )
    yield served
    stop(served)


@pytest.fixture(scope="module")
def plain_server(db: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """The defaults: a token made up at start-up, private URLs refused (over a copy)."""
    copy = tmp_path_factory.mktemp("db-copy") / "collection"
    shutil.copytree(db, copy)
    served = serve(copy, tmp_path_factory.mktemp("logs") / "plain.log")
    yield served
    stop(served)


@pytest.fixture(scope="module")
def client(server: Served) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.base, timeout=30) as c:
        yield c


def search_upload(client: httpx.Client, data: bytes, name: str = "q.jpg", **fields: str):
    return client.post("/api/search", files={"file": (name, data, "image/jpeg")}, data=fields)


# -- search ---------------------------------------------------------------------------------


def test_search_by_upload_ranks_the_original_first(client: httpx.Client, queries: Path) -> None:
    r = search_upload(client, (queries / "kite.jpg").read_bytes(), "风筝.jpg", k="5")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["query"] == "风筝.jpg"
    results = body["results"]
    assert 1 <= len(results) <= 5
    assert Path(results[0]["path"]).stem.startswith("Kite")
    keys = {"path", "similarity", "distance", "method", "id", "thumbnail_url", "image_url"}
    for row in results:
        assert keys <= set(row)
    sims = [row["similarity"] for row in results]
    assert sims == sorted(sims, reverse=True)
    assert body["query_id"]


def test_search_without_verification_gives_the_nearest_codes(
    client: httpx.Client, queries: Path
) -> None:
    r = search_upload(client, (queries / "kite.jpg").read_bytes(), k="3", verify="false")
    assert r.status_code == 200, r.text
    top = r.json()["results"][0]
    assert Path(top["path"]).stem.startswith("Kite") and top["method"] == "phash8"
    r = search_upload(client, (queries / "kite.jpg").read_bytes(), verify="maybe")
    assert r.status_code == 400 and "verify" in r.json()["error"]


def test_search_by_url_fetches_from_a_private_site_when_allowed(
    client: httpx.Client, site: str
) -> None:
    r = client.post("/api/search", data={"url": f"{site}/kite.jpg", "k": "3"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["query"].endswith("/kite.jpg")
    assert Path(body["results"][0]["path"]).stem.startswith("Kite")
    # JSON bodies work too, and the query image is kept for the page.
    r = client.post("/api/search", json={"url": f"{site}/kite.jpg"})
    assert r.status_code == 200, r.text
    kept = client.get(r.json()["query_image_url"])
    assert kept.status_code == 200 and kept.headers["content-type"] == "image/jpeg"


def test_search_by_url_refuses_loopback_by_default(plain_server: Served, site: str) -> None:
    r = httpx.post(f"{plain_server.base}/api/search", data={"url": f"{site}/kite.jpg"}, timeout=30)
    assert r.status_code == 400
    assert "cannot fetch" in r.json()["error"]
    r = httpx.post(
        f"{plain_server.base}/api/search", data={"url": "file:///etc/passwd"}, timeout=30
    )
    assert r.status_code == 400 and "http" in r.json()["error"]


def test_a_url_that_is_not_an_image_is_refused(client: httpx.Client, site: str) -> None:
    r = client.post("/api/search", data={"url": f"{site}/notes.txt"})
    assert r.status_code == 400
    assert "not a readable image" in r.json()["error"]


def test_non_image_and_truncated_uploads_are_400_with_the_reason(
    client: httpx.Client, sample_photos: list[Path]
) -> None:
    r = search_upload(client, b"#!/bin/sh\necho hello\n" * 20, "script.jpg")
    assert r.status_code == 400
    error = r.json()["error"]
    assert "script.jpg" in error and "not a readable image" in error
    half = sample_photos[0].read_bytes()
    r = search_upload(client, half[: len(half) // 3], "cut.jpg")
    assert r.status_code == 400 and "cut.jpg" in r.json()["error"]
    r = search_upload(client, b"", "empty.jpg")
    assert r.status_code == 400 and "empty" in r.json()["error"]


def test_bad_requests_get_json_errors(client: httpx.Client, queries: Path) -> None:
    r = client.post("/api/search")
    assert r.status_code == 400 and "file" in r.json()["error"]
    r = search_upload(client, (queries / "kite.jpg").read_bytes(), k="many")
    assert r.status_code == 400 and "k" in r.json()["error"]
    r = client.post("/api/search", content=b"x", headers={"Content-Type": "text/plain"})
    assert r.status_code == 415
    r = client.get("/api/nothing-here")
    assert r.status_code == 404 and "error" in r.json()


def test_uploads_over_the_limit_are_refused_before_they_are_read(
    client: httpx.Client, sample_photos: list[Path]
) -> None:
    big = os.urandom(MAX_UPLOAD_MB * 1024 * 1024 + 200_000)
    r = search_upload(client, big, "big.jpg")  # declares its Content-Length
    assert r.status_code == 413
    assert "too large" in r.json()["error"]

    def chunks() -> Iterator[bytes]:  # no Content-Length: cut off while streaming
        yield b'--x\r\nContent-Disposition: form-data; name="file"; filename="s.jpg"\r\n\r\n'
        for _ in range(24):
            yield os.urandom(64 * 1024)
        yield b"\r\n--x--\r\n"

    r = client.post(
        "/api/search", content=chunks(), headers={"Content-Type": "multipart/form-data; boundary=x"}
    )
    assert r.status_code == 413
    # The server is fine afterwards.
    assert search_upload(client, sample_photos[1].read_bytes()).status_code == 200


# -- the collection: stats, images, thumbnails, writes -----------------------------------------


def test_stats_describe_the_collection_and_the_server(client: httpx.Client, library: Path) -> None:
    r = client.get("/api/stats")
    assert r.status_code == 200
    stats = r.json()
    assert stats["server"]["token_required"] is True
    assert stats["server"]["max_upload_bytes"] == MAX_UPLOAD_MB * 1024 * 1024
    assert stats["images"] == len(list(library.iterdir()))


def test_images_and_thumbnails_are_served_by_id(client: httpx.Client, queries: Path) -> None:
    hit = search_upload(client, (queries / "kite.jpg").read_bytes()).json()["results"][0]
    image = client.get(hit["image_url"])
    assert image.status_code == 200 and image.headers["content-type"] == "image/jpeg"
    assert image.content == Path(hit["path"]).read_bytes()
    thumb = client.get(hit["thumbnail_url"], params={"w": 160})
    assert thumb.status_code == 200
    assert Image.open(io.BytesIO(thumb.content)).width == 160


def test_the_tall_image_keeps_its_shape_in_thumbnails(client: httpx.Client, library: Path) -> None:
    tall = (library / "长图 tall.jpg").read_bytes()
    hit = search_upload(client, tall, "tall.jpg", k="1").json()["results"][0]
    assert "tall" in hit["path"]
    thumb = Image.open(io.BytesIO(client.get(hit["thumbnail_url"]).content))
    assert thumb.width == 320 and thumb.height > 1.5 * thumb.width


@pytest.mark.parametrize(
    "target",
    [
        "/api/images/..%2F..%2F..%2F..%2Fetc%2Fpasswd",
        "/api/thumbnails/..%2F..%2F..%2F..%2Fetc%2Fpasswd",
        "/api/images/%2Fetc%2Fpasswd",
        "/api/thumbnails/%2Fetc%2Fpasswd",
        "/api/images/../../../../etc/passwd",
        "/api/images/..%5C..%5Cetc%5Cpasswd",
        "/api/images/999999999",
        "/api/images/passwd",
    ],
)
def test_only_catalog_images_are_served(server: Served, target: str) -> None:
    host, port = server.base.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    conn.request("GET", target)  # sent as is: no client-side normalisation
    response = conn.getresponse()
    body = response.read()
    conn.close()
    assert response.status == 404
    assert b"root:" not in body


def test_absolute_paths_of_catalog_files_are_not_ids(client: httpx.Client, library: Path) -> None:
    path = str(library / "Kite.jpg")
    r = client.get("/api/images/" + path.replace("/", "%2F"))
    assert r.status_code == 404 and "error" in r.json()


def test_writes_need_the_token(client: httpx.Client) -> None:
    new = (LOCAL / "EveningGlow.jpg").read_bytes()  # a real photo not in the collection
    files = {"files": ("翻转.jpg", new, "image/jpeg")}
    r = client.post("/api/images", files=files)
    assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
    r = client.post("/api/images", files=files, headers={"Authorization": "Bearer wrong"})
    assert r.status_code == 403
    r = client.post(
        "/api/images",
        files={"files": ("x.jpg", b"plain text, no pixels", "image/jpeg")},
        headers={"Authorization": f"Bearer {TOKEN}"},
    )
    assert r.status_code == 400 and "x.jpg" in r.json()["error"]

    auth = {"Authorization": f"Bearer {TOKEN}"}
    r = client.post("/api/images", files=files, headers=auth)
    assert r.status_code == 201, r.text
    (added,) = r.json()["added"]
    top = search_upload(client, new, k="1").json()["results"][0]
    assert str(top["id"]) == str(added["id"])
    assert client.get(added["image_url"]).content == new

    r = client.delete(f"/api/images/{added['id']}")
    assert r.status_code == 401
    r = client.delete(f"/api/images/{added['id']}", headers=auth)
    assert r.status_code == 200 and r.json()["removed"] == 1
    assert client.get(added["image_url"]).status_code == 404
    r = client.delete("/api/images/..%2F..%2Fetc%2Fpasswd", headers=auth)
    assert r.status_code == 404


def test_the_default_server_makes_up_a_token_and_still_sniffs(plain_server: Served) -> None:
    assert plain_server.token and len(plain_server.token) >= 24
    files = {"files": ("a.gif", b"GIF89a" + b"\0" * 10, "image/gif")}
    r = httpx.post(f"{plain_server.base}/api/images", files=files, timeout=30)
    assert r.status_code == 401
    r = httpx.post(
        f"{plain_server.base}/api/images", files=files, headers=plain_server.auth, timeout=30
    )
    assert r.status_code == 400 and "a.gif" in r.json()["error"]
    stats = httpx.get(f"{plain_server.base}/api/stats", timeout=30).json()
    assert stats["server"]["token_required"] is True


# -- compare, page, docs --------------------------------------------------------------------


def test_compare_scores_every_method_for_a_kept_query(
    client: httpx.Client, queries: Path, site: str
) -> None:
    data = (queries / "kite.jpg").read_bytes()
    found = search_upload(client, data, "kite.jpg").json()
    hit = found["results"][0]
    r = client.post("/api/compare", json={"id": hit["id"], "query_id": found["query_id"]})
    assert r.status_code == 200, r.text
    cmp = r.json()
    methods = {row["method"]: row for row in cmp["methods"]}
    assert {"ahash", "dhash", "phash", "whash", "color", "ssim", "orb"} <= set(methods)
    assert cmp["verdict"] in ("identical", "similar")
    assert cmp["a"] == "kite.jpg" and cmp["b"] == hit["path"]
    assert all(0.0 <= row["similarity"] <= 1.0 for row in cmp["methods"])
    # The query may also be re-sent instead of kept.
    r = client.post("/api/compare", data={"id": str(hit["id"])}, files={"file": ("k.jpg", data)})
    assert r.status_code == 200 and r.json()["verdict"] == cmp["verdict"]
    r = client.post("/api/compare", data={"id": str(hit["id"]), "url": f"{site}/kite.jpg"})
    assert r.status_code == 200 and r.json()["verdict"] == cmp["verdict"]
    r = client.post("/api/compare", json={"id": hit["id"], "query_id": "expired"})
    assert r.status_code == 404 and "search again" in r.json()["error"]
    r = client.post("/api/compare", json={"id": "..%2Fetc", "query_id": found["query_id"]})
    assert r.status_code == 404


def test_page_speaks_the_readers_language(client: httpx.Client) -> None:
    zh = client.get("/", headers={"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.8"})
    assert zh.status_code == 200 and '<html lang="zh-CN"' in zh.text
    assert "把图片拖到这里" in zh.text and "Drop an image here" in zh.text  # both ship
    en = client.get("/", headers={"Accept-Language": "en-GB,en;q=0.9,zh;q=0.5"})
    assert '<html lang="en"' in en.text
    assert '<html lang="zh-CN"' in client.get("/?lang=zh").text
    assert '<html lang="en"' in client.get("/", headers={"Accept-Language": "fr"}).text
    assert "http://" not in zh.text.replace("https://…", "")  # nothing loaded from elsewhere
    assert "default-src 'self'" in zh.headers["content-security-policy"]
    for asset in ("/static/app.js", "/static/app.css"):
        assert client.get(asset).status_code == 200


def test_openapi_json_lists_the_api(client: httpx.Client) -> None:
    spec = client.get("/openapi.json").json()
    assert client.get("/docs").status_code == 200  # Swagger UI itself loads from a CDN
    assert {"/api/search", "/api/images", "/api/compare", "/api/stats"} <= set(spec["paths"])
    assert "multipart/form-data" in spec["paths"]["/api/search"]["post"]["requestBody"]["content"]


def test_serve_refuses_a_folder_without_a_collection(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "lookalike", "serve", "--db", str(tmp_path / "none")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert "no collection here" in done.stderr


def test_an_added_copy_gets_its_id_among_70_older_copies(
    tmp_path: Path, sample_photos: list[Path]
) -> None:
    """The id comes from the collection's add, not from a search: 70 older copies sharing
    its hash used to crowd the new image out of the 64 nearest and leave its id null."""
    lib = tmp_path / "lib"
    lib.mkdir()
    with Image.open(sample_photos[0]) as im:
        picture = jpeg(im.resize((400, im.height * 400 // im.width)))
    for i in range(70):
        (lib / f"copy{i:02d}.jpg").write_bytes(picture)
    with Collection(tmp_path / "db", create=True) as collection:
        assert collection.update([lib]).images == 70
    served = serve(tmp_path / "db", tmp_path / "serve.log", "--token", TOKEN)
    try:
        r = httpx.post(
            f"{served.base}/api/images",
            files={"files": ("one more.png", picture, "image/png")},  # the name lies
            headers={"Authorization": f"Bearer {TOKEN}"},
            timeout=60,
        )
        assert r.status_code == 201, r.text
        (added,) = r.json()["added"]
        assert isinstance(added["id"], int) and added["path"].endswith(".jpg")
        assert added["image_url"] == f"/api/images/{added['id']}"
        assert httpx.get(served.base + added["image_url"], timeout=30).content == picture
    finally:
        stop(served)
    with Collection(tmp_path / "db") as collection:
        assert collection.image(added["id"]) == added["path"]
        assert collection.stats()["images"] == 71
