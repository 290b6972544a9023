"""The forkserver's children stay quiet when their parent pool is gone, and only then."""

from __future__ import annotations

import subprocess
import sys

SCRIPT = """
import sys
import lookalike.engines.forkserver_child
try:
    raise {kind}("boom")
except Exception:
    sys.excepthook(*sys.exc_info())
"""


def _stderr(kind: str) -> str:
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT.format(kind=kind)], capture_output=True, text=True, timeout=60
    )
    return proc.stderr


def test_a_child_whose_pool_was_torn_down_prints_nothing() -> None:
    for kind in ("FileNotFoundError", "EOFError", "BrokenPipeError", "ConnectionResetError"):
        assert _stderr(kind) == "", kind


def test_any_other_error_of_a_child_is_still_shown() -> None:
    err = _stderr("ValueError")
    assert "Traceback" in err and "ValueError: boom" in err
