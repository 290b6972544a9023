"""Folders of images into one array the training loop samples from.

Every picture becomes ``side x side`` RGBA, uint8: a picture with transparency keeps it
and is scaled to fit and letterboxed (so the recipe can lay it over other backgrounds, as
clip art is pasted into documents); any other picture is resized whole to the square, as
lookalike.methods.embed resizes what it describes. Files that cannot be read are
reported with the reason and left out; the rest goes on.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

import numpy as np
from PIL import Image

from lookalike.decode import load, load_raw, probe
from lookalike.errors import Failure, LookalikeError
from lookalike.sources.folders import scan


@dataclass(frozen=True)
class Store:
    """The training pictures: ``pixels`` (N, side, side, 4) uint8 and where each came from."""

    pixels: np.ndarray
    paths: tuple[str, ...]
    digests: tuple[str, ...]
    failures: tuple[Failure, ...]


def _square(path: str, side: int) -> tuple[np.ndarray, str]:
    with open(path, "rb") as fh:  # streamed: the file is never held whole for its digest
        digest = hashlib.file_digest(fh, "sha256").hexdigest()
    if probe(path).transparent:  # the header says which of the two decodes it needs
        im = load_raw(path).convert("RGBA")
        scale = side / max(im.size)
        size = (max(1, round(im.width * scale)), max(1, round(im.height * scale)))
        im = im.resize(size, Image.Resampling.LANCZOS)
        canvas = Image.new("RGBA", (side, side), (0, 0, 0, 0))
        canvas.paste(im, ((side - im.width) // 2, (side - im.height) // 2))
        return np.asarray(canvas), digest
    rgb = load(path, min_size=side).resize((side, side), Image.Resampling.BILINEAR)
    return np.asarray(rgb.convert("RGBA")), digest


def _one(job: tuple[str, int]) -> tuple[np.ndarray, str] | Failure:
    path, side = job
    try:
        return _square(path, side)
    except LookalikeError as exc:
        return Failure(path, str(exc))
    except OSError as exc:
        return Failure(path, exc.strerror or str(exc))


def image_paths(paths: Iterable[str | os.PathLike[str]]) -> tuple[list[str], list[Failure]]:
    """Every image file under ``paths`` (folders walked, zip archives left out)."""
    found: list[str] = []
    failed: list[Failure] = []
    for item in scan(list(paths), include_archives=False):
        if isinstance(item, Failure):
            failed.append(item)
        else:
            found.append(item.path)
    return found, failed


def load_store(
    paths: Sequence[str],
    side: int = 256,
    *,
    jobs: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Store:
    """Decode ``paths`` into a :class:`Store` with ``jobs`` processes (default: all cores)."""
    pixels: list[np.ndarray] = []
    kept: list[str] = []
    digests: list[str] = []
    failures: list[Failure] = []
    jobs = jobs or os.cpu_count() or 1
    with ProcessPoolExecutor(jobs) as pool:
        results = pool.map(_one, [(p, side) for p in paths], chunksize=32)
        for i, (path, result) in enumerate(zip(paths, results, strict=True)):
            if isinstance(result, Failure):
                failures.append(result)
            else:
                pixels.append(result[0])
                digests.append(result[1])
                kept.append(path)
            if progress is not None:
                progress(i + 1, len(paths))
    stack = np.stack(pixels) if pixels else np.zeros((0, side, side, 4), np.uint8)
    return Store(stack, tuple(kept), tuple(digests), tuple(failures))
