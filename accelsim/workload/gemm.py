"""GEMM sizes of workload nodes: the forward im2col GEMM and the two training GEMMs.

The shared vocabulary for every layer above the workload (lowering, mapping, the models and the
reports): shapes only, no arrays. Convention (per group): M = output pixels x batch,
K = in_channels/groups x kh x kw, N = out_channels/groups; linear: M = batch (x T tokens for a
sequence input (T, F)), K = in_features, N = out_features; matmul of two activations: one GEMM per
image and head (count = batch x heads: each image has its own B operand), M = rows of A, K and N
from both shapes (``MatMul.dims``).
Training: weight gradient (N, M, K), input gradient (K, N, M).
"""

from __future__ import annotations

import operator
from dataclasses import dataclass
from typing import NamedTuple

from accelsim.errors import AccelsimError
from accelsim.workload.layers import Conv2d, Linear, MatMul, as_pair
from accelsim.workload.network import Node


class GemmShape(NamedTuple):
    """Size of ``count`` identical GEMMs (one per group) of M x K times K x N."""

    m: int
    k: int
    n: int
    count: int = 1  # type: ignore[assignment]  # shadows tuple.count(), which a GEMM shape never needs

    @property
    def macs(self) -> int:
        return self.count * self.m * self.k * self.n

    @property
    def label(self) -> str:
        """'MxKxN', or 'Gx(MxKxN)' for G groups: how every report writes a GEMM."""
        g = f"{self.m}x{self.k}x{self.n}"
        return g if self.count == 1 else f"{self.count}x({g})"


def gemm_shape(node: Node, batch: int = 1) -> GemmShape | None:
    """(M, K, N, count) of the layer's im2col GEMM, or None for a non-GEMM layer; ``count`` is the
    groups of a conv, batch x heads of a matmul (image-major, the int8 forward's recording order)."""
    layer = node.layer
    if isinstance(layer, Conv2d):
        _, oh, ow = node.output_shape
        kh, kw = as_pair(layer.kernel_size)
        g = layer.groups
        return GemmShape(oh * ow * batch, layer.in_channels // g * kh * kw, layer.out_channels // g, g)
    if isinstance(layer, Linear):
        tokens = node.input_shape[0] if len(node.input_shape) == 2 else 1
        return GemmShape(tokens * batch, layer.in_features, layer.out_features, 1)
    if isinstance(layer, MatMul):
        m, k, n = layer.dims(*node.input_shapes)
        return GemmShape(m, k, n, batch * layer.heads)
    return None



@dataclass(frozen=True)
class TrainingShapes:
    """Sizes of the two backward GEMMs of one conv/linear node (convention in the module docstring)."""

    weight_grad: GemmShape
    input_grad: GemmShape

    @property
    def macs(self) -> int:
        return self.weight_grad.macs + self.input_grad.macs


def _batch(batch) -> int:
    try:
        b = operator.index(batch)
    except TypeError:
        raise AccelsimError(f"training_gemm_shapes: batch: expected an integer, got {batch!r}") from None
    if isinstance(batch, bool) or b < 1:
        raise AccelsimError(f"training_gemm_shapes: batch: must be >= 1, got {b}")
    return b


def training_gemm_shapes(node: Node, batch: int = 1) -> TrainingShapes | None:
    """Backward GEMM sizes of a conv/linear node at ``batch`` (None for layers without GEMMs).

    From the forward GEMM (M, K, N): weight gradient (N, M, K), input gradient (K, N, M), each
    ``groups`` times. The input gradient is counted even for a network's first layer.
    """
    fwd = gemm_shape(node, _batch(batch))
    if fwd is None:
        return None
    m, k, n, count = fwd.m, fwd.k, fwd.n, fwd.count
    return TrainingShapes(GemmShape(n, m, k, count), GemmShape(k, n, m, count))
