"""Agreement with human ratings: Spearman's rank correlation per method.

A ratings CSV has columns ``a``, ``b``, ``rating`` (any numeric scale, higher = more
alike); paths may be relative to the CSV's folder. Each method's similarity of every pair
is ranked against the ratings (Spearman, ties averaged), which asks whether the method
*orders* pairs as people do, whatever its scale.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from lookalike.errors import UsageError
from lookalike.evaluate.metrics import spearman
from lookalike.features import extract_features
from lookalike.methods import Method, get_method


def read_ratings(path: str | Path) -> list[tuple[str, str, float]]:
    """(a, b, rating) rows, paths resolved against the CSV's folder."""
    path = Path(path)
    rows = []
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        missing = {"a", "b", "rating"} - set(reader.fieldnames or ())
        if missing:
            raise UsageError(f"{path}: missing column(s) {', '.join(sorted(missing))}")
        for row in reader:
            a, b = (str(path.parent / row[k].strip()) for k in ("a", "b"))
            rows.append((a, b, float(row["rating"])))
    return rows


def rate_methods(
    csv_path: str | Path, method_names: Sequence[str | Method], *, jobs: int = 1
) -> dict[str, Any]:
    """Spearman's rho of each method's similarity with the ratings in ``csv_path``.

    Pairs with an unreadable image are left out (and listed under ``failures``).
    """
    rows = read_ratings(csv_path)
    files = list(dict.fromkeys(p for a, b, _ in rows for p in (a, b)))
    methods: list[Method] = []
    skipped: dict[str, str] = {}
    for n in method_names:
        try:
            methods.append(n if isinstance(n, Method) else get_method(n))
        except Exception as exc:  # a method not available in this build
            skipped[str(n)] = f"{type(exc).__name__}: {exc}"
    fs = extract_features(files, methods, jobs=jobs)
    row_of = {p: i for i, p in enumerate(fs.paths)}
    keep = [k for k, (a, b, _) in enumerate(rows) if a in row_of and b in row_of]
    ia = np.array([row_of[rows[k][0]] for k in keep], dtype=np.int64)
    ib = np.array([row_of[rows[k][1]] for k in keep], dtype=np.int64)
    ratings = np.array([rows[k][2] for k in keep])
    out: dict[str, Any] = {
        "ratings": str(csv_path),
        "pairs": len(keep),
        "failures": [f.to_dict() for f in fs.failures],
        "skipped": skipped,
        "methods": {},
    }
    for m in methods:
        f = fs.features[m.name]
        fa = f[ia] if isinstance(f, np.ndarray) else [f[i] for i in ia]
        fb = f[ib] if isinstance(f, np.ndarray) else [f[i] for i in ib]
        sims = np.atleast_1d(np.asarray(m.similarity(fa, fb), dtype=np.float64)) if keep else []
        rho = spearman(sims, ratings) if len(keep) >= 2 else float("nan")
        out["methods"][m.name] = {
            "spearman": None if np.isnan(rho) else rho,
            "similarity": [float(s) for s in sims],
        }
    return out
