"""The search page in real headless Chromium: pick, paste and drop an image, read the grid,
hover a long image, open the side-by-side comparison, switch languages.

Needs Debian's chromium (`apt-get install -y chromium`) and the `playwright` package;
Playwright's own browser download is not used. Screenshots go to the test's tmp_path.
"""

from __future__ import annotations

import base64
import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

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

from lookalike_server import serve, stop  # noqa: E402

from lookalike.match.relation import WORDS  # noqa: E402
from lookalike.search.collection import Collection  # noqa: E402

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory, sample_photos: list[Path]) -> Path:
    """The sample photos, a half-size copy of two, and one long image (three stacked)."""
    lib = tmp_path_factory.mktemp("library")
    for photo in sample_photos:
        shutil.copy(photo, lib / photo.name)
    for photo in sample_photos[:2]:
        im = Image.open(photo)
        im.resize((im.width // 2, im.height // 2)).save(lib / f"{photo.stem}__half.jpg")
    stack = [Image.open(p).convert("RGB") for p in sample_photos[2:5]]
    tall = Image.new("RGB", (480, sum(im.height for im in stack)))
    y = 0
    for im in stack:
        tall.paste(im, (0, y))
        y += im.height
    tall.save(lib / "长图.jpg", quality=88)
    return lib


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory, library: Path) -> Iterator[str]:
    """`lookalike serve` over the library, on a free loopback port."""
    db = tmp_path_factory.mktemp("db") / "collection"
    with Collection(db, create=True) as collection:
        collection.update([str(library)])
    served = serve(db, tmp_path_factory.mktemp("logs") / "serve.log")
    yield served.base
    stop(served)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with sync_api.sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        yield chromium
        chromium.close()


def kite_query(tmp_path: Path, sample_photos: list[Path]) -> Path:
    """A cropped, recompressed Kite that is not in the collection."""
    kite = next(p for p in sample_photos if p.stem == "Kite")
    im = Image.open(kite)
    path = tmp_path / "风筝.jpg"
    im.crop((20, 10, im.width - 20, im.height - 10)).resize((330, 200)).save(path, quality=60)
    return path


def test_page_runs_under_its_own_content_security_policy(
    browser, base: str, library: Path, sample_photos: list[Path], tmp_path: Path
) -> None:
    """No CSP bypass here: the page's scripts, styles and images obey its policy, so a
    search works and the console stays clean (a violation is a console error)."""
    context = browser.new_context(locale="en-US")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    response = page.goto(base)
    assert "default-src 'self'" in (response.headers.get("content-security-policy") or "")
    sync_api.expect(page.locator("#stats")).to_contain_text(str(len(list(library.iterdir()))))
    page.set_input_files("#file", str(kite_query(tmp_path, sample_photos)))
    first = page.locator(".card").first
    sync_api.expect(first).to_be_visible(timeout=15_000)
    assert Path(first.get_attribute("title")).stem.startswith("Kite")
    assert not errors, errors
    context.close()


def test_search_page_end_to_end(
    browser, base: str, library: Path, sample_photos: list[Path], tmp_path: Path
) -> None:
    # bypass_csp: the page forbids eval (its CSP), which Playwright's string predicates
    # need; the page itself still runs under its policy.
    context = browser.new_context(
        locale="zh-CN", viewport={"width": 1280, "height": 900}, bypass_csp=True
    )
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    offsite: list[str] = []
    page.on(
        "request",
        lambda r: None if r.url.startswith((base, "blob:", "data:")) else offsite.append(r.url),
    )
    page.goto(base)

    # Chinese by default for a Chinese browser.
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    assert page.locator(".drop-title").inner_text() == "把图片拖到这里"
    assert not page.locator("#results").is_visible()  # nothing to show before a search
    sync_api.expect(page.locator("#stats")).to_contain_text(str(len(list(library.iterdir()))))

    # 1. The file picker: the original ranks first, with its percentage.
    page.set_input_files("#file", str(kite_query(tmp_path, sample_photos)))
    first = page.locator(".card").first
    sync_api.expect(first).to_be_visible(timeout=15_000)
    assert Path(first.get_attribute("title")).stem.startswith("Kite")
    assert re.fullmatch(r"\d{1,3}(\.\d)?%", first.locator(".pct").inner_text())
    # the card names how the hit differs from the query (a crop, resized...), not a method
    found = first.locator(".info .muted").inner_text().split(" · ")[0]
    assert found.startswith(tuple(w for pair in WORDS.values() for w in pair)), found
    page.wait_for_function(
        "[...document.querySelectorAll('.card img')].every(i => i.complete && i.naturalWidth)"
    )
    page.screenshot(path=str(tmp_path / "search.png"), full_page=True)

    # 2. Paste the long image from the clipboard; hovering its card scrolls it up.
    tall = base64.b64encode((library / "长图.jpg").read_bytes()).decode()
    page.evaluate(
        """(b64) => {
            const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
            const data = new DataTransfer();
            data.items.add(new File([bytes], "长图.jpg", { type: "image/jpeg" }));
            document.dispatchEvent(new ClipboardEvent("paste", { clipboardData: data }));
        }""",
        tall,
    )
    top = page.locator(".card").first
    sync_api.expect(top).to_have_attribute("title", re.compile("长图"), timeout=15_000)
    sync_api.expect(top).to_have_class(re.compile(r"\btall\b"), timeout=10_000)
    img = top.locator(".frame img")
    before = img.bounding_box()
    top.hover()
    page.wait_for_function(
        "(el) => new DOMMatrix(getComputedStyle(el).transform).m42 < -40", arg=img.element_handle()
    )
    page.wait_for_timeout(2500)  # the rest of the transition, for the screenshot
    after = img.bounding_box()
    assert after["y"] < before["y"] - 40
    page.screenshot(path=str(tmp_path / "hover.png"))

    # 3. Drop an image on the page; click the best hit: the side-by-side comparison.
    autumn = base64.b64encode(sample_photos[1].read_bytes()).decode()
    page.evaluate(
        """(b64) => {
            const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
            const data = new DataTransfer();
            data.items.add(new File([bytes], "dropped.jpg", { type: "image/jpeg" }));
            window.dispatchEvent(new DragEvent("drop", { dataTransfer: data, bubbles: true }));
        }""",
        autumn,
    )
    sync_api.expect(page.locator("#query-name")).to_have_text("dropped.jpg", timeout=15_000)
    first = page.locator(".card").first
    assert Path(first.get_attribute("title")).stem.startswith(sample_photos[1].stem)
    first.click()
    dialog = page.locator("dialog#compare")
    sync_api.expect(dialog).to_be_visible()
    rows = dialog.locator("tbody tr")
    sync_api.expect(rows.first).to_be_visible(timeout=20_000)
    assert rows.count() >= 8
    methods = {rows.nth(i).get_attribute("data-method") for i in range(rows.count())}
    assert {"phash", "ssim", "orb", "color"} <= methods
    sync_api.expect(dialog.locator(".verdict .tag")).to_have_text(re.compile("相同|相似"))
    page.wait_for_function("document.getElementById('cmp-b').complete")
    page.screenshot(path=str(tmp_path / "compare.png"))

    # 4. English at a click, remembered for the next visit.
    page.locator("#compare-close").click()
    page.locator("[data-set-lang=en]").click()
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.locator(".drop-title").inner_text() == "Drop an image here"
    assert page.locator("[data-set-lang=en]").get_attribute("aria-pressed") == "true"
    page.reload()
    assert page.locator(".drop-title").inner_text() == "Drop an image here"
    assert not page.locator("#results").is_visible()
    page.screenshot(path=str(tmp_path / "english.png"))

    assert not errors, errors
    assert not offsite, offsite
    context.close()
