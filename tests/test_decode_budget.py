"""Hostile inputs against the decode budget: small files that declare gigabytes.

Each file is generated in a temporary folder; each entry point (``load``, ``phash``,
``compare``, ``lookalike hash``) runs in a fresh subprocess under an address-space limit of
2 GB (so an overrun fails here instead of swapping the machine) and a timeout. The result
must be clean output or a DecodeError / exit 1 that names the file, never a traceback, and
the child's real peak RSS (``ru_maxrss`` from ``wait4``) must stay under 1.5 GB.
"""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import lookalike
from lookalike.decode import MAX_DECODE_ENV, estimate_decode_bytes, load, max_decode_bytes
from lookalike.errors import DecodeError
from lookalike.methods import DEFAULT_METHODS, METHODS, get_method

SRC = Path(__file__).resolve().parents[1] / "src"
AS_LIMIT = 2 << 30
PEAK_LIMIT_MB = 1536
TIMEOUT = 120.0


# ---- generators: streaming writers, so the test process never holds the pixels ----------


def _chunk(kind: bytes, payload: bytes) -> bytes:
    crc = zlib.crc32(kind + payload) & 0xFFFFFFFF
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)


def write_png(
    path: Path,
    w: int,
    h: int,
    *,
    depth: int = 8,
    colour: int = 0,
    pre: tuple[bytes, ...] = (),
    post: tuple[bytes, ...] = (),
    fill: bytes = b"\x00",
) -> Path:
    """A PNG of constant rows, compressed row by row (13000x13000x16 bit is ~330 KB)."""
    channels = {0: 1, 2: 3, 4: 2, 6: 4}[colour]
    row = b"\x00" + fill * (w * channels * depth // 8)
    z = zlib.compressobj(9)
    data = b"".join([z.compress(row) for _ in range(h)] + [z.flush()])
    ihdr = struct.pack(">IIBBBBB", w, h, depth, colour, 0, 0, 0)
    parts = [b"\x89PNG\r\n\x1a\n", _chunk(b"IHDR", ihdr), *pre, _chunk(b"IDAT", data)]
    path.write_bytes(b"".join([*parts, *post, _chunk(b"IEND", b"")]))
    return path


def vp8l_webp(w: int, h: int) -> bytes:
    """A lossless WebP of one colour: every prefix code has one symbol, so 0 bits per pixel
    and the whole file is 30 bytes whatever canvas it declares."""
    bits: list[int] = []

    def put(value: int, n: int) -> None:
        bits.extend((value >> i) & 1 for i in range(n))

    put(w - 1, 14)
    put(h - 1, 14)
    put(1, 1)  # alpha used
    put(0, 3)  # version
    put(0, 1)  # no transform
    put(0, 1)  # no colour cache
    put(0, 1)  # no meta prefix codes
    for symbol in (0, 0, 0, 255, 0):  # green, red, blue, alpha, distance
        put(1, 1)  # simple code
        put(0, 1)  # one symbol
        put(1, 1)  # 8-bit symbol
        put(symbol, 8)
    bits.extend([0] * (-len(bits) % 8))
    body = b"\x2f" + bytes(
        sum(b << i for i, b in enumerate(bits[j : j + 8])) for j in range(0, len(bits), 8)
    )
    body += b"\x00" * (len(body) % 2)
    vp8l = b"VP8L" + struct.pack("<I", len(body)) + body
    return b"RIFF" + struct.pack("<I", 4 + len(vp8l)) + b"WEBP" + vp8l


def _bomb_chunk(kind: bytes) -> bytes:
    """A zTXt / iCCP chunk whose 200 KB of zlib expand to 200 MB."""
    payload = zlib.compress(b"\x00" * (200 << 20), 9)
    key = b"Comment" if kind == b"zTXt" else b"icc"
    return _chunk(kind, key + b"\x00\x00" + payload)


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("hostile")
    files = {
        "png16": write_png(d / "deep16.png", 13000, 13000, depth=16),
        "webp": d / "canvas.webp",
        "ztxt": write_png(d / "ztxt.png", 64, 64, pre=(_bomb_chunk(b"zTXt"),)),
        "ztxt_late": write_png(d / "ztxt_late.png", 64, 64, post=(_bomb_chunk(b"zTXt"),)),
        "iccp": write_png(d / "iccp.png", 64, 64, pre=(_bomb_chunk(b"iCCP"),)),
        "tall": write_png(d / "tall.png", 1, 20000, colour=2, fill=b"\x80"),
        "wide": write_png(d / "wide.png", 20000, 1, colour=2, fill=b"\x80"),
        "float": d / "float.tif",
    }
    files["webp"].write_bytes(vp8l_webp(13000, 13000))
    Image.new("F", (13000, 13000)).save(files["float"], compression="tiff_adobe_deflate")
    return files


# ---- running an entry point in a limited child --------------------------------------------

SCRIPT = """
import json, sys
import lookalike
path, other = sys.argv[1], sys.argv[2]
steps = {
    "load": lambda: lookalike.load(path).size,
    "phash": lambda: str(lookalike.phash(path)),
    "compare": lambda: lookalike.compare(path, other).verdict,
}
for step, run in steps.items():
    try:
        print(json.dumps({"step": step, "ok": str(run())}), flush=True)
    except lookalike.DecodeError as exc:
        print(json.dumps({"step": step, "error": str(exc), "source": exc.source}), flush=True)
"""


# A small fresh process sets the limit, runs the entry point and reports its peak RSS: a
# child forked from pytest itself would report pytest's own RSS at fork time as its peak.
WRAPPER = """
import resource, subprocess, sys
limit = int(sys.argv[1])
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
try:
    rc = subprocess.run(sys.argv[4:], timeout=float(sys.argv[3])).returncode
except subprocess.TimeoutExpired:
    rc = 124
with open(sys.argv[2], "w") as f:
    f.write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))
sys.exit(rc)
"""


def run_limited(args: list[str], env: dict[str, str] | None = None) -> tuple[int, str, str, float]:
    """Run ``python args`` under RLIMIT_AS; (exit code, stdout, stderr, peak RSS in MB)."""
    full_env = {**os.environ, "PYTHONPATH": str(SRC), **(env or {})}
    with tempfile.TemporaryDirectory() as d:
        peak_file = Path(d) / "peak"
        cmd = [sys.executable, "-c", WRAPPER, str(AS_LIMIT), str(peak_file), str(TIMEOUT)]
        p = subprocess.run(
            [*cmd, sys.executable, *args],
            capture_output=True,
            env=full_env,
            timeout=TIMEOUT + 30,
        )
        assert p.returncode != 124, f"{args} hung for more than {TIMEOUT} s"
        peak_mb = int(peak_file.read_text()) / 1024  # Linux: KiB
    return p.returncode, p.stdout.decode(), p.stderr.decode(errors="replace"), peak_mb


EXPECTED = {  # which files must decode (True) and which must be refused with a reason
    "png16": True,  # 4.6 GB before; now reduced band by band for the small callers
    "webp": False,  # 30 bytes declaring 13000x13000 RGBA: ~2.6 GB of decoder buffers
    "ztxt": False,
    "ztxt_late": False,
    "iccp": False,
    "tall": True,
    "wide": True,
    "float": True,
}
REASONS = {
    "webp": "over the budget",
    "ztxt": "decompression bomb in the metadata",
    "ztxt_late": "decompression bomb in the metadata",
    "iccp": "decompression bomb in the metadata",
}


@pytest.mark.parametrize(
    "key", [pytest.param(k, marks=pytest.mark.slow) if k == "float" else k for k in EXPECTED]
)
def test_hostile_file_through_the_api(
    key: str, hostile: dict[str, Path], sample_photos: list[Path]
) -> None:
    path = hostile[key]
    rc, out, err, peak = run_limited(["-c", SCRIPT, str(path), str(sample_photos[0])])
    assert "Traceback" not in err, err
    assert rc == 0, err
    rows = {r["step"]: r for r in map(json.loads, out.splitlines())}
    assert set(rows) == {"load", "phash", "compare"}, out
    for step in ("phash", "compare"):
        row = rows[step]
        if EXPECTED[key]:
            assert "ok" in row, row
        else:
            assert row.get("source") == str(path), row
            assert REASONS[key] in row["error"], row
    if "error" in rows["load"]:  # full size, RGB: may be over the budget, never a crash
        assert rows["load"]["source"] == str(path)
    assert peak < PEAK_LIMIT_MB, f"{key}: peak RSS {peak:.0f} MB"


@pytest.mark.parametrize(
    "key", [pytest.param(k, marks=pytest.mark.slow) if k == "float" else k for k in EXPECTED]
)
def test_hostile_file_through_the_cli(key: str, hostile: dict[str, Path]) -> None:
    path = hostile[key]
    rc, out, err, peak = run_limited(["-m", "lookalike", "hash", str(path)])
    assert "Traceback" not in err, err
    if EXPECTED[key]:
        assert rc == 0, err
        assert out.split()[-1] == str(path)
    else:
        assert rc == 1, (out, err)
        assert str(path) in err and REASONS[key] in err, err
    assert peak < PEAK_LIMIT_MB, f"{key}: peak RSS {peak:.0f} MB"


# ---- the budget itself (in process: everything here is refused before decoding) -----------


def test_refusal_names_the_file_and_the_numbers(hostile: dict[str, Path]) -> None:
    with pytest.raises(DecodeError) as info:
        load(hostile["png16"], max_bytes=100 << 20)
    assert info.value.source == str(hostile["png16"])
    assert "needs ~" in info.value.reason and "over the budget of 100 MB" in info.value.reason


def test_budget_comes_from_the_argument_then_the_environment(
    monkeypatch: pytest.MonkeyPatch, hostile: dict[str, Path]
) -> None:
    monkeypatch.delenv(MAX_DECODE_ENV, raising=False)
    assert max_decode_bytes() == lookalike.decode.MAX_DECODE_MB << 20
    monkeypatch.setenv(MAX_DECODE_ENV, "64")
    assert max_decode_bytes() == 64 << 20
    assert max_decode_bytes(1000) == 1000
    with pytest.raises(DecodeError, match="over the budget of 64 MB"):
        load(hostile["png16"], mode="L", min_size=64)
    monkeypatch.setenv(MAX_DECODE_ENV, "not a number")
    assert max_decode_bytes() == lookalike.decode.MAX_DECODE_MB << 20


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
def test_estimate_counts_bit_depth_and_reduction(hostile: dict[str, Path]) -> None:
    with Image.open(hostile["png16"]) as im:
        small = estimate_decode_bytes(im, "L", min_size=64)
        full = estimate_decode_bytes(im, "RGB")
    assert 13000 * 13000 * 2 <= small < 13000 * 13000 * 3  # 16-bit decode + small bands
    assert full > 13000 * 13000 * 2 + 2 * 13000 * 13000 * 4  # RGB output and orientation copy


def test_reduced_large_image_keeps_its_size_for_aspect(tmp_path: Path) -> None:
    path = write_png(tmp_path / "big.png", 6000, 3000, colour=2, fill=b"\x40")
    im = load(path, mode="L", min_size=64)
    assert min(im.size) >= 64 and im.size[0] < 6000
    assert im.info[lookalike.decode.SIZE_KEY] == (6000, 3000)
    assert np.asarray(im).min() == np.asarray(im).max() == 64


def test_band_wise_normalisation_matches_whole_image(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(1)
    rgba = Image.fromarray(rng.integers(0, 256, (300, 200, 4), dtype=np.uint8))
    deep = Image.fromarray(rng.integers(0, 65536, (300, 200), dtype=np.uint16))
    flt = Image.fromarray(rng.normal(size=(300, 200)).astype(np.float32))
    whole = [lookalike.decode.normalise_mode(im, "RGB") for im in (rgba, deep, flt)]
    monkeypatch.setattr(lookalike.decode, "BAND_PIXELS", 200 * 7)  # 7-row bands
    banded = [lookalike.decode.normalise_mode(im, "RGB") for im in (rgba, deep, flt)]
    for a, b in zip(whole, banded):
        assert np.array_equal(np.asarray(a), np.asarray(b))


# ---- 1-pixel-wide and -tall images ----------------------------------------------------------


@pytest.mark.parametrize("size", [(1, 500), (500, 1), (1, 1), (1, 5000), (5000, 1)])
def test_one_pixel_wide_images_work_in_every_method(tmp_path: Path, size: tuple[int, int]) -> None:
    rng = np.random.default_rng(0)
    path = tmp_path / "line.png"
    Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)).save(path)
    im = load(path)
    for name in METHODS:
        get_method(name).features([im])  # no OpenCV assertion
    result = lookalike.compare(path, path, DEFAULT_METHODS)
    assert result.verdict in ("identical", "similar")


# ---- huge on disk ---------------------------------------------------------------------------


@pytest.mark.parametrize("head", [b"", b"jpeg"])
def test_huge_sparse_file_is_not_read_whole(
    tmp_path: Path, sample_photos: list[Path], head: bytes
) -> None:
    path = tmp_path / "huge.jpg"
    with open(path, "wb") as f:
        if head:
            f.write(sample_photos[0].read_bytes()[:2000])  # a real header, then a 5 GB hole
        f.truncate(5 << 30)
    script = "import lookalike, sys\ntry: print(lookalike.load(sys.argv[1], min_size=64).size)\n"
    script += "except lookalike.DecodeError as e: print(e, file=sys.stderr); sys.exit(1)"
    start = time.monotonic()
    rc, _, err, peak = run_limited(["-c", script, str(path)])
    assert "Traceback" not in err and rc in (0, 1), err
    assert rc == 0 or str(path) in err
    assert time.monotonic() - start < 30 and peak < 512
