"""The review page of `lookalike dupes PATH --review` in real headless Chromium.

On a folder of the sample photos with a byte copy, a resized copy and a mirrored copy:
swap a keeper, mark a group "not duplicates", move the rest after the confirmation,
check every file on disk by checksum, undo, and check every file is back byte for byte.
Also: the action endpoint refuses a cross-site POST (403) and a foreign Host (421).
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from PIL import Image, ImageOps

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
if not os.path.exists(CHROMIUM):
    pytest.skip(
        "Debian's chromium is not installed (apt-get install -y chromium)", allow_module_level=True
    )
sync_api = pytest.importorskip(
    "playwright.sync_api", reason="playwright is not installed (pip install playwright)"
)
httpx = pytest.importorskip("httpx")

from lookalike_server import stop  # noqa: E402
from test_browser import ARGS  # noqa: E402

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@dataclass
class Review:
    """A running `lookalike dupes --review`: its address, process and log."""

    base: str
    process: subprocess.Popen[bytes]
    log: Path


def start_review(lib: Path, home: Path) -> Review:
    """Run `lookalike dupes LIB --review --no-browser` and wait until the page answers.

    Trash and journals go under ``home`` (XDG_DATA_HOME, XDG_STATE_HOME).
    """
    log = home / "review.log"
    out = log.open("wb")
    env = {
        **os.environ,
        "XDG_DATA_HOME": str(home / "data"),
        "XDG_STATE_HOME": str(home / "state"),
        "LOOKALIKE_TOKEN": "",
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "lookalike",
            "dupes",
            str(lib),
            "--no-cache",
            "--review",
            "--no-browser",
        ],
        stdout=out,
        stderr=subprocess.STDOUT,
        env=env,
    )
    out.close()
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"lookalike dupes --review exited {process.returncode}:\n{log.read_text()}")
        found = re.search(
            r"review page at (http://127\.0\.0\.1:\d+)/", log.read_text(errors="replace")
        )
        if found:
            try:
                if httpx.get(f"{found.group(1)}/api/review", timeout=2).status_code == 200:
                    return Review(found.group(1), process, log)
            except httpx.TransportError:
                pass
        time.sleep(0.2)
    process.kill()
    pytest.fail(f"the review page did not answer within 120 s:\n{log.read_text()}")


def checksums(*folders: Path) -> dict[str, str]:
    """SHA-256 of every file under ``folders``, by absolute path."""
    return {
        str(p): hashlib.sha256(p.read_bytes()).hexdigest()
        for folder in folders
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.fixture()
def library(tmp_path: Path, sample_photos: list[Path]) -> Path:
    """Five sample photos, and in copies/: a byte copy, a half-size copy, a mirror image."""
    lib = tmp_path / "photos"
    (lib / "copies").mkdir(parents=True)
    by_name = {p.stem: p for p in sample_photos}
    for stem in ("Kite", "Autumn", "Path", "Altai", "MilkyWay"):
        shutil.copy(by_name[stem], lib / f"{stem}.jpg")
    shutil.copy(by_name["Kite"], lib / "copies" / "Kite copy.jpg")
    with Image.open(by_name["Autumn"]) as im:
        im.resize((im.width // 2, im.height // 2)).save(lib / "copies" / "Autumn half.jpg")
    with Image.open(by_name["Path"]) as im:
        ImageOps.mirror(im).save(lib / "copies" / "Path mirrored.jpg", quality=90)
    return lib


@pytest.fixture()
def review(library: Path, tmp_path: Path) -> Iterator[Review]:
    home = tmp_path / "home"
    home.mkdir()
    served = start_review(library, home)
    yield served
    stop(served)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with sync_api.sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        yield chromium
        chromium.close()


def group_of(page: object, name: str) -> object:
    """The group section holding the file ``name``."""
    return page.locator("section.rgroup").filter(  # type: ignore[attr-defined]
        has=page.locator(f'figure.rcard[data-path$="/{name}"]')  # type: ignore[attr-defined]
    )


def test_review_swap_mark_move_then_undo(
    browser, review: Review, library: Path, tmp_path: Path
) -> None:
    before = checksums(library)
    moved = tmp_path / "moved"
    context = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 1000})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    offsite: list[str] = []
    page.on("request", lambda r: None if r.url.startswith(review.base) else offsite.append(r.url))
    response = page.goto(review.base)
    assert "default-src 'self'" in (response.headers.get("content-security-policy") or "")

    autumn, kite, path = (group_of(page, n) for n in ("Autumn.jpg", "Kite.jpg", "Path.jpg"))
    sync_api.expect(autumn).to_have_count(1, timeout=15_000)
    assert page.locator("section.rgroup").count() == 3
    for group in (autumn, kite, path):
        cards = group.locator("figure.rcard")
        assert cards.count() == 2
        # the keeper rule: every member but the keeper is checked, the keeper cannot be
        assert group.locator("figure.rcard.keeper .pick-box").is_disabled()
        assert group.locator("figure.rcard:not(.keeper) .pick-box").is_checked()
        assert re.search(r"similarity \d+(\.\d)?%", cards.nth(1).inner_text())
        assert re.search(r"\d+×\d+ · [\d.]+ KB", cards.nth(1).inner_text())
    # each copy says how it differs from its keeper, as the engine measured it
    assert "identical file" in kite.locator("figure.rcard:not(.keeper)").inner_text()
    assert "resized" in autumn.locator("figure.rcard:not(.keeper)").inner_text()
    assert "mirror image" in path.locator("figure.rcard:not(.keeper)").inner_text()
    # every thumbnail renders
    page.wait_for_function(
        "() => [...document.querySelectorAll('.rcard img')]"
        ".every(i => i.complete && i.naturalWidth)"
    )

    # 1. Swap the Autumn group's keeper: the half-size copy stays, the original goes.
    assert autumn.locator("figure.rcard.keeper").get_attribute("data-path").endswith("/Autumn.jpg")
    autumn.locator('figure.rcard[data-path$="/Autumn half.jpg"] .make-keeper').click()
    keeper = autumn.locator("figure.rcard.keeper")
    assert keeper.get_attribute("data-path").endswith("/Autumn half.jpg")
    assert autumn.locator('figure.rcard[data-path$="/Autumn.jpg"] .pick-box').is_checked()
    kite_keeper = kite.locator("figure.rcard.keeper").get_attribute("data-path")
    kite_copy = kite.locator("figure.rcard:not(.keeper)").get_attribute("data-path")

    # 2. The Path group is not duplicates: it leaves the review.
    path.locator("button.not-dupes").click()
    sync_api.expect(path).to_have_count(0)
    sync_api.expect(page.locator("#marked")).to_contain_text("1 groups marked")

    # 3. Move, after the summary: two files, their total size, every file listed.
    page.locator('input[name="action"][value="move"]').check()
    page.locator("#destination").fill(str(moved))
    page.locator("#act").click()
    dialog = page.locator("dialog#confirm")
    sync_api.expect(dialog).to_be_visible()
    sync_api.expect(page.locator("#confirm-text")).to_contain_text("Move 2 files")
    assert page.locator("#confirm-files li").count() == 2
    assert not page.locator("#confirm-warning").is_visible()
    page.screenshot(path=str(tmp_path / "confirm.png"))
    page.locator("#confirm-ok").click()
    sync_api.expect(page.locator("#results li.ok")).to_have_count(2, timeout=15_000)
    sync_api.expect(page.locator("#undo")).to_be_visible()
    page.screenshot(path=str(tmp_path / "moved.png"), full_page=True)

    after = checksums(library, moved)
    gone = {str(library / "Autumn.jpg"), kite_copy}
    for p in gone:
        assert not os.path.exists(p)
        target = moved / os.path.relpath(p, library)
        assert after[str(target)] == before[p], p  # the same bytes, at the same relative place
    for p, digest in before.items():  # everything else, keepers included, untouched
        if p not in gone:
            assert after[p] == digest, p
    assert (
        after[str(library / "copies" / "Autumn half.jpg")]
        == before[str(library / "copies" / "Autumn half.jpg")]
    )
    assert os.path.exists(kite_keeper)
    journals = list(
        (tmp_path / "home" / "state" / "lookalike" / "journals").glob("journal-*.jsonl")
    )
    assert len(journals) == 1

    # 4. Undo: every file is back, byte for byte; nothing is left in the destination.
    page.locator("#undo").click()
    sync_api.expect(page.locator("#status")).to_contain_text("2 restored", timeout=15_000)
    sync_api.expect(page.locator("#undo")).to_be_hidden()
    assert checksums(library) == before
    assert not [p for p in moved.rglob("*") if p.is_file()]

    # 5. The page speaks Chinese too.
    page.locator("[data-set-lang=zh]").click()
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    assert page.locator("button.not-dupes").first.inner_text() == "不是重复"
    assert page.locator("#act").inner_text() == "核对并执行…"

    assert not errors, errors
    assert not offsite, offsite
    context.close()


def test_review_refuses_cross_site_writes_and_foreign_hosts(review: Review, library: Path) -> None:
    before = checksums(library)
    page = httpx.get(review.base + "/").text
    token = re.search(r'name="lookalike-token" content="([\w-]+)"', page).group(1)
    groups = httpx.get(review.base + "/api/review").json()["groups"]
    body = {
        "action": "delete",
        "groups": [
            {
                "group": g["group"],
                "keeper": g["keep"],
                "selected": [m["path"] for m in g["members"][1:]],
            }
            for g in groups
        ],
    }
    auth = {"Authorization": f"Bearer {token}"}
    # a page of another site, even holding the token, is refused before anything runs
    for origin in (
        "http://evil.example",
        "null",
        f"{review.base.replace('127.0.0.1', 'localhost')}",
    ):
        r = httpx.post(
            review.base + "/api/review/apply", json=body, headers={**auth, "Origin": origin}
        )
        assert r.status_code == 403, (origin, r.text)
    r = httpx.post(
        review.base + "/api/review/apply",
        json=body,
        headers={**auth, "Sec-Fetch-Site": "cross-site"},
    )
    assert r.status_code == 403
    r = httpx.post(
        review.base + "/api/review/undo", headers={"Origin": "http://evil.example", **auth}
    )
    assert r.status_code == 403
    # a DNS-rebinding name is not answered, reads included
    for url in ("/", "/api/review", "/api/review/apply"):
        r = httpx.request(
            "POST" if url.endswith("apply") else "GET",
            review.base + url,
            headers={"Host": "evil.example"},
            json=body if url.endswith("apply") else None,
        )
        assert r.status_code == 421, (url, r.status_code)
    # without the token, writes are refused; a path outside the report is refused
    assert httpx.post(review.base + "/api/review/apply", json=body).status_code == 401
    outside = {**body, "groups": [{**body["groups"][0], "selected": ["/etc/hostname"]}]}
    r = httpx.post(review.base + "/api/review/apply", json=outside, headers=auth)
    assert r.status_code == 400
    assert checksums(library) == before


def test_delete_needs_the_summary_and_cancel_keeps_everything(
    browser, review: Review, library: Path
) -> None:
    before = checksums(library)
    context = browser.new_context(locale="zh-CN")
    page = context.new_page()
    page.goto(review.base)
    sync_api.expect(page.locator("section.rgroup")).to_have_count(3, timeout=15_000)
    page.locator('input[name="action"][value="delete"]').check()
    assert not page.locator("#destination").is_visible()
    page.locator("#act").click()
    sync_api.expect(page.locator("dialog#confirm")).to_be_visible()
    sync_api.expect(page.locator("#confirm-text")).to_contain_text("永久删除 3 个文件")
    sync_api.expect(page.locator("#confirm-warning")).to_have_text(
        "删除的文件无法恢复，撤销也不能恢复。"
    )
    listed = page.locator("#confirm-files li")
    assert listed.count() == 3  # every file that would be deleted
    assert all(str(library) in listed.nth(i).inner_text() for i in range(3))
    page.locator("#confirm-cancel").click()
    sync_api.expect(page.locator("dialog#confirm")).to_be_hidden()
    assert checksums(library) == before
    context.close()


def test_trash_and_delete_through_the_api_then_undo(
    review: Review, library: Path, tmp_path: Path
) -> None:
    """Trash is the freedesktop trash (files/ + info/*.trashinfo) and comes back on undo;
    a deleted file is reported as impossible to restore; a changed copy is skipped."""
    before = checksums(library)
    page = httpx.get(review.base + "/").text
    token = re.search(r'name="lookalike-token" content="([\w-]+)"', page).group(1)
    auth = {"Authorization": f"Bearer {token}"}
    groups = {
        Path(g["keep"]).stem.split()[0]: g
        for g in httpx.get(review.base + "/api/review").json()["groups"]
    }
    kite, autumn, path = groups["Kite"], groups["Autumn"], groups["Path"]

    def pick(g: dict) -> dict:
        return {
            "group": g["group"],
            "keeper": g["keep"],
            "selected": [m["path"] for m in g["members"][1:]],
        }

    # the mirrored Path copy changes after the scan: it must be skipped
    changed = next(m["path"] for m in path["members"][1:])
    Path(changed).write_bytes(Path(changed).read_bytes() + b"\0")
    r = httpx.post(
        review.base + "/api/review/apply",
        json={"action": "trash", "groups": [pick(kite), pick(autumn), pick(path)]},
        headers=auth,
    )
    assert r.status_code == 200, r.text
    results = {x["path"]: x for x in r.json()["results"]}
    assert not results[changed]["done"] and "changed since the scan" in results[changed]["reason"]
    trash = tmp_path / "home" / "data" / "Trash"
    trashed = [x for x in results.values() if x["done"]]
    assert len(trashed) == 2
    for x in trashed:
        assert not os.path.exists(x["path"])
        assert Path(x["target"]).parent == trash / "files"
        info = (trash / "info" / (Path(x["target"]).name + ".trashinfo")).read_text()
        assert info.startswith("[Trash Info]\nPath=")
        assert "DeletionDate=" in info
    r = httpx.post(review.base + "/api/review/undo", headers=auth)
    assert r.status_code == 200 and all(x["done"] for x in r.json()["results"])
    assert not list((trash / "files").iterdir()) and not list((trash / "info").iterdir())
    Path(changed).write_bytes(Path(changed).read_bytes()[:-1])
    assert checksums(library) == before

    # delete: done, and undo says plainly it cannot be restored
    r = httpx.post(
        review.base + "/api/review/apply",
        json={"action": "delete", "groups": [pick(kite)]},
        headers=auth,
    )
    (deleted,) = r.json()["results"]
    assert deleted["done"] and not os.path.exists(deleted["path"])
    (undone,) = httpx.post(review.base + "/api/review/undo", headers=auth).json()["results"]
    assert not undone["done"] and undone["reason"] == "deleted: it cannot be restored"
    assert httpx.post(review.base + "/api/review/undo", headers=auth).status_code == 400
