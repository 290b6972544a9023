"""Build and read a copy-detection benchmark: references, queries, ground truth.

Layout of a benchmark folder (what ``lookalike eval make`` writes)::

    BENCH/references/NAME.jpg      one per source photo, plus the distractors
    BENCH/queries/NAME__ATTACK-SEVERITY.jpg   edited copies of the sources
    BENCH/queries/NAME__TAG.jpg    real variants (``--variants``), copied unchanged
    BENCH/ground_truth.csv         query, reference, attack, severity, family, positive

As in DISC21 (Douze et al. 2021), every query is scored against every reference; the
ground truth lists the (query, reference) pairs that are copies (``positive`` = 1).
Distractors are references without queries: they make the search harder, as the
unrelated images of a real collection do. Rows with ``positive`` = 0 are hard negatives
(a real look-alike that is not a copy, e.g. a dark recolouring of a wallpaper): they add
no ground-truth pair and are reported apart.
"""

from __future__ import annotations

import csv
import re
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from lookalike.decode import load
from lookalike.errors import UsageError
from lookalike.evaluate.attacks import ATTACKS, SEVERITIES, Severity
from lookalike.progress import Progress

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff", ".gif")
GT_FIELDS = ("query", "reference", "attack", "severity", "family", "positive")
_SIZE_TAG = re.compile(r"^(\d+)x(\d+)$")


@dataclass
class Benchmark:
    """A benchmark read back: paths, and ground truth aligned by query index."""

    root: Path
    queries: list[str] = field(default_factory=list)  # relative to root
    references: list[str] = field(default_factory=list)
    #: per query: its reference index (-1 when none), attack, severity, family, positive
    reference_of: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    attack: list[str] = field(default_factory=list)
    severity: list[str] = field(default_factory=list)
    family: list[str] = field(default_factory=list)
    positive: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))

    @property
    def n_positives(self) -> int:
        """Ground-truth pairs: queries that are copies of a reference."""
        return int(self.positive.sum())

    def labels(self) -> np.ndarray:
        """(n_queries, n_references) bool: the pair is a ground-truth copy."""
        lab = np.zeros((len(self.queries), len(self.references)), bool)
        rows = np.flatnonzero(self.positive)
        lab[rows, self.reference_of[rows]] = True
        return lab


def list_images(folder: str | Path) -> list[Path]:
    """Image files directly in ``folder``, by name."""
    return sorted(
        p for p in Path(folder).iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES
    )


def _save(im: Image.Image, path: Path) -> None:
    im.save(path, "JPEG", quality=90)


def _variant_attack(tag: str, variant: Path, original: Image.Image) -> tuple[str, str, int]:
    """(attack, family, positive) of a real variant NAME__TAG from its tag and shape."""
    if tag == "dark":
        return "dark", "near-miss", 0
    if tag == "screenshot":
        return "preview", "real", 1
    with Image.open(variant) as v:
        w, h = v.size
    same_aspect = (
        abs(w / h - original.width / original.height) < 0.01 * original.width / original.height
    )
    return ("resize" if same_aspect else "reframe"), "real", 1


def make_benchmark(
    photos: str | Path,
    out: str | Path,
    *,
    attacks: Sequence[str] | None = None,
    severities: Sequence[Severity] = SEVERITIES,
    distractors: int = 0,
    seed: int = 0,
    max_side: int = 1024,
    limit: int | None = None,
    variants: str | Path | None = None,
    progress: Progress | None = None,
) -> Path:
    """Write a benchmark from the photos in ``photos`` into ``out``; returns the CSV path.

    ``distractors`` photos (chosen by ``seed``) become references without queries; every
    other photo (the first ``limit`` of them, when given) is a source: its reference copy
    (long side shrunk to ``max_side``) and one query per attack and severity. ``variants``:
    a folder of real renditions NAME__TAG.ext of the photos, copied unchanged as queries.
    """
    photos, out = Path(photos), Path(out)
    names = list(ATTACKS) if attacks is None else list(attacks)
    for name in names:
        if name not in ATTACKS:
            raise UsageError(f"unknown attack {name!r}; choose from: {', '.join(ATTACKS)}")
    files = list_images(photos)
    if not files:
        raise UsageError(f"no images in {photos}")
    rng = np.random.default_rng(seed)
    n_d = min(max(0, distractors), len(files) - 1)
    held = set(rng.choice(len(files), size=n_d, replace=False).tolist()) if n_d else set()
    sources = [f for i, f in enumerate(files) if i not in held]
    if limit is not None:
        sources = sources[:limit]
    (out / "references").mkdir(parents=True, exist_ok=True)
    (out / "queries").mkdir(parents=True, exist_ok=True)
    rows: list[dict[str, object]] = []
    by_stem = {}
    done = 0
    for i, f in enumerate(files):
        is_source = f in sources
        if i not in held and not is_source:
            continue
        im = load(f, mode="RGB")
        if max(im.size) > max_side:
            im.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
        ref = f"references/{f.stem}.jpg"
        _save(im, out / ref)
        if not is_source:
            continue
        by_stem[f.stem] = (ref, im)
        # Each source draws its own hosts, windows and crops: with one seed for all, every
        # pasted copy sat in the same host picture at the same place (and every screenshot
        # in the same window), so pastes of different sources shared most of their pixels.
        own = int(np.random.SeedSequence((seed, i)).generate_state(1)[0])
        for name in names:
            for sev in severities:
                q = f"queries/{f.stem}__{name}-{sev}.jpg"
                _save(ATTACKS[name](im, sev, own), out / q)
                rows.append(
                    {"query": q, "reference": ref, "attack": name, "severity": sev,
                     "family": ATTACKS[name].family, "positive": 1}
                )  # fmt: skip
        done += 1
        if progress:
            progress("making", done, len(sources))
    if variants is not None:
        for v in list_images(variants):
            stem, _, tag = v.stem.partition("__")
            if stem not in by_stem or not tag:
                continue
            ref, im = by_stem[stem]
            attack, family, positive = _variant_attack(tag, v, im)
            q = f"queries/{v.name}"
            shutil.copyfile(v, out / q)
            rows.append(
                {"query": q, "reference": ref, "attack": attack, "severity": "real",
                 "family": family, "positive": positive}
            )  # fmt: skip
    gt = out / "ground_truth.csv"
    with gt.open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=GT_FIELDS)
        w.writeheader()
        w.writerows(rows)
    return gt


def load_benchmark(root: str | Path) -> Benchmark:
    """Read ``root/ground_truth.csv`` and list ``root/references``."""
    root = Path(root)
    gt = root / "ground_truth.csv"
    if not gt.is_file():
        raise FileNotFoundError(f"{gt}: no ground truth (make one with `lookalike eval make`)")
    refs = [f"references/{p.name}" for p in list_images(root / "references")]
    index = {r: i for i, r in enumerate(refs)}
    b = Benchmark(root, references=refs)
    ref_of: list[int] = []
    pos: list[bool] = []
    with gt.open(newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            b.queries.append(row["query"])
            ref = row.get("reference") or ""
            if ref and ref not in index:
                raise UsageError(f"{gt}: reference {ref!r} is not in {root / 'references'}")
            ref_of.append(index.get(ref, -1))
            b.attack.append(row.get("attack") or "")
            b.severity.append(row.get("severity") or "")
            b.family.append(row.get("family") or "")
            pos.append(bool(ref) and str(row.get("positive", "1")).strip() not in ("0", "false"))
    b.reference_of = np.asarray(ref_of, np.int64)
    b.positive = np.asarray(pos, bool)
    return b
