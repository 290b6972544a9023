"""Every command answers bad arguments with exit status 2 and a message, never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from lookalike.cli import COMMANDS

HERE = Path(__file__).resolve().parent
SAMPLE = str(HERE.parents[1] / "samples" / "Altai.jpg")

BAD: list[tuple[str, list[str]]] = [
    ("compare", []),
    ("compare", [SAMPLE]),
    ("compare", [SAMPLE, SAMPLE, "--method", "nope"]),
    ("hash", []),
    ("hash", [SAMPLE, "--hash-size", "1"]),
    ("dupes", []),
    ("dupes", [SAMPLE, "--threshold", "abc"]),
    ("dupes", [SAMPLE, "--keep", "biggest"]),
    ("dupes", [SAMPLE, "--keep-in", "/no/such/folder"]),
    ("dupes", [SAMPLE, "--move-to", "{tmp}/x", "--delete"]),
    ("dupes", [SAMPLE, "--trash", "--delete"]),
    ("dupes", [SAMPLE, "--min-size", "-3"]),
    ("dupes", [SAMPLE, "--ext", ","]),
    ("dupes", [SAMPLE, "--plan", "{tmp}"]),
    ("dupes", [SAMPLE, "--report", "{tmp}/r.doc"]),
    ("cluster", []),
    ("cluster", [SAMPLE, "--k", "0"]),
    ("cluster", [SAMPLE, "--model", SAMPLE]),
    ("cluster", [SAMPLE, "--model", "{tmp}/missing.onnx"]),
    ("cluster", [SAMPLE, "--csv", "{tmp}"]),
    ("compare", [SAMPLE, SAMPLE, "--model", "{tmp}/missing.onnx"]),
    ("dupes", [SAMPLE, "--model", SAMPLE]),
    ("dupes", [SAMPLE, "--methods", "phash8", "embed", "--model", "{tmp}/missing.onnx"]),
    ("train", []),
    ("train", [SAMPLE, "--out", "{tmp}/o", "--init", "{tmp}/missing.npz"]),
    ("train", [SAMPLE, "--out", "{tmp}/o", "--steps", "0"]),
    ("compare", [SAMPLE, SAMPLE, "--model", SAMPLE]),
    ("eval", ["run", "{tmp}", "--model", SAMPLE]),
    ("docs", []),
    ("eval", []),
    ("eval", ["nope"]),
    ("index", []),
    ("search", []),
    ("serve", ["--port", "abc"]),
    ("migrate", []),
    ("apply", []),
    ("apply", ["{tmp}/missing.json"]),
    ("apply", ["{tmp}/notjson.json"]),
    ("apply", ["{tmp}/wrongformat.json"]),
    ("undo", []),
    ("undo", ["{tmp}/missing.jsonl"]),
    ("undo", ["{tmp}/notjson.json"]),
    ("mark", []),
    ("mark", ["not-duplicates", SAMPLE]),
    ("mark", ["--cache", "{tmp}/c.sqlite", "not-duplicates", SAMPLE, "/no/such.jpg"]),
    ("mark", ["keep"]),
    ("mark", ["--cache", "{tmp}/c.sqlite", "import", "{tmp}/notjson.json"]),
    ("mark", ["remove", "maybe", SAMPLE]),
    ("videos", []),
    ("videos", [SAMPLE, "--rate", "0"]),
    ("videos", [SAMPLE, "--time-limit", "abc"]),
    ("seal", []),
    ("seal", [SAMPLE]),
    ("seal", [SAMPLE, SAMPLE, "--method", "nope"]),
    ("seal", [SAMPLE, "{tmp}/missing.png", "--method", "baseline"]),
    ("seal", [SAMPLE, "{tmp}/notjson.json", "--method", "baseline"]),
]


def test_the_table_covers_every_command() -> None:
    assert {c for c, _ in BAD} == set(COMMANDS)


@pytest.mark.parametrize(("command", "argv"), BAD, ids=[f"{c} {' '.join(a)}" for c, a in BAD])
def test_bad_arguments_exit_2_without_traceback(
    command: str, argv: list[str], tmp_path: Path
) -> None:
    (tmp_path / "notjson.json").write_text("not json {")
    (tmp_path / "wrongformat.json").write_text('{"format": "something-else"}')
    args = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path), "LOOKALIKE_CACHE": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-m", "lookalike", command, *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        stdin=subprocess.DEVNULL,
    )
    assert "Traceback" not in done.stderr, done.stderr
    assert done.returncode == 2, (done.returncode, done.stdout, done.stderr)
    assert done.stderr.strip()
