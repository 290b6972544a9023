"""The HTML report's selection and "export plan", driven in real headless Chromium.

The report is opened from disk (no server); clicking "export plan" downloads a
``lookalike-plan`` version 1 file built in the page. It must parse as that format and list
exactly the checked files, with the digests of the scan and the keeper chosen in the page.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from lookalike.dupes.actions import file_digest
from lookalike.dupes.records import DuplicateReport
from lookalike.reports.html import write_html

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
if not os.path.exists(CHROMIUM):
    pytest.skip(
        "Debian's chromium is not installed (apt-get install -y chromium)", allow_module_level=True
    )
sync_api = pytest.importorskip(
    "playwright.sync_api", reason="playwright is not installed (pip install playwright)"
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]
FIELDS = {"action", "path", "digest", "keeper", "keeper_digest", "target", "group", "reason"}


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with sync_api.sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        yield chromium
        chromium.close()


@pytest.fixture()
def html_report(report: DuplicateReport, tmp_path: Path) -> tuple[Path, DuplicateReport, str]:
    """The shared two-group report, with the digests a scan records, written as HTML."""
    paths = [m.path for g in report.groups for m in g.members]
    scanned = DuplicateReport(
        groups=report.groups,
        pairs=report.pairs,
        errors=report.errors,
        scanned=report.scanned,
        digests={p: d for p in paths if (d := file_digest(p))},
    )
    root = os.path.dirname(paths[0])
    out = tmp_path / "report.html"
    write_html(scanned, out, lang="en", roots=[root])
    return out, scanned, root


def export(page: object) -> dict[str, object]:
    """Click "export plan" and read the downloaded file."""
    with page.expect_download() as info:  # type: ignore[attr-defined]
        page.locator("#export-plan").click()  # type: ignore[attr-defined]
    download = info.value
    assert download.suggested_filename.startswith("lookalike-plan-")
    assert download.suggested_filename.endswith(".json")
    return json.loads(Path(download.path()).read_text(encoding="utf-8"))


def checked(page: object) -> set[str]:
    """The paths whose checkbox is ticked in the page."""
    cards = page.locator("figure.card:has(input.pick:checked)")  # type: ignore[attr-defined]
    return {cards.nth(i).get_attribute("data-path") for i in range(cards.count())}


def check_format(plan: dict[str, object], report: DuplicateReport, root: str) -> list[dict]:
    """The fixed plan format, field by field; returns the actions."""
    assert plan["format"] == "lookalike-plan"
    assert plan["version"] == 1
    datetime.fromisoformat(str(plan["created"]))  # ISO-8601
    assert plan["roots"] == [root]
    actions = plan["actions"]
    assert isinstance(actions, list)
    members = {m.path: n for n, g in enumerate(report.groups, 1) for m in g.members}
    assert sorted(a["path"] for a in actions) == sorted(members)  # every member, once
    for a in actions:
        assert set(a) == FIELDS
        assert a["action"] in ("move", "trash", "delete", "keep")
        assert os.path.isabs(a["path"])
        assert a["group"] == members[a["path"]]
        assert a["digest"] == report.digests[a["path"]]
        assert a["keeper"] is None or a["keeper_digest"] == report.digests[a["keeper"]]
        assert isinstance(a["reason"], str) and a["reason"]
        assert (a["target"] is not None) == (a["action"] == "move")
    return actions


def test_exported_plan_lists_the_checked_files(
    browser, html_report: tuple[Path, DuplicateReport, str], tmp_path: Path
) -> None:
    path, report, root = html_report
    context = browser.new_context(accept_downloads=True, locale="en-US")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(path.as_uri())

    # 1. As it opens: every member but the keeper is checked; trash them.
    keepers = {g.keep for g in report.groups}
    copies = {m.path for g in report.groups for m in g.members} - keepers
    assert checked(page) == copies
    page.locator("#plan-action").select_option("trash")
    plan = export(page)
    actions = check_format(plan, report, root)
    assert {a["path"] for a in actions if a["action"] == "trash"} == copies
    assert {a["path"] for a in actions if a["action"] == "keep"} == keepers
    for a in actions:
        group = report.groups[a["group"] - 1]
        assert a["keeper"] == group.keep

    # 2. Keep the small Autumn copy instead, leave the second group's copy alone, move.
    g1, g2 = report.groups
    small = next(m.path for m in g1.members if m.path != g1.keep)
    page.locator(f"#g1 figure.card[data-path='{small}'] input.keep-radio").check()
    assert page.locator(f"#g1 figure.card[data-path='{small}'] input.pick").is_disabled()
    other = next(m.path for m in g2.members if m.path != g2.keep)
    page.locator("#g2 figure.card:not(.keep) input.pick").uncheck()
    page.locator("#plan-action").select_option("move")
    dest = tmp_path / "aside"
    page.locator("#plan-dest").fill(str(dest))
    plan = export(page)
    actions = check_format(plan, report, root)
    chosen = {a["path"] for a in actions if a["action"] != "keep"}
    assert chosen == checked(page) == {g1.keep}
    (moved,) = (a for a in actions if a["action"] == "move")
    assert moved["keeper"] == small
    assert moved["keeper_digest"] == report.digests[small]
    assert moved["target"] == str(dest / os.path.relpath(g1.keep, root))
    kept = {a["path"]: a for a in actions if a["action"] == "keep"}
    assert kept[other]["reason"] == "not selected"
    assert kept[small]["reason"] == "keeper"
    sync_api.expect(page.locator("#plan-msg")).to_contain_text("1 files")

    # 3. The shared checker of the review page reads it as a plan too.
    from lookalike.web.review import check_plan

    assert len(check_plan(plan)) == len(actions)
    assert not errors, errors
    context.close()


def test_move_without_destination_exports_nothing(
    browser, html_report: tuple[Path, DuplicateReport, str]
) -> None:
    path, _, _ = html_report
    context = browser.new_context(accept_downloads=True, locale="en-US")
    page = context.new_page()
    downloads: list[object] = []
    page.on("download", lambda d: downloads.append(d))
    page.goto(path.as_uri())
    page.locator("#plan-action").select_option("move")
    page.locator("#export-plan").click()
    sync_api.expect(page.locator("#plan-msg")).to_contain_text("destination folder first")
    page.wait_for_timeout(300)
    assert not downloads
    context.close()
