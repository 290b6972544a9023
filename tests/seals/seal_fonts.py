"""Skip a test module where no CJK font is installed (the generator draws hanzi)."""

from __future__ import annotations

import pytest

from lookalike.errors import UsageError
from lookalike.seals.generate import cjk_fonts


def require_cjk_font() -> None:
    """pytest.skip (module level) naming the package to install when fc-list finds none."""
    try:
        cjk_fonts()
    except UsageError as exc:
        pytest.skip(f"seal generator: {exc}", allow_module_level=True)
