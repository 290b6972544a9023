"""Runs imagehash 4.3.2's own test suite (``tests/``, vendored) against
:mod:`lookalike.compat.imagehash`.

The suite is imagehash's, unchanged but for its ``import imagehash`` lines. Two things
its upstream checkout provides are provided here instead:

* the working directory: its README example opens ``tests/data/...`` relative to the
  checkout's root, which is this folder;
* ``six``: the suite uses ``six.assertRaisesRegex`` and ``six.exec_``; when six is not
  installed (lookalike does not depend on it), a two-function stand-in is registered.
"""

from __future__ import annotations

import sys
import types
import unittest
from pathlib import Path
from typing import Any

import pytest

SUITE = Path(__file__).resolve().parent


def _six_stand_in() -> types.ModuleType:
    module = types.ModuleType("six", "The two six functions imagehash's tests use.")

    def assertRaisesRegex(case: unittest.TestCase, *args: Any, **kwargs: Any) -> Any:
        return case.assertRaisesRegex(*args, **kwargs)

    def exec_(code: str, globs: dict[str, Any] | None = None, locs: Any = None) -> None:
        exec(code, globs, locs)

    module.assertRaisesRegex = assertRaisesRegex  # type: ignore[attr-defined]
    module.exec_ = exec_  # type: ignore[attr-defined]
    return module


try:
    import six  # noqa: F401
except ImportError:
    sys.modules["six"] = _six_stand_in()


@pytest.fixture(autouse=True)
def _run_from_the_suite_root(monkeypatch: pytest.MonkeyPatch) -> None:
    """imagehash's README example opens ``tests/data/...`` from the checkout's root."""
    monkeypatch.chdir(SUITE)
