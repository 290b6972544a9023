"""End to end: `lookalike dupes` over 1,000 real photos beside imagededup (PHash) and difPy.

    python bench/dupes_speed.py [--n 1000] [--jobs 2] [--peer-python /tmp/peers2/bin/python]

The folder (bench/out/dupes-N) holds the 99 real photos of ../shared/corpus/photos (38
wallpapers and the packages' own other renditions of them) and, up to N, copies of the
originals made with ordinary edits (downscaled 50-90 %, recompressed at quality 60-90,
cropped to 75-95 %, brightened), so the truth is known: images made from one wallpaper
belong together (the `__dark` recolourings are left out).

Each tool runs from a cold start in a subprocess, on the same folder, with ``--jobs``
processes where it has the option; the figures are images/s and the pair recall and
precision against the truth. Peers, in a separate venv (never the project's):

    python3 -m venv /tmp/peers2
    /tmp/peers2/bin/pip install --no-deps imagededup==0.3.3.post2
    /tmp/peers2/bin/pip install numpy scipy PyWavelets Pillow tqdm scikit-learn difPy

imagededup imports torch and matplotlib at import time for its CNN and plots; the snippet
stubs those modules (its hashing needs neither).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

from PIL import Image, ImageEnhance

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "corpus" / "photos"

IMAGEDEDUP = r"""
import json, sys, types
for name, attr in (("imagededup.utils.plotter", "plot_duplicates"),
                   ("imagededup.utils.models", "CustomModel"),
                   ("imagededup.methods.cnn", "CNN")):
    stub = types.ModuleType(name); setattr(stub, attr, None); sys.modules[name] = stub
from imagededup.methods.hashing import PHash
ph = PHash(verbose=False)
enc = ph.encode_images(image_dir=sys.argv[1], num_enc_workers=int(sys.argv[2]))
dups = ph.find_duplicates(encoding_map=enc, max_distance_threshold=10)
print(json.dumps([[a, b] for a, bs in dups.items() for b in bs]))
"""

DIFPY = r"""
import json, sys, difPy
dif = difPy.build(sys.argv[1], show_progress=False, processes=int(sys.argv[2]))
search = difPy.search(dif, similarity="similar", show_progress=False, processes=int(sys.argv[2]))
pairs = []
def walk(key, value):
    if isinstance(value, dict):
        for k, v in value.items():
            walk(k, v)
    elif isinstance(value, list):
        for v in value:
            if isinstance(v, (list, tuple)) and v and isinstance(v[0], str):
                pairs.append([key, v[0]])
            elif isinstance(v, str):
                pairs.append([key, v])
walk(None, search.result)
print(json.dumps([p for p in pairs if p[0]]))
"""


def build(folder: Path, n: int) -> dict[str, str]:
    """The benchmark folder: file name -> source wallpaper."""
    truth: dict[str, str] = {}
    folder.mkdir(parents=True, exist_ok=True)
    originals = sorted((CORPUS / "originals").glob("*.jpg"))
    real = originals + sorted(
        p for p in (CORPUS / "variants").glob("*.jpg") if "__dark" not in p.name
    )
    for p in real:
        target = folder / p.name
        if not target.exists():
            target.write_bytes(p.read_bytes())
        truth[p.name] = p.stem.split("__")[0]
    rng = random.Random(7)
    for k in itertools.count():
        if len(truth) >= n:
            break
        src = originals[k % len(originals)]
        name = f"{src.stem}__edit{k:04d}.jpg"
        truth[name] = src.stem
        target = folder / name
        if target.exists():
            continue
        im = Image.open(src).convert("RGB")
        w, h = im.size
        f = rng.uniform(0.75, 0.95)
        if rng.random() < 0.5:
            x, y = rng.uniform(0, 1 - f) * w, rng.uniform(0, 1 - f) * h
            im = im.crop((int(x), int(y), int(x + f * w), int(y + f * h)))
        s = rng.uniform(0.5, 0.9)
        im = im.resize((max(16, int(im.width * s)), max(16, int(im.height * s))))
        if rng.random() < 0.5:
            im = ImageEnhance.Brightness(im).enhance(rng.uniform(0.85, 1.2))
        im.save(target, quality=rng.randint(60, 90))
    return truth


def score(pairs: list[list[str]], truth: dict[str, str]) -> tuple[float, float]:
    """Pair recall and precision of the found pairs against the truth."""
    found = {tuple(sorted((Path(a).name, Path(b).name))) for a, b in pairs if a != b}
    found = {p for p in found if p[0] in truth and p[1] in truth}
    by_source: dict[str, list[str]] = {}
    for name, src in truth.items():
        by_source.setdefault(src, []).append(name)
    true_pairs = {
        tuple(sorted(p)) for names in by_source.values() for p in itertools.combinations(names, 2)
    }
    hit = len(found & true_pairs)
    return hit / len(true_pairs), (hit / len(found) if found else 0.0)


def lookalike_pairs(
    folder: Path, jobs: int, methods: list[str]
) -> tuple[list[list[str]], list[list[str]]]:
    """(the pairs the cascade verified, the pairs its groups imply: each member with
    every other member of its group, which is what a user acting on groups gets)."""
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "lookalike",
            "dupes",
            str(folder),
            "--no-cache",
            "--json",
            "--jobs",
            str(jobs),
            "--methods",
            *methods,
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode not in (0, 1):
        raise SystemExit(out.stderr)
    data = json.loads(out.stdout)
    verified = [[p["a"], p["b"]] for p in data["pairs"]]
    grouped = [
        [a["path"], b["path"]]
        for g in data["groups"]
        for a, b in itertools.combinations(g["members"], 2)
    ]
    return verified, grouped


def peer_pairs(python: str, code: str, folder: Path, jobs: int) -> list[list[str]] | str:
    out = subprocess.run(
        [python, "-c", code, str(folder), str(jobs)], capture_output=True, text=True, check=False
    )
    if out.returncode != 0:
        return (out.stderr.strip().splitlines() or ["failed"])[-1]
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--peer-python", default="/tmp/peers2/bin/python")
    args = ap.parse_args()
    if not CORPUS.exists():
        raise SystemExit(f"{CORPUS} is absent: this benchmark needs the shared corpus")
    folder = ROOT / "bench" / "out" / f"dupes-{args.n}"
    truth = build(folder, args.n)
    for p in folder.iterdir():  # warm the OS cache for everyone alike
        p.read_bytes()
    runs = {
        "lookalike dupes (all layers)": lambda: lookalike_pairs(
            folder, args.jobs, ["phash8", "color", "content", "orb"]
        ),
        "lookalike dupes (cheap layers)": lambda: lookalike_pairs(
            folder, args.jobs, ["phash8", "color", "content"]
        ),
        "lookalike dupes (hashes only)": lambda: lookalike_pairs(folder, args.jobs, ["phash8"]),
    }
    if os.path.exists(args.peer_python):
        runs["imagededup PHash (d <= 10)"] = lambda: peer_pairs(
            args.peer_python, IMAGEDEDUP, folder, args.jobs
        )
        runs["difPy (similar)"] = lambda: peer_pairs(args.peer_python, DIFPY, folder, args.jobs)
    else:
        print(f"peers skipped: no {args.peer_python} (see this script's docstring)")
    n = len(truth)
    print(
        f"{n} images in {folder.relative_to(ROOT)}, {args.jobs} processes, {os.cpu_count()} CPUs\n"
    )
    print(f"{'':32} {'seconds':>8} {'images/s':>9} {'recall':>7} {'precision':>9}")
    times = {}
    for name, fn in runs.items():
        t = time.perf_counter()
        pairs = fn()
        times[name] = time.perf_counter() - t
        if isinstance(pairs, str):
            print(f"{name:32} failed: {pairs}")
            continue
        if isinstance(pairs, tuple):  # lookalike: verified pairs, then the groups' pairs
            verified, grouped = pairs
            recall, precision = score(verified, truth)
            rate = n / times[name]
            print(f"{name:32} {times[name]:8.1f} {rate:9.1f} {recall:7.3f} {precision:9.3f}")
            recall, precision = score(grouped, truth)
            print(
                f"{'  ... pairs its groups imply':32} {'':8} {'':9} {recall:7.3f} {precision:9.3f}"
            )
            continue
        recall, precision = score(pairs, truth)
        print(f"{name:32} {times[name]:8.1f} {n / times[name]:9.1f} {recall:7.3f} {precision:9.3f}")
    base = times.get("lookalike dupes (hashes only)")
    for peer in ("imagededup PHash (d <= 10)", "difPy (similar)"):
        if base and peer in times:
            print(f"lookalike (hashes only) vs {peer}: {times[peer] / base:.1f}x faster")


if __name__ == "__main__":
    main()
