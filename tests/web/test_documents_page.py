"""The Documents tab of `lookalike serve` in real headless Chromium.

Three documents are built here with zipfile: a .docx and a .pptx showing the same
picture (a sample photo), an .xlsx with another. Uploaded on the page, the pair must show
with both documents and locations, in English and Chinese; the downloaded workbook must
hold the rows `lookalike docs --json` writes for the same files. Also: a cross-site POST
is refused (403), a foreign Host gets 421, a file that is not a document is refused 400,
and a zip of the documents is taken apart.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
if not os.path.exists(CHROMIUM):
    pytest.skip(
        "Debian's chromium is not installed (apt-get install -y chromium)", allow_module_level=True
    )
sync_api = pytest.importorskip(
    "playwright.sync_api", reason="playwright is not installed (pip install playwright)"
)
httpx = pytest.importorskip("httpx")
openpyxl = pytest.importorskip("openpyxl")

from lookalike_server import Served, serve, stop  # noqa: E402
from test_browser import ARGS  # noqa: E402

from lookalike.search.collection import Collection  # noqa: E402

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SAMPLES = Path(__file__).resolve().parents[2] / "samples"
NS = 'xmlns:w="w" xmlns:r="r" xmlns:a="a" xmlns:p="p" xmlns:xdr="xdr"'


def _jpeg(photo: str) -> bytes:
    with Image.open(SAMPLES / photo) as im:
        im = im.convert("RGB")
        im.thumbnail((480, 480))
        buf = io.BytesIO()
        im.save(buf, "JPEG", quality=90)
    return buf.getvalue()


def _rels(*rels: tuple[str, str]) -> str:
    body = "".join(f'<Relationship Id="{i}" Type="x" Target="{t}"/>' for i, t in rels)
    return f'<?xml version="1.0"?><Relationships xmlns="x">{body}</Relationships>'


def _package(path: Path, members: dict[str, bytes | str]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def make_documents(folder: Path) -> list[Path]:
    """报告.docx (Kite in body paragraph 2), deck.pptx (Kite on slide 2), book.xlsx
    (Autumn at 数据!C5)."""
    folder.mkdir(parents=True, exist_ok=True)
    kite, autumn = _jpeg("Kite.jpg"), _jpeg("Autumn.jpg")
    docx = _package(
        folder / "报告.docx",
        {
            "word/document.xml": f"<w:document {NS}><w:body><w:p><w:r><w:t>Intro</w:t></w:r>"
            '</w:p><w:p><w:r><w:drawing><a:blip r:embed="rId9"/></w:drawing></w:r></w:p>'
            "</w:body></w:document>",
            "word/_rels/document.xml.rels": _rels(("rId9", "media/image1.jpeg")),
            "word/media/image1.jpeg": kite,
        },
    )
    pptx = _package(
        folder / "deck.pptx",
        {
            "ppt/presentation.xml": f'<p:presentation {NS}><p:sldIdLst><p:sldId id="256" '
            'r:id="rId5"/><p:sldId id="257" r:id="rId6"/></p:sldIdLst></p:presentation>',
            "ppt/_rels/presentation.xml.rels": _rels(
                ("rId5", "slides/slide1.xml"), ("rId6", "slides/slide2.xml")
            ),
            "ppt/slides/slide1.xml": f"<p:sld {NS}/>",
            "ppt/slides/slide2.xml": f'<p:sld {NS}><a:blip r:embed="rId2"/></p:sld>',
            "ppt/slides/_rels/slide2.xml.rels": _rels(("rId2", "../media/image1.jpeg")),
            "ppt/media/image1.jpeg": kite,
        },
    )
    drawing = (
        f"<xdr:wsDr {NS}><xdr:twoCellAnchor><xdr:from><xdr:col>2</xdr:col><xdr:colOff>0"
        "</xdr:colOff><xdr:row>4</xdr:row><xdr:rowOff>0</xdr:rowOff></xdr:from><xdr:to>"
        "<xdr:col>6</xdr:col><xdr:row>20</xdr:row></xdr:to><xdr:pic><xdr:blipFill>"
        '<a:blip r:embed="rId1"/></xdr:blipFill></xdr:pic></xdr:twoCellAnchor></xdr:wsDr>'
    )
    xlsx = _package(
        folder / "book.xlsx",
        {
            "xl/workbook.xml": f'<workbook {NS}><sheets><sheet name="数据" r:id="rId1"/>'
            "</sheets></workbook>",
            "xl/_rels/workbook.xml.rels": _rels(("rId1", "worksheets/sheet1.xml")),
            "xl/worksheets/sheet1.xml": f'<worksheet {NS}><drawing r:id="rId1"/></worksheet>',
            "xl/worksheets/_rels/sheet1.xml.rels": _rels(("rId1", "../drawings/drawing1.xml")),
            "xl/drawings/drawing1.xml": drawing,
            "xl/drawings/_rels/drawing1.xml.rels": _rels(("rId1", "../media/image1.jpeg")),
            "xl/media/image1.jpeg": autumn,
        },
    )
    return [docx, pptx, xlsx]


def sheet_rows(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every sheet's cell values (pictures left out)."""
    book = openpyxl.load_workbook(path)
    return {ws.title: [tuple(r) for r in ws.iter_rows(values_only=True)] for ws in book}


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """`lookalike serve` over an empty collection, on a free loopback port."""
    db = tmp_path_factory.mktemp("db") / "collection"
    Collection(db, create=True).close()
    server = serve(db, tmp_path_factory.mktemp("logs") / "serve.log")
    yield server
    stop(server)


@pytest.fixture(scope="module")
def documents(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    return make_documents(tmp_path_factory.mktemp("documents"))


@pytest.fixture(scope="module")
def cli_json(documents: list[Path], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """`lookalike docs --json` on the same three files."""
    out = tmp_path_factory.mktemp("cli")
    command = [sys.executable, "-m", "lookalike", "docs", *map(str, documents)]
    run = subprocess.run(
        [*command, "--out", str(out), "--json", "--jobs", "1"],
        capture_output=True,
        check=False,
    )
    assert run.returncode == 0, run.stderr.decode(errors="replace")
    return json.loads(run.stdout)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        yield chromium
        chromium.close()


def test_documents_page_upload_pairs_and_workbook(
    browser: Any,
    served: Served,
    documents: list[Path],
    cli_json: dict[str, Any],
    tmp_path: Path,
) -> None:
    context = browser.new_context(
        locale="en-US", viewport={"width": 1280, "height": 1000}, accept_downloads=True
    )
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    offsite: list[str] = []
    page.on("request", lambda r: None if r.url.startswith(served.base) else offsite.append(r.url))

    # the search page links to the tab
    page.goto(served.base + "/")
    page.locator("a.nav-documents").click()
    page.wait_for_url(served.base + "/documents")
    response = page.goto(served.base + "/documents")
    assert "default-src 'self'" in (response.headers.get("content-security-policy") or "")

    page.locator("#doc-files").set_input_files([str(p) for p in documents])
    pairs = page.locator("li.dpair")
    sync_api.expect(pairs).to_have_count(1, timeout=120_000)
    pair = pairs.first
    text = pair.inner_text()
    assert "Similarity 100%" in text
    assert "Relation: identical file" in text
    sides = pair.locator("figure.dside")
    got = {
        sides.nth(i).locator(".ddoc .value").inner_text(): (
            sides.nth(i).locator(".dloc .value").inner_text()
        )
        for i in range(2)
    }
    assert got == {"报告.docx": "body, paragraph 2", "deck.pptx": "slide 2"}, got
    page.wait_for_function(
        "() => [...document.querySelectorAll('li.dpair img')]"
        ".every(i => i.complete && i.naturalWidth)"
    )
    assert pair.locator("img").count() == 2
    page.screenshot(path=str(tmp_path / "documents-en.png"), full_page=True)

    # the same in Chinese: 位置 and the relation
    page.locator("[data-set-lang=zh]").click()
    text = pair.inner_text()
    assert "位置" in text and "相同文件" in text and "相似度 100%" in text
    locs = {pair.locator(".dloc .value").nth(i).inner_text() for i in range(2)}
    assert locs == {"正文，第 2 段", "第 2 张幻灯片"}
    page.screenshot(path=str(tmp_path / "documents-zh.png"), full_page=True)

    # the workbook: its name, and the rows of `lookalike docs` on the same files
    with page.expect_download() as info:
        page.locator("#download").click()
    download = info.value
    stamp = date.today().strftime("%Y%m%d")
    assert download.suggested_filename == f"图片相似度{stamp}.xlsx"
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    assert sheet_rows(saved) == sheet_rows(Path(cli_json["workbook"]))
    assert len(cli_json["pairs"]) == 1

    assert not errors, errors
    assert not offsite, offsite
    context.close()


def _token(served: Served) -> str:
    page = httpx.get(served.base + "/documents").text
    found = re.search(r'name="lookalike-token" content="([\w-]+)"', page)
    assert found, "the page carries the start-up token"
    return found.group(1)


def _files(paths: list[Path]) -> list[tuple[str, tuple[str, bytes]]]:
    return [("files", (p.name, p.read_bytes())) for p in paths]


def _wait(served: Served, url: str) -> dict[str, Any]:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        job = httpx.get(served.base + url).json()
        if job["state"] in ("done", "error"):
            return job
        time.sleep(0.3)
    pytest.fail("the check did not finish within 120 s")


def test_documents_api_refuses_cross_site_foreign_hosts_and_non_documents(
    served: Served, documents: list[Path], tmp_path: Path
) -> None:
    token = _token(served)
    auth = {"Authorization": f"Bearer {token}"}
    url = served.base + "/api/documents/jobs"
    # a page of another site, even holding the token, is refused before anything runs
    for origin in ("http://evil.example", "null"):
        r = httpx.post(url, files=_files(documents), headers={**auth, "Origin": origin})
        assert r.status_code == 403, (origin, r.text)
    r = httpx.post(url, files=_files(documents), headers={**auth, "Sec-Fetch-Site": "cross-site"})
    assert r.status_code == 403
    # a DNS-rebinding name is answered 421, reads included
    for method, path in (("GET", "/documents"), ("POST", "/api/documents/jobs")):
        r = httpx.request(method, served.base + path, headers={"Host": "evil.example"})
        assert r.status_code == 421, (path, r.status_code)
    # no token: 401; a picture named like a document: 400 naming it
    assert httpx.post(url, files=_files(documents)).status_code == 401
    fake = tmp_path / "notes.docx"
    fake.write_bytes(_jpeg("Kite.jpg"))
    r = httpx.post(url, files=_files([fake]), headers=auth)
    assert r.status_code == 400 and "notes.docx" in r.json()["error"], r.text
    # an upload over the server's limit is refused from its Content-Length alone
    port = int(served.base.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(
            b"POST /api/documents/jobs HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            + f"Authorization: Bearer {token}\r\nContent-Length: {1 << 30}\r\n".encode()
            + b"Content-Type: multipart/form-data; boundary=x\r\n\r\n"
        )
        assert sock.recv(4096).startswith(b"HTTP/1.1 413 ")
    assert httpx.get(url + "/nope").status_code == 404

    # a zip of the documents (with a hostile member name and a stray text file) works
    bundle = tmp_path / "bundle.zip"
    with zipfile.ZipFile(bundle, "w") as zf:
        for p in documents:
            zf.write(p, f"../../sub/{p.name}")
        zf.writestr("readme.txt", "not a document")
    r = httpx.post(url, files=_files([bundle]), headers=auth, data={"lang": "en"})
    assert r.status_code == 202, r.text
    assert sorted(r.json()["documents"]) == sorted(p.name for p in documents)
    job = _wait(served, r.json()["url"])
    assert job["state"] == "done", job
    result = job["result"]
    assert [(p["document1"], p["document2"]) for p in result["pairs"]] in (
        [("报告.docx", "deck.pptx")],
        [("deck.pptx", "报告.docx")],
    )
    assert any("readme.txt" in e["reason"]["en"] for e in result["errors"])
    # no server path reaches the page: only the API's own URLs start with "/"
    assert not re.search(r'"/(?!api/documents/jobs/)', json.dumps(result, ensure_ascii=False))
    r = httpx.get(served.base + result["workbook_url"])
    assert r.status_code == 200
    stamp = date.today().strftime("%Y%m%d")
    assert r.headers["content-disposition"] == (
        f'attachment; filename="image-similarity-{stamp}.xlsx"; '
        f"filename*=UTF-8''image-similarity-{stamp}.xlsx"
    )


def test_docs_page_serves_the_page_alone(documents: list[Path], tmp_path: Path) -> None:
    """`lookalike docs --page --no-browser`: the page on 127.0.0.1 with a fresh token."""
    log = tmp_path / "page.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "lookalike", "docs", "--page", "--no-browser"],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60
        base = None
        while base is None and time.monotonic() < deadline:
            assert process.poll() is None, log.read_text()
            found = re.search(r"documents page at (http://127\.0\.0\.1:\d+)/", log.read_text())
            if found:
                try:
                    if httpx.get(found.group(1) + "/", timeout=2).status_code == 200:
                        base = found.group(1)
                except httpx.TransportError:
                    pass
            time.sleep(0.2)
        assert base is not None, log.read_text()
        alone = Served(base, process, log)
        token = _token(alone)
        assert httpx.get(base + "/", headers={"Host": "evil.example"}).status_code == 421
        url = base + "/api/documents/jobs"
        auth = {"Authorization": f"Bearer {token}"}
        r = httpx.post(url, files=_files(documents), headers={**auth, "Origin": "http://x.example"})
        assert r.status_code == 403
        r = httpx.post(url, files=_files(documents), headers=auth)
        assert r.status_code == 202, r.text
        job = _wait(alone, r.json()["url"])
        assert job["state"] == "done" and len(job["result"]["pairs"]) == 1, job
    finally:
        process.terminate()
        process.wait(10)


def test_finished_checks_are_kept_a_while_then_removed(tmp_path: Path) -> None:
    """At most KEEP_JOBS finished checks, none older than KEEP_SECONDS; their files go."""
    from lookalike.web import documents as module

    jobs = module.DocumentJobs(tmp_path / "state")
    now = time.monotonic()
    made = []
    for k in range(module.KEEP_JOBS + 2):
        made.append(jobs.new("zh"))
        made[-1].finished = now - 10 + k / 100
    running = jobs.new("zh")  # unfinished: never evicted
    jobs.evict()
    assert set(jobs.jobs) == {j.id for j in made[2:]} | {running.id}
    assert not made[0].folder.exists() and made[2].folder.exists()
    made[5].finished = now - module.KEEP_SECONDS - 1
    jobs.evict()
    assert made[5].id not in jobs.jobs and not made[5].folder.exists()
    assert running.folder.exists()
