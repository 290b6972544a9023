"""Shared fixtures: the committed sample photos and the optional shared corpus."""

from __future__ import annotations

from pathlib import Path

import pytest
from corpus import CORPUS, SAMPLES


@pytest.fixture(scope="session")
def sample_photos() -> list[Path]:
    """The real photos committed in samples/ (always present)."""
    photos = sorted(SAMPLES.glob("*.jpg"))
    assert len(photos) >= 8, "samples/ should hold the committed photos"
    return photos


@pytest.fixture(scope="session")
def corpus_photos() -> list[Path]:
    """Every photo of ../shared/corpus/photos (originals and variants), or skip."""
    photos = sorted((CORPUS / "photos").glob("*/*.jpg"))
    if not photos:
        pytest.skip("../shared/corpus/photos is absent (it lives beside the repo clone)")
    return photos
