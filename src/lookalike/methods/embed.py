"""Learned embeddings: an ONNX model run by onnxruntime on the CPU, compared by cosine.

Without ``model`` the method runs the project's own copy-detection model, shipped in the
package (lookalike.models, ``copy-embed.onnx``: trained by ``lookalike train`` on public
domain clip art and drawn pictures; docs/model-card.md), with the thresholds measured for
it. With ``model=PATH`` (``--model PATH``) it runs yours, for example one ``lookalike
train`` fine-tuned on your images or an export of SSCD (Pizzi et al., "A Self-Supervised
Descriptor for Image Copy Detection", CVPR 2022).

What the model must be
----------------------
* **one input**, float32, shape ``(N, 3, H, W)``: a batch of RGB images, channels first.
  ``H`` and ``W`` may be fixed in the file (they are then used) or symbolic (then
  ``size``, default 224, is used for both). Each image is resized to ``H x W`` (bilinear,
  the whole picture, no crop), scaled to [0, 1], then normalised per channel with
  ``(x - mean) / std``, by default ImageNet's ``mean = (0.485, 0.456, 0.406)`` and
  ``std = (0.229, 0.224, 0.225)`` (what SSCD and torchvision models expect);
* **its first output**: shape ``(N, D)``, one descriptor per image (any D). The
  descriptors are L2-normalised here, so a model that already normalises is fine.

A file that breaks these rules is refused when the method is built, with an error naming
the file and the reason (not an ONNX file, wrong rank, wrong channels, wrong type); a
missing onnxruntime raises an ImportError naming the extra: ``pip install
'lookalike[embed]'``.

Similarity is the cosine of the unit descriptors clipped to [0, 1]. The shipped model's
thresholds are measured (``copy-embed.json``). Those of a model you bring cannot be known
here: the defaults (similar >= 0.75, different < 0.5) are a starting point in the range
used for SSCD descriptors, not a measurement; measure your
model's with ``bench/vector_thresholds.py BENCH --method embed --model PATH`` (or read
``thr@P99`` of ``lookalike eval run BENCH --model PATH``) and pass ``similar=`` /
``different=``.

References
----------
E. Pizzi, S. D. Roy, S. N. Ravindra, P. Goyal, M. Douze, "A Self-Supervised Descriptor
for Image Copy Detection", CVPR 2022; onnxruntime (Microsoft), the ONNX standard.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
from PIL import Image

from lookalike.errors import UsageError, require
from lookalike.methods.base import Kind, Method, Thresholds

#: The optional extra that installs onnxruntime.
EXTRA = "embed"
#: Side used when the model's input size is symbolic.
DEFAULT_SIZE = 224
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
#: Images per onnxruntime call (memory stays bounded for large inputs).
BATCH = 32
#: Sessions opened in this process, by (model digest, threads): a worker process that
#: receives the method once per chunk opens the model once, not once per chunk.
_SESSIONS: dict[tuple[str, int], Any] = {}


def _file_digest(path: str) -> str:
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()[:16]


def open_session(path: str, *, threads: int = 0) -> Any:
    """An onnxruntime CPU session of the model at ``path``; UsageError naming the file and
    the reason when it is missing or not an ONNX model onnxruntime can load."""
    ort = require("onnxruntime", EXTRA)
    if not os.path.isfile(path):
        raise UsageError("no such model file", path)
    options = ort.SessionOptions()
    if threads:
        options.intra_op_num_threads = threads
    options.log_severity_level = 3  # errors only: our own message says what is wrong
    try:
        return ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own Fail/InvalidProtobuf/... types
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UsageError(f"not an ONNX model onnxruntime can load ({first[:200]})", path) from exc


def check_model(session: Any, path: str, size: int) -> tuple[str, int, int]:
    """The input's name and the (H, W) to feed, after checking the model's signature.

    Raises UsageError naming ``path`` and the reason when the input is not one float
    ``(N, 3, H, W)`` tensor or the output is not ``(N, D)``.
    """
    inputs = session.get_inputs()
    if len(inputs) != 1:
        raise UsageError(
            f"the model has {len(inputs)} inputs; embed needs exactly one, (N, 3, H, W)", path
        )
    x = inputs[0]
    shape = list(x.shape)
    if len(shape) != 4:
        raise UsageError(
            f"the model's input {x.name!r} has rank {len(shape)} (shape {shape}); "
            "embed needs rank 4: (N, 3, H, W), RGB channels first",
            path,
        )
    if isinstance(shape[1], int) and shape[1] != 3:
        raise UsageError(
            f"the model's input {x.name!r} has {shape[1]} channels (shape {shape}); "
            "embed feeds 3: (N, 3, H, W), RGB channels first",
            path,
        )
    if x.type != "tensor(float)":
        raise UsageError(
            f"the model's input {x.name!r} is {x.type}; embed feeds float32 (tensor(float))",
            path,
        )
    outputs = session.get_outputs()
    out_shape = list(outputs[0].shape) if outputs else []
    if len(out_shape) != 2:
        raise UsageError(
            f"the model's first output has rank {len(out_shape)} (shape {out_shape}); "
            "embed needs rank 2: (N, D), one descriptor per image",
            path,
        )
    h = shape[2] if isinstance(shape[2], int) and shape[2] > 0 else size
    w = shape[3] if isinstance(shape[3], int) and shape[3] > 0 else size
    return x.name, h, w


class Embed(Method):
    """Descriptors of an ONNX model (``model=PATH``), L2-normalised, cosine similarity."""

    name = "embed"
    kind: ClassVar[Kind] = "vector"
    metric = "cosine"
    grey = False
    reference = "Pizzi et al., CVPR 2022 (SSCD); onnxruntime; your ONNX model"

    def __init__(
        self,
        model: str | os.PathLike[str] | None = None,
        *,
        size: int = DEFAULT_SIZE,
        mean: Sequence[float] = IMAGENET_MEAN,
        std: Sequence[float] = IMAGENET_STD,
        similar: float | None = None,
        different: float | None = None,
        threads: int = 0,
    ) -> None:
        # a model you bring starts from these; the shipped one's card holds its own
        chosen: dict[str, Any] = {"similar": 0.75, "different": 0.50}
        if model is None or os.fspath(model) == "default":
            from lookalike.models import default_card, default_model

            model = default_model()
            if not model:
                raise UsageError(
                    "this copy of lookalike ships no default model: give --model PATH (an "
                    "ONNX file with input (N, 3, H, W) float32 and output (N, D))"
                )
            chosen.update(default_card().get("thresholds", {}))
        similar = float(chosen["similar"]) if similar is None else similar
        different = float(chosen["different"]) if different is None else different
        self.model = os.fspath(model)
        self._threads = threads
        session = open_session(self.model, threads=threads)
        self._input, self.height, self.width = check_model(session, self.model, size)
        self._mean = np.asarray(mean, np.float32).reshape(1, 3, 1, 1)
        self._std = np.asarray(std, np.float32).reshape(1, 3, 1, 1)
        if self._mean.size != 3 or self._std.size != 3 or np.any(self._std <= 0):
            raise UsageError(f"mean and std need 3 values, std > 0: {mean}, {std}")
        self._session: Any = session
        probe = self._run(np.zeros((1, 3, self.height, self.width), np.float32))
        self.dimensions = int(probe.shape[1])
        self.min_size = max(self.height, self.width)
        self.thresholds = Thresholds(similar=similar, different=different, identical=0.9999)
        # the cache names the model by its bytes, so a changed file is never served stale
        self.cache_key = (
            f"embed:{_file_digest(self.model)}:{self.height}x{self.width}"
            f":{','.join(f'{v:g}' for v in (*mean, *std))}"
        )

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_session"] = None  # not picklable: each worker opens its own
        return state

    def _run(self, batch: np.ndarray) -> np.ndarray:
        if self._session is None:
            key = (self.cache_key, self._threads)
            if key not in _SESSIONS:
                _SESSIONS[key] = open_session(self.model, threads=self._threads)
            self._session = _SESSIONS[key]
        try:
            out = self._session.run(None, {self._input: batch})[0]
        except Exception as exc:
            raise UsageError(f"the model failed on a batch: {exc}", self.model) from exc
        out = np.asarray(out, np.float32)
        if out.ndim != 2 or out.shape[0] != len(batch):
            raise UsageError(
                f"the model returned shape {out.shape} for {len(batch)} images; embed needs (N, D)",
                self.model,
            )
        return out

    def prepare(self, image: Image.Image) -> np.ndarray:
        rgb = image if image.mode == "RGB" else image.convert("RGB")
        return np.asarray(rgb.resize((self.width, self.height), Image.Resampling.BILINEAR))

    def compute(self, prepared: Sequence[np.ndarray]) -> np.ndarray:
        if not prepared:
            return np.zeros((0, self.dimensions), np.float32)
        x = np.stack(prepared).astype(np.float32).transpose(0, 3, 1, 2) / 255.0
        x = (x - self._mean) / self._std
        out = np.concatenate(
            [self._run(np.ascontiguousarray(x[i : i + BATCH])) for i in range(0, len(x), BATCH)]
        )
        norm = np.linalg.norm(out, axis=1, keepdims=True)
        return np.divide(out, norm, out=np.zeros_like(out), where=norm > 0)

    def similarity(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Cosine of the unit rows, clipped to [0, 1]."""
        a = np.asarray(a, np.float64)
        b = np.asarray(b, np.float64)
        return np.clip((a * b).sum(axis=-1), 0.0, 1.0)

    def __repr__(self) -> str:
        return f"Embed(model={self.model!r}, size={self.height}x{self.width})"
