"""Fuzz the loader with mutated images: every case decodes or raises DecodeError.

Seeds are the committed sample photos plus PNG, GIF, WebP, TIFF and BMP encodings of a few
of them; each case mutates one seed (bit flips, truncation, splicing two files, huge length
fields, zeroed or repeated ranges) with a fixed seed, so a failure is reproducible by its id.
The decode budget is lowered for the run, so a mutated header that declares a large canvas
is refused quickly instead of being decoded.
"""

from __future__ import annotations

import io
import struct
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from lookalike.decode import MAX_DECODE_ENV, load
from lookalike.errors import DecodeError
from lookalike.methods import get_method

SEED = 20240516
CASES = 300
SAMPLES = Path(__file__).resolve().parents[2] / "samples"


def _seeds() -> list[tuple[str, bytes]]:
    jpegs = sorted(SAMPLES.glob("*.jpg"))
    seeds = [(p.name, p.read_bytes()) for p in jpegs]
    for p in jpegs[:2]:
        with Image.open(p) as im:
            small = im.convert("RGB").resize((96, 64))
        for fmt, kw in (
            ("PNG", {}),
            ("GIF", {}),
            ("WEBP", {"quality": 80}),
            ("TIFF", {"compression": "tiff_adobe_deflate"}),
            ("BMP", {}),
        ):
            buf = io.BytesIO()
            small.save(buf, fmt, **kw)
            seeds.append((f"{p.stem}.{fmt.lower()}", buf.getvalue()))
        buf = io.BytesIO()  # an animation: only its first frame may be read
        small.save(buf, "GIF", save_all=True, append_images=[small.rotate(90)] * 3)
        seeds.append((f"{p.stem}.anim.gif", buf.getvalue()))
    return seeds


def _mutate(rng: np.random.Generator, data: bytes, other: bytes) -> tuple[str, bytes]:
    b = bytearray(data)
    kind = ("flip", "truncate", "splice", "length", "zero", "repeat", "header")[
        int(rng.integers(7))
    ]
    if kind == "flip":
        for _ in range(int(rng.integers(1, 9))):
            i = int(rng.integers(len(b)))
            b[i] ^= 1 << int(rng.integers(8))
    elif kind == "truncate":
        del b[int(rng.integers(1, len(b))) :]
    elif kind == "splice":
        i, j = int(rng.integers(len(b))), int(rng.integers(len(other)))
        b = b[:i] + bytearray(other[j:])
    elif kind == "length":
        value = int(rng.choice([0xFFFFFFFF, 0x7FFFFFFF, 0x80000000, 0xFFFF, 0x3FFF, 0]))
        fmt = str(rng.choice([">I", "<I", ">H", "<H"]))
        i = int(rng.integers(max(1, min(len(b) - 4, 256))))  # headers live at the start
        mask = 0xFFFF if "H" in fmt else 0xFFFFFFFF
        b[i : i + struct.calcsize(fmt)] = struct.pack(fmt, value & mask)
    elif kind == "zero":
        i = int(rng.integers(len(b)))
        b[i : i + int(rng.integers(1, 4096))] = bytes(min(len(b) - i, 4096))[: len(b[i : i + 4096])]
    elif kind == "repeat":
        i = int(rng.integers(len(b)))
        b = b[:i] + b[i : i + 512] * int(rng.integers(2, 20)) + b[i:]
    else:  # mutate only the first 64 bytes, where dimensions and chunk sizes are
        for _ in range(int(rng.integers(1, 5))):
            b[int(rng.integers(min(64, len(b))))] = int(rng.integers(256))
    return kind, bytes(b)


def _cases() -> list[tuple[str, bytes]]:
    rng = np.random.default_rng(SEED)
    seeds = _seeds()
    out = []
    for n in range(CASES):
        name, data = seeds[n % len(seeds)]
        kind, mutated = _mutate(rng, data, seeds[int(rng.integers(len(seeds)))][1])
        out.append((f"{n:03d}-{name}-{kind}", mutated))
    return out


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_mutated_images_decode_or_raise_decode_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(MAX_DECODE_ENV, "96")
    phash = get_method("phash")
    escaped: list[str] = []
    outcomes = {"decoded": 0, "refused": 0}
    for case, data in _cases():
        try:
            im = load(data, mode="L", min_size=phash.min_size, name=case)
            phash.features([im])
            load(io.BytesIO(data), mode="RGB", name=case)
            outcomes["decoded"] += 1
        except DecodeError as exc:
            assert exc.source == case and exc.reason
            outcomes["refused"] += 1
        except Exception as exc:  # anything else escaping is the bug this test looks for
            escaped.append(f"{case}: {type(exc).__name__}: {exc}")
    assert not escaped, "\n".join(escaped)
    assert outcomes["decoded"] > 30 and outcomes["refused"] > 30, outcomes
