"""Runs imagehash 4.3.2's own test suite (``tests/``, vendored) against
:mod:`lookalike.compat.imagehash`.

The suite is imagehash's, unchanged but for its ``import imagehash`` lines. What its
upstream checkout provides is provided here instead:

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


@pytest.fixture(autouse=True)
def _decoded_image_for_the_timing_test(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``test_segmentation_image_size`` times a first call, which also decodes the lazily
    opened test PNG, against a second one with a larger segmentation image. imagehash's
    Python flood fill makes the second ~5x slower, so the decode does not count there;
    lookalike's segmentation takes milliseconds, so the ~10 ms decode would decide. That
    one test gets its image already decoded (the same pixels)."""
    if request.node.name != "test_segmentation_image_size":
        return
    opened = request.cls.get_data_image

    def decoded(fname: str | None = None) -> Any:
        image = opened(fname)
        image.load()
        return image

    monkeypatch.setattr(request.cls, "get_data_image", staticmethod(decoded))
