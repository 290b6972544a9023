"""Small real ONNX models for the tests, built with the onnx package's helper API.

:func:`projection_model` is a fixed random-projection network (conv 3x3 stride 2, ReLU,
average pooling to a 4x4 grid, a dense layer): a crude layout descriptor, so a resized copy
lands near its original and other photos further away. onnxruntime runs it for real.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest


def projection_model(
    path: Path,
    *,
    side: int | None = 64,
    channels: int = 3,
    rank: int = 4,
    out_dim: int = 32,
    seed: int = 0,
    flat_output: bool = True,
) -> Path:
    """Write a (N, channels, side, side) -> (N, out_dim) float32 model to ``path``.

    ``side=None`` leaves H and W symbolic (the model then pools globally per 4x4 grid of
    an input of any size divisible by 8). ``rank`` other than 4 writes a model whose input
    has that rank (a flat (N, K) Gemm model), for the checks; ``flat_output=False`` ends
    at the pooled (N, 8, 4, 4) maps instead of (N, out_dim) descriptors.
    """
    onnx = pytest.importorskip("onnx", reason="building test models needs the onnx package")
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(seed)
    if rank != 4:
        k = 48
        w = numpy_helper.from_array(rng.standard_normal((k, out_dim)).astype(np.float32), "w")
        x = helper.make_tensor_value_info(
            "x", TensorProto.FLOAT, ["N", k][:rank] + [1] * max(0, rank - 2)
        )
        y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", out_dim])
        nodes = [helper.make_node("Gemm", ["x", "w"], ["y"])]
        graph = helper.make_graph(nodes, "flat", [x], [y], [w])
    else:
        conv = rng.standard_normal((8, channels, 3, 3)).astype(np.float32)
        dims = ["N", channels, side or "H", side or "W"]
        x = helper.make_tensor_value_info("images", TensorProto.FLOAT, dims)
        y = helper.make_tensor_value_info("descriptors", TensorProto.FLOAT, ["N", out_dim])
        dense = rng.standard_normal((8 * 16, out_dim)).astype(np.float32)
        inits = [numpy_helper.from_array(conv, "conv"), numpy_helper.from_array(dense, "dense")]
        nodes = [
            helper.make_node("Conv", ["images", "conv"], ["c"], strides=[2, 2], pads=[1, 1, 1, 1]),
            helper.make_node("Relu", ["c"], ["r"]),
        ]
        if side:
            k = side // 2 // 4
            nodes.append(
                helper.make_node("AveragePool", ["r"], ["p"], kernel_shape=[k, k], strides=[k, k])
            )
        else:
            nodes.append(helper.make_node("GlobalAveragePool", ["r"], ["g"]))
            nodes.append(helper.make_node("Tile", ["g", "reps"], ["p"]))
            inits.append(numpy_helper.from_array(np.array([1, 1, 4, 4], np.int64), "reps"))
        if flat_output:
            nodes += [
                helper.make_node("Flatten", ["p"], ["f"], axis=1),
                helper.make_node("MatMul", ["f", "dense"], ["descriptors"]),
            ]
        else:
            nodes.append(helper.make_node("Identity", ["p"], ["descriptors"]))
            y = helper.make_tensor_value_info("descriptors", TensorProto.FLOAT, ["N", 8, 4, 4])
            inits = inits[:1] + inits[2:]
        graph = helper.make_graph(nodes, "projection", [x], [y], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    path.write_bytes(model.SerializeToString())
    return path
