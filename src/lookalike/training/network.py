"""The copy-detection CNN: a small ResNet, GeM pooling, a linear projection, unit length.

About 1.6 M weights (6 MB as float32 ONNX): four stages of basic residual blocks after a
stride-4 stem, on a 160 x 160 input, so a CPU runs it in a few milliseconds per picture
and the decoder, not the network, stays the cost of ``embed``.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from lookalike.errors import require

#: Input side the default model is trained and exported at.
SIDE = 160
#: Descriptor length.
DIMENSIONS = 256
#: Channels and blocks of the four stages.
WIDTHS = (32, 64, 128, 256)
DEPTHS = (1, 1, 2, 1)
EXTRA = "train"


def build(dimensions: int = DIMENSIONS) -> Any:
    """A fresh network (torch.nn.Module): images (N, 3, H, W) normalised -> (N, D) unit rows."""
    torch = require("torch", EXTRA)
    nn = torch.nn
    f = torch.nn.functional
    module: Any = nn.Module

    def conv_bn(cin: int, cout: int, stride: int = 1, k: int = 3) -> Any:
        return nn.Sequential(
            nn.Conv2d(cin, cout, k, stride, k // 2, bias=False), nn.BatchNorm2d(cout)
        )

    class Block(module):  # type: ignore[misc]
        def __init__(self, cin: int, cout: int, stride: int) -> None:
            super().__init__()
            self.a = conv_bn(cin, cout, stride)
            self.b = conv_bn(cout, cout)
            nn.init.zeros_(self.b[1].weight)  # each block starts as the identity
            self.skip = conv_bn(cin, cout, stride, 1) if stride != 1 or cin != cout else None

        def forward(self, x: Any) -> Any:
            y = self.b(f.relu(self.a(x)))
            return f.relu(y + (x if self.skip is None else self.skip(x)))

    class GeM(module):  # type: ignore[misc]
        """Generalised mean pooling (Radenović et al. 2018), p = 3."""

        def forward(self, x: Any) -> Any:
            return x.clamp(min=1e-6).pow(3).mean(dim=(2, 3)).pow(1.0 / 3)

    class CopyNet(module):  # type: ignore[misc]
        def __init__(self) -> None:
            super().__init__()
            layers: list[Any] = [
                conv_bn(3, 24, 2),
                nn.ReLU(inplace=True),
                conv_bn(24, WIDTHS[0], 2),
                nn.ReLU(inplace=True),
            ]
            cin = WIDTHS[0]
            for i, (width, depth) in enumerate(zip(WIDTHS, DEPTHS, strict=True)):
                for j in range(depth):
                    layers.append(Block(cin, width, 2 if i > 0 and j == 0 else 1))
                    cin = width
            self.features = nn.Sequential(*layers)
            self.pool = GeM()
            self.project = nn.Linear(cin, dimensions)

        def forward(self, x: Any) -> Any:
            return f.normalize(self.project(self.pool(self.features(x))), dim=1)

    return CopyNet()


def weight_count(net: Any) -> int:
    """Number of trained weights."""
    return int(sum(p.numel() for p in net.parameters()))


def export_onnx(net: Any, path: str, side: int = SIDE) -> None:
    """Write ``net`` as ONNX: input ``images`` (N, 3, side, side) float32, output
    ``descriptors`` (N, D); the batch axis is dynamic."""
    torch = require("torch", EXTRA)
    net = net.eval().float().cpu()
    dummy = torch.zeros(2, 3, side, side)
    kwargs: dict[str, Any] = {
        "input_names": ["images"],
        "output_names": ["descriptors"],
        "dynamic_axes": {"images": {0: "n"}, "descriptors": {0: "n"}},
        "opset_version": 17,
        "do_constant_folding": True,
    }
    # the TorchScript exporter: it needs no onnxscript, and it folds batch norm into the
    # convolutions; newer torch warns that it is deprecated
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        try:
            torch.onnx.export(net, (dummy,), path, dynamo=False, **kwargs)
        except TypeError:  # a torch without the dynamo switch
            torch.onnx.export(net, (dummy,), path, **kwargs)


def save_weights(net: Any, path: str) -> None:
    """The weights as float16 numpy arrays (``.npz``): the start of a fine-tune."""
    state = {k: v.detach().cpu().float().numpy() for k, v in net.state_dict().items()}
    np.savez_compressed(
        path, **{k: v.astype(np.float16) if v.dtype == np.float32 else v for k, v in state.items()}
    )


def load_weights(net: Any, path: str) -> None:
    """Fill ``net`` from a file :func:`save_weights` wrote."""
    torch = require("torch", EXTRA)
    with np.load(path) as data:
        state = {
            k: torch.from_numpy(
                data[k].astype(np.float32) if data[k].dtype == np.float16 else data[k]
            )
            for k in data.files
        }
    net.load_state_dict(state)
