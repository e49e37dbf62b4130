"""Counting rules shared by the profile and the vector unit: element bytes per dtype and the
non-MAC operations of a layer (see ``accelsim.workload.profile`` for the full rules)."""

from __future__ import annotations

import math

from accelsim.workload.layers import ACTIVATIONS, AvgPool2d, LocalResponseNorm, MaxPool2d, Softmax, as_pair
from accelsim.workload.network import Node

DTYPE_BYTES = {"int8": 1, "fp16": 2, "fp32": 4}


def vector_ops(node: Node) -> int:
    """Non-MAC operations of one image through this layer (see the module docstring)."""
    layer, out = node.layer, math.prod(node.output_shape)
    if isinstance(layer, (MaxPool2d, AvgPool2d)):
        kh, kw = as_pair(layer.kernel_size)
        return out * (kh * kw - (1 if isinstance(layer, MaxPool2d) else 0))
    if isinstance(layer, ACTIVATIONS):
        return out
    if isinstance(layer, LocalResponseNorm):
        return out * (2 * layer.size + 3)
    if isinstance(layer, Softmax):
        return out * 3
    return 0


