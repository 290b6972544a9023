"""Seal verification (印章核验): are two seal impressions from the same seal?

* :mod:`lookalike.seals.generate` -- generated seal designs, impressions and forgeries
  (there is no public seal data set to train or measure on);
* :mod:`lookalike.seals.baseline` -- a non-learned verifier: red-ink extraction,
  keypoint alignment, overlap of the ink;
* :mod:`lookalike.seals.siamese` -- a small Siamese CNN (ONNX, run by onnxruntime).

Both verifiers return a score in [0, 1] and a decision at a threshold measured as the
equal-error-rate threshold on generated validation seals. See docs/seals.md.
"""

from __future__ import annotations

from lookalike.seals.generate import FORGERY_KINDS, SealDesign, design, forgery, impression

__all__ = ["FORGERY_KINDS", "SealDesign", "design", "forgery", "impression"]
