"""Files in, feature arrays out: decode each file once, feed every method, in parallel.

The loader decodes each file at the smallest size any requested method needs (JPEG draft
scaling), in greyscale when no method needs colour. Work is cut into chunks; each chunk is
decoded and prepared in a worker process (I/O and decoding dominate), and each method's
``compute`` runs vectorized over the chunk. A file that fails becomes a :class:`Failure`
with its reason; the others go on.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from lookalike.decode import ImageSource, load, load_raw, source_name
from lookalike.engines import Executor, consumed, one_by_one
from lookalike.engines.local import LocalExecutor
from lookalike.errors import Failure, LookalikeError
from lookalike.methods.base import Method
from lookalike.progress import Progress

#: Most sources one worker decodes before its features are computed and sent back.
CHUNK = 32


@dataclass
class FeatureSet:
    """Features of the sources that decoded, aligned by row, plus the failures."""

    paths: list[str] = field(default_factory=list)
    features: dict[str, Any] = field(default_factory=dict)
    failures: list[Failure] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.paths)


def decode_plan(methods: Sequence[Method], exact: bool = False) -> dict[str, Any]:
    """The loader's arguments that satisfy every method: mode and draft size."""
    return {
        "mode": "L" if all(m.grey for m in methods) else "RGB",
        "min_size": max((m.min_size for m in methods), default=64),
        "exact": exact,
    }


def _concat(parts: list[Any]) -> Any:
    if not parts:
        return []
    if isinstance(parts[0], np.ndarray):
        return np.concatenate(parts)
    return [x for p in parts for x in p]


def _run_chunk(
    sources: Sequence[ImageSource], methods: Sequence[Method], plan: dict[str, Any]
) -> tuple[list[int], dict[str, Any], list[Failure]]:
    """Decode and prepare one chunk; compute each method on the chunk (in a worker)."""
    ok: list[int] = []
    prepared: dict[str, list[Any]] = {m.name: [] for m in methods}
    failures: list[Failure] = []
    for i, src in enumerate(sources):
        try:
            if plan["exact"]:
                im = load_raw(src)
            else:
                im = load(src, mode=plan["mode"], min_size=plan["min_size"])
            rows = {m.name: m.prepare(im) for m in methods}
        except LookalikeError as exc:
            failures.append(Failure(source_name(src), exc.reason))
            continue
        except Exception as exc:  # a method choking on odd pixels is this file's problem
            failures.append(Failure(source_name(src), f"{type(exc).__name__}: {exc}"))
            continue
        ok.append(i)
        for name, row in rows.items():
            prepared[name].append(row)
    features = {m.name: m.compute(prepared[m.name]) if ok else [] for m in methods}
    return ok, features, failures


def extract_features(
    sources: Sequence[ImageSource],
    methods: Sequence[Method],
    *,
    jobs: int = 1,
    exact: bool = False,
    progress: Progress | None = None,
    executor: Executor | None = None,
) -> FeatureSet:
    """Features of every method for every source, in the sources' order.

    ``jobs``: worker processes (0 = one per CPU). ``exact``: decode as imagehash does
    (full size, no EXIF rotation). ``progress("features", done, total)`` is called after
    each chunk. ``executor``: where the chunks run (default: ``jobs`` local processes,
    :class:`~lookalike.engines.local.LocalExecutor`); a distributed engine is sent paths,
    so give it sources that are paths on storage its workers see.
    """
    plan = decode_plan(methods, exact)
    executor = executor or LocalExecutor(jobs)
    workers = executor.workers
    # Small chunks when there are few sources, so every worker gets a fair share.
    size = max(1, min(CHUNK, -(-len(sources) // (4 * workers))))
    chunks = [list(range(i, min(i + size, len(sources)))) for i in range(0, len(sources), size)]
    results: list[tuple[list[int], dict[str, Any], list[Failure]]] = []
    done = 0
    calls = [([sources[i] for i in c], methods, plan) for c in chunks]

    def merged(
        singles: list[tuple[list[int], dict[str, Any], list[Failure]]],
    ) -> tuple[list[int], dict[str, Any], list[Failure]]:
        """One chunk's result from its files' results, one file each."""
        ok = [k for k, (one_ok, _, _) in enumerate(singles) if one_ok]
        features = {m.name: _concat([singles[k][1][m.name] for k in ok]) for m in methods}
        return ok, features, [f for _, _, one_failures in singles for f in one_failures]

    def failed(src: ImageSource, reason: str) -> tuple[list[int], dict[str, Any], list[Failure]]:
        return [], {m.name: [] for m in methods}, [Failure(source_name(src), reason, lasting=False)]

    # a chunk whose worker died runs again file by file: only the file that crashes the
    # decoder fails (named, with the reason), the others are computed
    crashed = one_by_one(executor, _run_chunk, merged, failed)
    with consumed(executor.map(_run_chunk, calls, on_crash=crashed)) as mapped:
        for c, result in zip(chunks, mapped, strict=True):
            results.append(result)
            done += len(c)
            if progress:
                progress("features", done, len(sources))
    out = FeatureSet()
    parts: dict[str, list[Any]] = {m.name: [] for m in methods}
    for c, (ok, feats, failures) in zip(chunks, results, strict=True):
        out.paths.extend(source_name(sources[c[i]]) for i in ok)
        out.failures.extend(failures)
        if ok:
            for name, f in feats.items():
                parts[name].append(f)
    out.features = {name: _concat(p) for name, p in parts.items()}
    return out
