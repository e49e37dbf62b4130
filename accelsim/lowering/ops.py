"""Lowered layer operators on NCHW arrays.

Convolution and linear layers run through their Gemms (``gemm.py``), pooling through the same
window view as im2col. Integer convolution/linear inputs give exact int64 outputs; the
transcendental operators (tanh, sigmoid, LRN, softmax) compute integer inputs in float64.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from accelsim.lowering import _args
from accelsim.lowering._args import array, integer
from accelsim.lowering.gemm import gemms_to_nchw, lower_conv, lower_linear
from accelsim.lowering.im2col import windows


def conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1) -> np.ndarray:
    """2-D cross-correlation of NCHW ``x`` with OIHW ``weight``, as frameworks define conv2d.

    Computed as filters (N x K) @ im2col (K x M), i.e. the transposed product ``a @ b`` of each
    group's Gemm, then reshaped to NCHW.
    """
    gemms, w = lower_conv("conv2d", x, weight, stride, padding, dilation, groups)
    b = _args.bias("conv2d", bias, np.shape(weight)[0])
    return gemms_to_nchw([g.compute() for g in gemms], np.shape(x)[0], w.out, b)


def linear(x, weight, bias=None) -> np.ndarray:
    """``x @ weight.T + bias`` for (N, F) or flattened (N, F, 1, 1) ``x``; output has x's rank."""
    gemm = lower_linear("linear", x, weight)
    b = _args.bias("linear", bias, gemm.shape[2])
    y = gemm.compute() if b is None else gemm.compute() + b
    return y.reshape(*y.shape, 1, 1) if np.ndim(x) == 4 else y


def max_pool2d(x, kernel_size, stride=None, padding=0) -> np.ndarray:
    """Max pooling (stride defaults to the kernel); padded positions never win."""
    x, w = _args.pool_window("max_pool2d", x, kernel_size, stride, padding)
    low = np.iinfo(x.dtype).min if np.issubdtype(x.dtype, np.integer) else -np.inf
    return windows(x, w, fill=low).max(axis=(-2, -1))


def avg_pool2d(x, kernel_size, stride=None, padding=0) -> np.ndarray:
    """Average pooling; padded zeros count in the divisor. Integer input gives the exact float64 mean."""
    x, w = _args.pool_window("avg_pool2d", x, kernel_size, stride, padding)
    win = windows(x, w)
    if np.issubdtype(x.dtype, np.integer):
        return win.sum(axis=(-2, -1), dtype=np.int64) / (w.kernel[0] * w.kernel[1])
    return win.mean(axis=(-2, -1))


def _real(x) -> np.ndarray:
    x = np.asarray(x)
    return x.astype(np.float64) if not np.issubdtype(x.dtype, np.floating) else x


def relu(x) -> np.ndarray:
    """max(x, 0), keeping the dtype (exact on integers)."""
    return np.maximum(x, 0)


def tanh(x) -> np.ndarray:
    """Hyperbolic tangent (integer input computed in float64)."""
    return np.tanh(_real(x))


def sigmoid(x) -> np.ndarray:
    """1 / (1 + e^-x), evaluated without overflow for large |x|."""
    x = _real(x)
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e))


def local_response_norm(x, size: int = 5, alpha: float = 1e-4, beta: float = 0.75, k: float = 2.0) -> np.ndarray:
    """Cross-channel LRN with PyTorch semantics (defaults: AlexNet's).

    ``b_c = a_c / (k + alpha/size * sum(a_j^2))^beta`` over channels
    ``j = c - size//2 .. c + (size-1)//2`` that exist (missing ones count as zero).
    """
    x = _real(array("local_response_norm", "x", x, 4, "NCHW"))
    size = integer("local_response_norm", "size", size, 1)
    sq = np.pad(np.square(x), ((0, 0), (size // 2, (size - 1) // 2), (0, 0), (0, 0)))
    s = sliding_window_view(sq, size, axis=1).sum(axis=-1)
    return x / (k + alpha / size * s) ** beta


def flatten(x) -> np.ndarray:
    """(N, C, H, W) -> (N, C*H*W, 1, 1), channel-major like torch.flatten."""
    x = np.asarray(x)
    return x.reshape(x.shape[0], -1, 1, 1)


def softmax(x, axis: int = 1) -> np.ndarray:
    """Numerically stable softmax over ``axis`` (the channel/feature axis of NCHW by default)."""
    x = _real(x)
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)
