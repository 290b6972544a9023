"""Videos in a search collection: a still finds its video and time, a video its copies.

The clips are slideshows of the committed sample photos written here with OpenCV: each
photo held 2 s with a slow zoom (as photo slideshows are made), 10 frames per second.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from corpus import CORPUS, SAMPLES

from lookalike.cli import main
from lookalike.search.collection import Collection
from lookalike.video.edits import apply_edit, write_clip

cv2 = pytest.importorskip("cv2")

PHOTOS = sorted(SAMPLES.glob("*.jpg"))
FPS = 10.0
VIDEO_CORPUS = CORPUS / "video"
CLIPS = "clips 视频"  # a folder name with a space and Chinese characters


def slideshow(photos: list[Path], dest: Path, seconds: float = 2.0) -> None:
    """Each photo ``seconds`` long, zooming in by 6% (320x240)."""
    w, h = 320, 240
    frames: list[np.ndarray] = []
    per = round(seconds * FPS)
    for photo in photos:
        im = cv2.imread(str(photo), cv2.IMREAD_REDUCED_COLOR_2)
        ph, pw = im.shape[:2]
        scale = max(w / pw, h / ph)
        im = cv2.resize(im, (round(pw * scale), round(ph * scale)), interpolation=cv2.INTER_AREA)
        ph, pw = im.shape[:2]
        for k in range(per):
            z = 1.0 + 0.06 * k / per
            cw, ch = round(w / z), round(h / z)
            x, y = (pw - cw) // 2, (ph - ch) // 2
            crop = im[y : y + ch, x : x + cw]
            frames.append(cv2.resize(crop, (w, h), interpolation=cv2.INTER_AREA))
    write_clip(dest, frames, FPS, "mp4v")


def still(video: Path, seconds: float, dest: Path) -> Path:
    """The frame shown at ``seconds``, saved as a JPEG (a screenshot)."""
    cap = cv2.VideoCapture(str(video))
    cap.set(cv2.CAP_PROP_POS_MSEC, seconds * 1000)
    ok, frame = cap.read()
    cap.release()
    assert ok
    cv2.imwrite(str(dest), frame, [cv2.IMWRITE_JPEG_QUALITY, 85])
    return dest


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two photos and two clips (a: photos 0-2, b: photos 4-6); photo 7 is in neither."""
    root = tmp_path_factory.mktemp("videolib")
    shutil.copy(PHOTOS[0], root / "p0.jpg")
    shutil.copy(PHOTOS[5], root / "p5.jpg")
    (root / CLIPS).mkdir()
    slideshow(PHOTOS[:3], root / CLIPS / "a.mp4")
    slideshow(PHOTOS[4:7], root / CLIPS / "b.mp4")
    return root


@pytest.fixture(scope="module")
def db(library: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("videodb") / "db"
    assert main(["index", str(library), "--db", str(out), "--json"]) == 0
    return out


def hamming_bits(a: np.ndarray, b: np.ndarray) -> int:
    return int(np.unpackbits(np.asarray(a, np.uint8) ^ np.asarray(b, np.uint8)).sum())


def search_json(capsys: pytest.CaptureFixture[str], query: Path, db: Path) -> dict:
    capsys.readouterr()
    assert main(["search", str(query), "--db", str(db), "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_index_counts_images_and_videos(db: Path, library: Path) -> None:
    with Collection(db) as coll:
        info = coll.stats()
        assert (info["images"], info["videos"]) == (2, 2)
        again = coll.update([library])
    assert (again.computed, again.cached, again.failed) == (0, 4, 0)


def test_a_still_finds_its_video_and_time(
    capsys: pytest.CaptureFixture[str], db: Path, library: Path, tmp_path: Path
) -> None:
    query = still(library / CLIPS / "a.mp4", 3.0, tmp_path / "shot.jpg")
    data = search_json(capsys, query, db)
    videos = [r for r in data["results"] if r.get("video")]
    assert [Path(r["path"]).name for r in videos] == ["a.mp4"]
    (hit,) = videos
    assert abs(hit["time"] - 3.0) <= 1.0
    assert hit["verdict"] == "similar" and hit["distance"] <= 12
    assert data["results"][0] == hit  # nearer than any photo
    images = [r for r in data["results"] if not r.get("video")]
    assert images and all("time" not in r and "video" not in r for r in images)


def test_a_still_between_two_samples_of_a_fast_pan_finds_its_own_frame(tmp_path: Path) -> None:
    """A slideshow panning 8 px a frame, sampled ~3.75 times a second: the frames that lie
    over FRAME_DISTANCE from every sample are still found, at their own time (0.1 s)."""
    from lookalike.video.align import FRAME_DISTANCE
    from lookalike.video.collection import frame_code
    from lookalike.video.edits import make_slideshow, read_clip
    from lookalike.video.fingerprint import fingerprint_video

    folder = tmp_path / "平移"
    folder.mkdir()
    clip = folder / "幻灯片.mp4"
    make_slideshow(PHOTOS[:3], clip, size=(320, 240))
    fp = fingerprint_video(clip)
    far = []
    for i, frame in enumerate(read_clip(clip).frames):
        code, blank = frame_code(frame)
        d = np.unpackbits(fp.codes[fp.valid] ^ code[None, :], axis=1).sum(axis=1)
        if not blank and d.min() > FRAME_DISTANCE:
            far.append(i)
            cv2.imwrite(str(tmp_path / f"{i}.jpg"), frame, [cv2.IMWRITE_JPEG_QUALITY, 85])
    assert len(far) >= 3
    with Collection(tmp_path / "db", create=True) as coll:
        assert coll.update([folder]).videos == 1
        for i in far:
            hits = [h for h in coll.search(tmp_path / f"{i}.jpg").results if h.video]
            assert [Path(h.path).name for h in hits] == ["幻灯片.mp4"], i
            assert abs(float(hits[0].time or 0) - i / 10) <= 0.1 + 1e-6, (i, hits[0].time)
            assert hits[0].distance <= FRAME_DISTANCE


def test_mirrored_still_and_mirrored_copy_find_their_video(
    capsys: pytest.CaptureFixture[str], db: Path, library: Path, tmp_path: Path
) -> None:
    """A still flipped left to right finds its video and time, marked ``mirrored``; so does
    a trimmed copy flipped left to right, with its segments; the text says so."""
    shot = still(library / CLIPS / "a.mp4", 3.0, tmp_path / "shot.jpg")
    cv2.imwrite(str(tmp_path / "镜像.jpg"), cv2.flip(cv2.imread(str(shot)), 1))
    data = search_json(capsys, tmp_path / "镜像.jpg", db)
    (hit,) = [r for r in data["results"] if r.get("video")]
    assert Path(hit["path"]).name == "a.mp4" and hit["mirrored"] is True
    assert abs(hit["time"] - 3.0) <= 1.0
    trimmed = tmp_path / "a.trim.mp4"
    apply_edit(library / CLIPS / "a.mp4", trimmed, "trim")
    from lookalike.video.edits import read_clip

    clip = read_clip(trimmed)
    write_clip(tmp_path / "镜像剪辑.mp4", [cv2.flip(f, 1) for f in clip.frames], clip.fps)
    data = search_json(capsys, tmp_path / "镜像剪辑.mp4", db)
    (hit,) = data["results"]
    assert Path(hit["path"]).name == "a.mp4" and hit["mirrored"] is True and hit["segments"]
    assert 0.5 <= hit["time"] <= 2.5
    assert main(["search", str(tmp_path / "镜像剪辑.mp4"), "--db", str(db)]) == 0
    assert "a.mp4 @ 00:0" in capsys.readouterr().out


def test_a_plain_still_is_not_marked_mirrored(
    capsys: pytest.CaptureFixture[str], db: Path, library: Path, tmp_path: Path
) -> None:
    shot = still(library / CLIPS / "b.mp4", 3.0, tmp_path / "shot.jpg")
    (hit,) = [r for r in search_json(capsys, shot, db)["results"] if r.get("video")]
    assert "mirrored" not in hit


def test_an_unrelated_photo_finds_no_video(capsys: pytest.CaptureFixture[str], db: Path) -> None:
    data = search_json(capsys, PHOTOS[7], db)
    assert not [r for r in data["results"] if r.get("video")]


def test_a_video_query_finds_its_copy_with_segments(
    capsys: pytest.CaptureFixture[str], db: Path, library: Path, tmp_path: Path
) -> None:
    copy = tmp_path / "a.trim.mp4"
    apply_edit(library / CLIPS / "a.mp4", copy, "trim")
    data = search_json(capsys, copy, db)
    assert [Path(r["path"]).name for r in data["results"]] == ["a.mp4"]
    (hit,) = data["results"]
    assert hit["video"] is True and hit["segments"]
    seg = max(hit["segments"], key=lambda s: s["a_end"] - s["a_start"])
    assert abs(seg["offset"] - hit["time"]) <= 0.5  # the trimmed copy starts later in a
    assert 0.5 <= hit["time"] <= 2.5  # trim drops the first 25% of 6 s


def test_text_output_names_the_time(
    capsys: pytest.CaptureFixture[str], db: Path, library: Path, tmp_path: Path
) -> None:
    query = still(library / CLIPS / "b.mp4", 1.0, tmp_path / "shot.jpg")
    capsys.readouterr()
    assert main(["search", str(query), "--db", str(db)]) == 0
    out = capsys.readouterr().out
    assert "b.mp4 @ 00:0" in out


def test_text_output_of_a_video_query_names_the_segments(
    capsys: pytest.CaptureFixture[str], db: Path, library: Path, tmp_path: Path
) -> None:
    copy = tmp_path / "剪辑 a.mp4"
    apply_edit(library / CLIPS / "a.mp4", copy, "trim")
    capsys.readouterr()
    assert main(["search", str(copy), "--db", str(db)]) == 0
    out = capsys.readouterr().out
    assert "a.mp4 @ 00:0" in out
    assert "A: the query" in out
    assert re.search(r"^#1: 00:00-00:\S+ of A is 00:0\S+ of B, \d+% of frames$", out, re.M), out


def test_removed_video_is_dropped(library: Path, tmp_path: Path) -> None:
    folder = tmp_path / "lib"
    shutil.copytree(library, folder)
    with Collection(tmp_path / "db", create=True) as coll:
        assert coll.update([folder]).videos == 2
        (folder / CLIPS / "b.mp4").unlink()
        stats = coll.update([folder])
        assert (stats.videos, stats.removed) == (1, 1)


def test_image_collection_has_no_video_file(tmp_path: Path) -> None:
    folder = tmp_path / "photos"
    folder.mkdir()
    for p in PHOTOS[:3]:
        shutil.copy(p, folder / p.name)
    with Collection(tmp_path / "db", create=True) as coll:
        stats = coll.update([folder])
        result = coll.search(PHOTOS[0]).to_dict()
        assert "videos" not in coll.stats()
    assert stats.videos == 0
    assert not (tmp_path / "db" / "videos.sqlite").exists()
    assert all(set(r) == {"id", "path", "similarity", "distance", "method", "width", "height",
                          "verdict", "relation"} for r in result["results"])  # fmt: skip


def test_api_returns_time_and_serves_the_video_with_ranges(
    db: Path, library: Path, tmp_path: Path
) -> None:
    pytest.importorskip("fastapi")
    pytest.importorskip("httpx")
    from fastapi.testclient import TestClient

    from lookalike.web.app import create_app

    query = still(library / CLIPS / "a.mp4", 3.0, tmp_path / "shot.jpg")
    with Collection(db) as coll:
        client = TestClient(create_app(coll, allowed_hosts=None))
        r = client.post("/api/search", files={"file": ("shot.jpg", query.read_bytes())})
        assert r.status_code == 200, r.text
        (hit,) = [x for x in r.json()["results"] if x.get("video")]
        assert abs(hit["time"] - 3.0) <= 1.0
        assert hit["video_url"] == f"/api/videos/{hit['id']}"
        assert "thumbnail_url" not in hit
        part = client.get(hit["video_url"], headers={"Range": "bytes=0-99"})
        assert part.status_code == 206 and len(part.content) == 100
        assert part.content == (library / CLIPS / "a.mp4").read_bytes()[:100]
        assert client.get("/api/videos/999").status_code == 404
        assert client.get("/api/videos/..%2Fetc").status_code == 404
        # the matched frame as a JPEG: the card's still, whatever codecs the browser has
        assert hit["frame_url"] == f"{hit['video_url']}/frame?t={hit['time']:.3f}"
        frame = client.get(hit["frame_url"])
        assert frame.status_code == 200 and frame.headers["content-type"] == "image/jpeg"
        shown = cv2.imdecode(np.frombuffer(frame.content, np.uint8), cv2.IMREAD_COLOR)
        from lookalike.video.collection import frame_code

        assert hamming_bits(frame_code(shown)[0], frame_code(query)[0]) <= 12
        for bad in ("t=-1", "t=nan", "t=1e9", "t=x"):
            assert client.get(f"{hit['video_url']}/frame?{bad}").status_code == 422, bad
        assert client.get(f"{hit['video_url']}/frame?t=3600").status_code == 422  # past the end
        assert client.get("/api/videos/999/frame?t=1").status_code == 404
        page = client.get("/")
        assert page.status_code == 200 and 'id="cmp-b-video"' in page.text


@contextlib.contextmanager
def page_on(db: Path) -> Iterator[tuple[Any, Any, list[str]]]:
    """A served collection and a headless Chromium page on it: ``(page, expect, errors)``
    (errors: page errors and console errors, the page's own CSP violations included)."""
    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    if not os.path.exists(chromium):
        pytest.skip("Debian's chromium is not installed (apt-get install -y chromium)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    uvicorn = pytest.importorskip("uvicorn")
    pytest.importorskip("fastapi")
    from lookalike.web.app import create_app

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with Collection(db) as coll:
        config = uvicorn.Config(create_app(coll), port=port, log_level="warning")
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        try:
            deadline = time.monotonic() + 30
            while not server.started and time.monotonic() < deadline:
                time.sleep(0.05)
            with sync_api.sync_playwright() as pw:
                browser = pw.chromium.launch(
                    executable_path=chromium, headless=True, args=["--no-sandbox", "--disable-gpu"]
                )
                page = browser.new_page(locale="en-US")
                errors: list[str] = []
                page.on("pageerror", lambda exc: errors.append(str(exc)))
                page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
                page.goto(f"http://127.0.0.1:{port}/")
                yield page, sync_api.expect, errors
                browser.close()
        finally:
            server.should_exit = True
            thread.join(10)


@pytest.mark.browser
def test_page_shows_the_matched_frame_where_the_codec_cannot_play(
    db: Path, library: Path, tmp_path: Path
) -> None:
    """Headless Chromium cannot play OpenCV's mp4v: the card keeps the matched frame (a
    JPEG from the server, at the hit's time) and says why; the dialog shows it beside the
    query, without the method table. Resizing the window raises nothing."""
    query = still(library / CLIPS / "a.mp4", 3.0, tmp_path / "shot.jpg")
    with page_on(db) as (page, expect, errors):
        expect(page.locator("#stats")).to_contain_text("2 videos")
        page.set_input_files("#file", str(query))
        shown = page.locator(".card img.hit-still").first
        expect(shown).to_be_attached(timeout=15_000)
        src = shown.get_attribute("src") or ""
        path, _, t = src.partition("/frame?t=")
        assert path.startswith("/api/videos/") and abs(float(t) - 3.0) <= 1.0
        expect(page.locator(".frame.unplayable")).to_have_attribute(
            "data-note", re.compile("cannot play")
        )
        card = page.locator(".card", has=page.locator("img.hit-still"))
        expect(card).to_contain_text("▶ 00:0")
        page.set_viewport_size({"width": 900, "height": 700})
        card.click()
        expect(page.locator("#cmp-b")).to_be_visible()
        expect(page.locator("#cmp-b")).to_have_attribute("src", src)
        expect(page.locator("#cmp-verdict")).to_contain_text("cannot play")
        expect(page.locator("#cmp-b-open")).to_have_text("Open the video")
        assert not page.locator("#cmp-table").is_visible()
        page.locator("#compare-close").click()
        errors = [e for e in errors if "Failed to load resource" not in e]  # the mp4v itself
        assert not errors, errors


@pytest.mark.browser
def test_page_plays_a_real_clip_from_the_matched_time(tmp_path: Path) -> None:
    """An H.264 clip of the shared corpus, under a Chinese name: the card's ``<video>``
    loads at ``src#t=`` (the matched time) and plays there, in the card and the dialog."""
    source = VIDEO_CORPUS / "v1.m4v"
    if not source.is_file():
        pytest.skip("../shared/corpus/video is absent (it lives beside the repo clone)")
    folder = tmp_path / "视频"
    folder.mkdir()
    shutil.copy(source, folder / "片段一.m4v")
    shutil.copy(PHOTOS[0], folder / "p0.jpg")
    db = tmp_path / "db"
    assert main(["index", str(folder), "--db", str(db), "--json"]) == 0
    query = still(folder / "片段一.m4v", 2.0, tmp_path / "截图.jpg")
    with page_on(db) as (page, expect, errors):
        page.set_input_files("#file", str(query))
        video = page.locator(".card video.hit-video").first
        expect(video).to_be_attached(timeout=15_000)
        src = video.get_attribute("src") or ""
        path, _, fragment = src.partition("#t=")
        assert path.startswith("/api/videos/") and abs(float(fragment) - 2.0) <= 0.5
        page.wait_for_function("(v) => v.readyState >= 1", arg=video.element_handle())
        state = video.evaluate("(v) => [v.error, v.currentTime, v.duration]")
        assert state[0] is None and abs(state[1] - float(fragment)) <= 0.1 and state[2] > 4
        video.locator("xpath=ancestor::button").click()
        shown = page.locator("#cmp-b-video")
        expect(shown).to_be_visible()
        assert shown.get_attribute("src") == src
        assert not page.locator("#cmp-b").is_visible()
        expect(page.locator("#cmp-b-name")).to_contain_text("片段一.m4v ▶ 00:02")
        assert not errors, errors
