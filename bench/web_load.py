"""Load on `lookalike serve`: concurrent clients searching by upload over loopback.

    python bench/web_load.py [--images 5000] [--clients 50] [--requests 1000] [--duration 120]

The collection: ``--images`` small JPEGs made from the corpus photos
(``../shared/corpus/photos``, else ``samples/``) by cheap random transforms -- a resize to
160-360 px wide, a crop of up to 10 %, a brightness change, sometimes a mirror, JPEG quality
60-90 -- named ``SOURCE__NNNN.jpg``, then indexed with ``Collection.update``. Both are built
once under ``--workdir`` (default bench/out/web-load, one folder per size) and reused.

The load: one ``lookalike serve`` subprocess on 127.0.0.1 (a free port), first one client
alone (the latency floor), then ``--clients`` concurrent clients, each posting queries
(``POST /api/search``, multipart ``file``, k=20) until ``--requests`` answers or
``--duration`` seconds; once with the full cascade (``verify=true``: hashes, colour,
content, then ORB + RANSAC on up to 16 candidates) and once with pHash k-NN only
(``verify=false``), which shows what the web layer itself costs. The queries are fresh
transforms of the corpus photos (not in the collection); a query counts as found when its
top hit comes from the same design (``NAME`` of ``NAME__TAG``).
Prints requests/s and p50/p99 latency of each phase. Loopback only, bounded in count and time.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import httpx
from PIL import Image, ImageEnhance, ImageOps

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from lookalike.search.collection import Collection  # noqa: E402

CORPUS = ROOT.parent / "shared" / "corpus" / "photos"
HOST = "127.0.0.1"


def sources() -> list[Path]:
    """The photos to derive images from: the corpus when present, else samples/."""
    found = sorted(CORPUS.glob("*/*.jpg")) or sorted((ROOT / "samples").glob("*.jpg"))
    if not found:
        sys.exit("no photos: neither ../shared/corpus/photos nor samples/ holds any")
    return found


def transform(path: Path, seed: int) -> bytes:
    """A cheap, random near-copy of ``path`` as JPEG bytes (small, so the build is quick)."""
    rng = random.Random(seed)
    with Image.open(path) as im:
        im.draft("RGB", (400, 400))
        im = im.convert("RGB")
    w, h = im.size
    f = rng.uniform(0.0, 0.1)
    left, top = int(w * f * rng.random()), int(h * f * rng.random())
    im = im.crop((left, top, left + int(w * (1 - f)), top + int(h * (1 - f))))
    width = rng.randint(160, 360)
    im = im.resize((width, max(1, round(im.height * width / im.width))))
    im = ImageEnhance.Brightness(im).enhance(rng.uniform(0.8, 1.2))
    if rng.random() < 0.2:
        im = ImageOps.mirror(im)
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=rng.randint(60, 90))
    return buf.getvalue()


def _write(job: tuple[str, str, int]) -> None:
    src, dest, seed = job
    Path(dest).write_bytes(transform(Path(src), seed))


def build(workdir: Path, n: int) -> Path:
    """``n`` images under workdir/images and their collection under workdir/db (reused)."""
    images, db = workdir / f"images-{n}", workdir / f"db-{n}"
    photos = sources()
    jobs = []
    for i in range(n):
        src = photos[i % len(photos)]
        dest = images / f"{src.stem}__{i // len(photos):04d}.jpg"
        if not dest.exists():
            jobs.append((str(src), str(dest), i))
    if jobs:
        images.mkdir(parents=True, exist_ok=True)
        t0 = time.perf_counter()
        with ProcessPoolExecutor() as pool:
            list(pool.map(_write, jobs, chunksize=64))
        print(f"wrote {len(jobs)} images in {time.perf_counter() - t0:.1f} s", flush=True)
    t0 = time.perf_counter()
    with Collection(db, create=True) as collection:
        stats = collection.update([images], jobs=os.cpu_count() or 1)
    print(
        f"collection: {stats.images} images ({stats.computed} indexed now) "
        f"in {time.perf_counter() - t0:.1f} s",
        flush=True,
    )
    return db


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def start(db: Path, log: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "lookalike",
                "serve",
                "--db",
                str(db),
                "--host",
                HOST,
                "--port",
                str(port),
                "--log-level",
                "warning",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
        )
    base = f"http://{HOST}:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit(f"lookalike serve exited:\n{log.read_text()}")
        try:
            if httpx.get(f"{base}/api/stats", timeout=5).status_code == 200:
                return process, base
        except httpx.TransportError:
            time.sleep(0.2)
    process.kill()
    sys.exit("lookalike serve did not start within 120 s")


async def load(
    base: str,
    queries: list[tuple[str, bytes]],
    clients: int,
    requests: int,
    duration: float,
    verify: bool = True,
) -> dict[str, float]:
    """``clients`` concurrent searchers until ``requests`` answers or ``duration`` s."""
    latencies: list[float] = []
    errors = found = 0
    issued = 0
    deadline = time.monotonic() + duration

    async def client(worker: int) -> None:
        # One HTTP client (one keep-alive connection) per simulated user: a shared pool
        # of 50 connections adds seconds of client-side queueing to the tail by itself.
        async with httpx.AsyncClient(base_url=base, timeout=120) as http:
            await search_loop(http, worker)

    async def search_loop(http: httpx.AsyncClient, worker: int) -> None:
        nonlocal errors, found, issued
        while issued < requests and time.monotonic() < deadline:
            stem, data = queries[(issued + worker) % len(queries)]
            issued += 1
            t0 = time.perf_counter()
            try:
                r = await http.post(
                    "/api/search",
                    files={"file": (f"{stem}.jpg", data, "image/jpeg")},
                    data={"k": "20", "verify": str(verify).lower()},
                )
            except httpx.HTTPError:
                errors += 1
                continue
            latencies.append(time.perf_counter() - t0)
            if r.status_code != 200:
                errors += 1
                continue
            results = r.json()["results"]
            if results and Path(results[0]["path"]).stem.split("__")[0] == stem.split("__")[0]:
                found += 1

    t0 = time.perf_counter()
    await asyncio.gather(*(client(w) for w in range(clients)))
    elapsed = time.perf_counter() - t0
    ok = len(latencies) - errors
    qs = statistics.quantiles(latencies, n=100, method="inclusive") if len(latencies) > 1 else []
    return {
        "requests": len(latencies),
        "errors": errors,
        "seconds": elapsed,
        "rps": len(latencies) / elapsed if elapsed else 0.0,
        "p50_ms": 1000 * statistics.median(latencies) if latencies else 0.0,
        "p99_ms": 1000 * qs[98] if qs else 0.0,
        "found": found / ok if ok else 0.0,
    }


def report(name: str, r: dict[str, float]) -> None:
    print(
        f"{name:<12} {int(r['requests']):>6} req  {int(r['errors']):>3} err  "
        f"{r['seconds']:>6.1f} s  {r['rps']:>7.1f} req/s  p50 {r['p50_ms']:>7.1f} ms  "
        f"p99 {r['p99_ms']:>7.1f} ms  top-1 found {r['found']:.1%}",
        flush=True,
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--images", type=int, default=5000)
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--requests", type=int, default=1000, help="answers to collect (at most)")
    ap.add_argument("--duration", type=float, default=90.0, help="seconds per phase (at most)")
    ap.add_argument("--verify", choices=["both", "true", "false"], default="both")
    ap.add_argument("--workdir", type=Path, default=ROOT / "bench" / "out" / "web-load")
    ap.add_argument("--fresh", action="store_true", help="rebuild the images and collection")
    args = ap.parse_args()
    if args.fresh and args.workdir.exists():
        shutil.rmtree(args.workdir)
    args.workdir.mkdir(parents=True, exist_ok=True)
    db = build(args.workdir, args.images)
    photos = sources()
    queries = [(p.stem, transform(p, 10_000_000 + i)) for i, p in enumerate(photos)]
    process, base = start(db, args.workdir / "serve.log")
    try:
        print(f"server {base}, {args.images} images, cores {os.cpu_count()}", flush=True)
        asyncio.run(load(base, queries[:4], 1, 5, 30))  # warm-up
        for verify in {"both": (True, False), "true": (True,), "false": (False,)}[args.verify]:
            mode = "cascade" if verify else "pHash only"
            print(f"-- verify={str(verify).lower()} ({mode})")
            single = asyncio.run(
                load(base, queries, 1, min(100, args.requests), args.duration, verify)
            )
            report("1 client", single)
            many = asyncio.run(
                load(base, queries, args.clients, args.requests, args.duration, verify)
            )
            report(f"{args.clients} clients", many)
            print(
                f"   throughput x{many['rps'] / single['rps']:.2f} of one client; "
                f"p50 latency x{many['p50_ms'] / single['p50_ms']:.1f}",
                flush=True,
            )
    finally:
        process.terminate()
        process.wait(10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
