"""Where the test data lives: the committed samples and the optional shared corpus.

The shared corpus is ``$LOOKALIKE_CORPUS`` when set, else ``../shared/corpus`` beside the
clone; tests that need it skip with a reason where it is absent.
"""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "samples"
CORPUS = Path(os.environ.get("LOOKALIKE_CORPUS") or ROOT.parent / "shared" / "corpus")
