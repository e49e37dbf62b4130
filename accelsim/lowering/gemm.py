"""GEMM operands of the lowered layers: what the systolic array is asked to multiply.

A convolution with ``groups`` g becomes g independent GEMMs ``C = A @ B`` with

- ``A`` (M x K) = the group's rows of im2col, transposed: the ifmap operand, M = N*OH*OW,
- ``B`` (K x N) = the group's filters, flattened OIHW and transposed: K = (C/g)*kh*kw, N = O/g,
- ``C`` (M x N): row ``(n*OH + oh)*OW + ow``, column = output channel within the group.

A linear layer is the 1x1 case: A = the batch of input vectors (M = batch), B = W^T.
``gemms_to_nchw`` concatenates the groups' C (plus bias) back into an NCHW tensor.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from accelsim.lowering._args import Window, accumulator, array, conv_args, fail
from accelsim.lowering.im2col import patches
from accelsim.workload.gemm import GemmShape, gemm_shape  # noqa: F401  (re-exported)


@dataclass(frozen=True, eq=False)
class Gemm:
    """One matrix product ``C = a @ b``: ``a`` is M x K (ifmap), ``b`` is K x N (filters).

    The operands are views into the patch matrix and the weights (not necessarily C-contiguous).
    """

    a: np.ndarray
    b: np.ndarray

    def __post_init__(self):
        if self.a.ndim != 2 or self.b.ndim != 2 or self.a.shape[1] != self.b.shape[0]:
            raise ValueError(f"Gemm: a {self.a.shape} and b {self.b.shape} are not M x K and K x N")

    @property
    def shape(self) -> tuple[int, int, int]:
        """(M, K, N)."""
        return self.a.shape[0], self.a.shape[1], self.b.shape[1]

    @property
    def macs(self) -> int:
        m, k, n = self.shape
        return m * k * n

    def compute(self) -> np.ndarray:
        """``a @ b``; integer operands accumulate exactly in int64 (never through float)."""
        dtype = accumulator(self.a.dtype, self.b.dtype)
        if dtype.kind == "i":
            a = np.ascontiguousarray(self.a, dtype=dtype)
            bt = np.ascontiguousarray(self.b.T, dtype=dtype)
            return np.einsum("mk,nk->mn", a, bt)
        return np.matmul(self.a, self.b, dtype=dtype)


def lower_conv(where: str, x, weight, stride, padding, dilation, groups) -> tuple[tuple[Gemm, ...], Window]:
    """Validate a convolution and lower it: its per-group Gemms and its window (output size)."""
    x = array(where, "x", x, 4, "NCHW")
    weight = array(where, "weight", weight, 4, "OIHW")
    w, g = conv_args(where, x, weight, stride, padding, dilation, groups)
    return patch_gemms(patches(x, w), weight, g), w


def patch_gemms(cols: np.ndarray, weight: np.ndarray, groups: int) -> tuple[Gemm, ...]:
    """Split a K x M patch matrix and OIHW filters into one Gemm per group."""
    o = weight.shape[0]
    kg, og = cols.shape[0] // groups, o // groups
    filters = weight.reshape(o, -1)
    return tuple(
        Gemm(cols[g * kg:(g + 1) * kg].T, filters[g * og:(g + 1) * og].T) for g in range(groups)
    )


def conv_gemms(x, weight, stride=1, padding=0, dilation=1, groups=1) -> tuple[Gemm, ...]:
    """The per-group Gemms of ``conv2d(x, weight, ...)`` (NCHW x, OIHW weight)."""
    return lower_conv("conv_gemms", x, weight, stride, padding, dilation, groups)[0]


def gemms_to_nchw(results, batch: int, out_hw: tuple[int, int], bias=None) -> np.ndarray:
    """Per-group M x N results (+ per-channel ``bias``) as an NCHW tensor (N=batch, H, W = out_hw)."""
    c = np.concatenate(results, axis=1) if len(results) > 1 else results[0]
    oh, ow = out_hw
    if c.shape[0] != batch * oh * ow:
        raise fail("gemms_to_nchw", "results", f"have {c.shape[0]} rows, expected batch*OH*OW = {batch * oh * ow}")
    y = c.reshape(batch, oh, ow, c.shape[1]).transpose(0, 3, 1, 2)
    if bias is not None:
        y = y + np.asarray(bias).reshape(1, -1, 1, 1)
    return np.ascontiguousarray(y)


def linear_gemm(x, weight) -> Gemm:
    """The Gemm of ``linear(x, weight)``: a = x as batch x in_features, b = weight^T."""
    return lower_linear("linear_gemm", x, weight)


def lower_linear(where: str, x, weight) -> Gemm:
    """Validate a linear layer's operands and lower it to a Gemm: ``x`` is (N, F), flattened
    (N, F, 1, 1), or per token (N, T, F), where a = x as (N*T) x F (M = batch x T), b = weight^T."""
    x = np.asarray(x)
    if x.ndim == 4 and x.shape[2:] != (1, 1):
        raise fail(where, "x", f"expected (N, F) or (N, F, 1, 1) (per token: (N, T, F)), got shape {x.shape}: "
                   "flatten it first")
    if x.ndim == 4:
        x = x.reshape(x.shape[:2])
    elif x.ndim == 3:
        x = array(where, "x", x, 3, "(N, T, F)").reshape(-1, x.shape[2])
    x = array(where, "x", x, 2, "(N, F)")
    weight = array(where, "weight", weight, 2, "(out_features, in_features)")
    if weight.shape[1] != x.shape[1]:
        raise fail(where, "weight", f"has {weight.shape[1]} input features but x has {x.shape[1]}")
    return Gemm(x, weight.T)


def lower_matmul(where: str, a, b) -> tuple[Gemm, ...]:
    """Validate a product of two activations and lower it: ``a`` (..., M, K) and ``b`` (..., K, N)
    with the same leading axes (batch, heads) give one Gemm per leading index, in C order: the
    per-head QK^T and AV of attention."""
    a, b = np.asarray(a), np.asarray(b)
    if a.ndim < 2 or a.ndim != b.ndim:
        raise fail(where, "b", f"expected two arrays of the same rank >= 2, got shapes {a.shape} and {b.shape}")
    a = array(where, "a", a, a.ndim, "(..., M, K)")
    b = array(where, "b", b, b.ndim, "(..., K, N)")
    if a.shape[:-2] != b.shape[:-2] or a.shape[-1] != b.shape[-2]:
        raise fail(where, "b", f"shape {b.shape} does not multiply a {a.shape} (expected (..., {a.shape[-1]}, N) "
                   f"with leading axes {a.shape[:-2]})")
    a2 = a.reshape(-1, *a.shape[-2:])
    b2 = b.reshape(-1, *b.shape[-2:])
    return tuple(Gemm(ai, bi) for ai, bi in zip(a2, b2, strict=True))
