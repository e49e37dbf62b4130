"""Counting rules shared by the profile and the vector unit: element bytes per dtype and the
non-MAC operations of a layer, per image.

``vector_ops`` per output element unless stated: max pooling kh*kw - 1 comparisons; average
pooling kh*kw - 1 adds and one multiply (kh*kw); global average pooling H*W (H*W - 1 adds, one
multiply); adaptive average pooling the size of each output's window (its adds and one multiply),
summed over the windows; ReLU/Tanh/Sigmoid 1; ReLU6/clip 2 (a max and a min); hardswish 5 (add,
max, min, multiply, scale by 1/6); GELU 5 (scale, erf or tanh, add, multiply, halve); batchnorm2d
2 (one multiply and one add: the inference form's per-channel scale and shift); layernorm 8 (mean:
one add; variance: subtract, square, add; normalize: subtract, multiply; affine: multiply, add)
plus one reciprocal square root a row; add (n - 1) adds for n inputs; LRN 2*size + 3 (size
squares, size - 1 adds, scale, offset, power, divide); softmax 3 (exp, add, divide); flatten,
dropout and concat 0 (concat copies its inputs: bytes, no operations); a matmul's ``scale``
(attention's 1/sqrt(d)) 0, being part of its output's requantization.
"""

from __future__ import annotations

import math

from accelsim.workload.layers import (
    ACTIVATIONS,
    GELU,
    AdaptiveAvgPool2d,
    Add,
    AvgPool2d,
    BatchNorm2d,
    Clip,
    GlobalAvgPool2d,
    Hardswish,
    LayerNorm,
    LocalResponseNorm,
    MaxPool2d,
    ReLU6,
    Softmax,
    adaptive_windows,
    as_pair,
)
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
    if isinstance(layer, (ReLU6, Clip, BatchNorm2d)):
        return 2 * out
    if isinstance(layer, (Hardswish, GELU)):
        return 5 * out
    if isinstance(layer, GlobalAvgPool2d):
        return math.prod(node.input_shape)
    if isinstance(layer, AdaptiveAvgPool2d):
        c, h, w = node.input_shape
        oh, ow = as_pair(layer.output_size)
        rows = sum(b - a for a, b in adaptive_windows(h, oh))
        cols = sum(b - a for a, b in adaptive_windows(w, ow))
        return c * rows * cols
    if isinstance(layer, LayerNorm):
        return 8 * out + out // node.output_shape[-1]
    if isinstance(layer, Add):
        return (len(node.input_shapes) - 1) * out
    if isinstance(layer, LocalResponseNorm):
        return out * (2 * layer.size + 3)
    if isinstance(layer, Softmax):
        return out * 3
    return 0
