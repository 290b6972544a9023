"""The models the project trains and ships (see docs/model-card.md for how and on what).

* ``copy-embed.onnx``: the default model of the ``embed`` method, a copy-detection CNN
  (lookalike.training.network) trained self-supervised by ``lookalike train`` on public
  domain clip art and pictures the recipe draws itself; ``copy-embed.npz`` holds its
  weights for fine-tuning and ``copy-embed.json`` the recipe and measured thresholds.
"""

from __future__ import annotations

import json
import os
from typing import Any

_HERE = os.path.dirname(os.path.abspath(__file__))
NAME = "copy-embed"


def default_model() -> str:
    """Path of the shipped ONNX model ('' when this copy of the package has none)."""
    path = os.path.join(_HERE, f"{NAME}.onnx")
    return path if os.path.isfile(path) else ""


def default_weights() -> str:
    """Path of the shipped weights for ``lookalike train --init default`` ('' when absent)."""
    path = os.path.join(_HERE, f"{NAME}.npz")
    return path if os.path.isfile(path) else ""


def default_card() -> dict[str, Any]:
    """The shipped model's recipe and measured thresholds ({} when absent)."""
    path = os.path.join(_HERE, f"{NAME}.json")
    if not os.path.isfile(path):
        return {}
    with open(path, encoding="utf-8") as fh:
        data: dict[str, Any] = json.load(fh)
    return data
