"""The learned seal verifier: a small Siamese CNN run by onnxruntime on the CPU.

Each impression's red ink is cut out and scaled to :data:`INPUT_SIZE` pixels square
(:func:`lookalike.seals.ink.ink_crop`); the network (one branch, shared weights) maps it to
an L2-normalised descriptor, and the score of a pair is the cosine of their descriptors
mapped to [0, 1] as ``(1 + cos) / 2``. Same seal when the score is at or above the
threshold stored in ``seal_siamese.json`` beside the model: the equal-error-rate
threshold measured on generated validation seals that training never saw.

The model was trained by :mod:`lookalike.seals.train` on generated seals only (see
docs/seals.md); onnxruntime is the ``embed`` extra: ``pip install 'lookalike[embed]'``.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from lookalike.errors import UsageError, require
from lookalike.seals.ink import ink_crop

#: The optional extra that installs onnxruntime.
EXTRA = "embed"
#: The shipped model and its calibration.
MODEL = Path(__file__).with_name("seal_siamese.onnx")
CALIBRATION = MODEL.with_suffix(".json")
#: Side of the ink map the network reads (pixels).
INPUT_SIZE = 96


def prepare(image: Image.Image) -> np.ndarray:
    """The network's input for one impression: a (1, INPUT_SIZE, INPUT_SIZE) float32 ink map."""
    return ink_crop(image, INPUT_SIZE)[None]


@functools.cache
def _session(path: str) -> Any:
    ort = require("onnxruntime", EXTRA)
    if not Path(path).is_file():
        raise UsageError(
            "the seal model is missing; train it with python -m lookalike.seals.train", path
        )
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    return ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])


def threshold(model: Path | None = None) -> float:
    """The decision threshold stored beside ``model`` (its validation EER threshold)."""
    with open((model or MODEL).with_suffix(".json"), encoding="utf-8") as f:
        return float(json.load(f)["threshold"])


def descriptors(inputs: np.ndarray, model: Path | None = None) -> np.ndarray:
    """L2-normalised descriptors (N, D) of prepared inputs (N, 1, S, S)."""
    session = _session(str(model or MODEL))
    name = session.get_inputs()[0].name
    out = session.run(None, {name: np.ascontiguousarray(inputs, np.float32)})[0]
    return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)


def score_descriptors(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pair scores in [0, 1] of row-aligned descriptors: (1 + cosine) / 2."""
    return np.clip((1 + (a * b).sum(axis=1)) / 2, 0, 1)


def score(a: Image.Image, b: Image.Image, model: Path | None = None) -> float:
    """How alike the seals of impressions ``a`` and ``b`` are, in [0, 1]; at or above
    :func:`threshold`: the same seal. 0 when either image holds no red ink."""
    inputs = np.stack([prepare(a), prepare(b)])
    if not inputs[0].any() or not inputs[1].any():
        return 0.0
    d = descriptors(inputs, model)
    return float(score_descriptors(d[:1], d[1:])[0])
