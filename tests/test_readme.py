"""The README's examples run as written (on the committed sample photos)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from lookalike.cli import build_parser

ROOT = Path(__file__).resolve().parents[1]


def _blocks(lang: str) -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    return re.findall(rf"```{lang}\n(.*?)```", text, flags=re.S)


def test_python_example_runs(sample_photos: list[Path], tmp_path: Path, monkeypatch) -> None:
    (code,) = _blocks("python")
    shutil.copy(sample_photos[0], tmp_path / "a.jpg")
    shutil.copy(sample_photos[1], tmp_path / "b.jpg")
    monkeypatch.chdir(tmp_path)
    scope = {"paths": [str(p) for p in sample_photos]}
    exec(compile(code, "README.md", "exec"), scope)  # our own README
    assert scope["result"].verdict == "different"
    assert scope["codes"].shape == (len(sample_photos), 8)


def test_shell_examples_name_real_commands_and_options() -> None:
    """Every `lookalike ...` line of the README parses (a typo in an option fails here)."""
    lines = [
        line.split("#")[0].split("&&")[-1].strip()
        for block in _blocks("sh")
        for line in block.splitlines()
        if line.strip().startswith("lookalike ")
    ]
    assert len(lines) >= 8
    parser = build_parser()
    for line in lines:
        words = [w.strip('"') for w in line.split()[1:]]
        try:
            parser.parse_args(words)
        except SystemExit as exc:  # pragma: no cover - the failure message says which
            pytest.fail(f"README example does not parse: {line} ({exc})")
