"""Lowered layer operators on NCHW arrays.

Convolution and linear layers run through their Gemms (``gemm.py``), pooling through the same
window view as im2col. Integer convolution/linear inputs give exact int64 outputs; the
transcendental operators (tanh, sigmoid, LRN, softmax) compute integer inputs in float64.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from accelsim.lowering import _args
from accelsim.lowering._args import Window, array, integer
from accelsim.lowering.gemm import gemms_to_nchw, lower_conv, lower_linear, lower_matmul
from accelsim.lowering.im2col import windows
from accelsim.workload.fold import fold_affine
from accelsim.workload.layers import adaptive_windows


def conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1) -> np.ndarray:
    """2-D cross-correlation of NCHW ``x`` with OIHW ``weight``, as frameworks define conv2d.

    Computed as filters (N x K) @ im2col (K x M), i.e. the transposed product ``a @ b`` of each
    group's Gemm, then reshaped to NCHW.
    """
    gemms, w = lower_conv("conv2d", x, weight, stride, padding, dilation, groups)
    b = _args.bias("conv2d", bias, np.shape(weight)[0])
    return gemms_to_nchw([g.compute() for g in gemms], np.shape(x)[0], w.out, b)


def linear(x, weight, bias=None) -> np.ndarray:
    """``x @ weight.T + bias`` for (N, F), flattened (N, F, 1, 1) or per-token (N, T, F) ``x``;
    the output has x's rank."""
    gemm = lower_linear("linear", x, weight)
    b = _args.bias("linear", bias, gemm.shape[2])
    y = gemm.compute() if b is None else gemm.compute() + b
    if np.ndim(x) == 3:
        return y.reshape(*np.shape(x)[:2], -1)
    return y.reshape(*y.shape, 1, 1) if np.ndim(x) == 4 else y


def matmul(a, b) -> np.ndarray:
    """``a @ b`` of two activations (..., M, K) and (..., K, N), one Gemm per leading index
    (``gemm.lower_matmul``); integer operands accumulate exactly in int64."""
    gemms = lower_matmul("matmul", a, b)
    return np.stack([g.compute() for g in gemms]).reshape(*np.shape(a)[:-1], np.shape(b)[-1])


def _pool_view(where: str, x, kernel_size, stride, padding, ceil_mode: bool, fill) -> tuple[np.ndarray, Window]:
    """The (N, C, OH, OW, kh, kw) windows of a pooling, ``fill`` in the padding (and in the extra
    bottom/right rows ``ceil_mode`` adds)."""
    x, w, (eh, ew) = _args.pool_args(where, x, kernel_size, stride, padding, ceil_mode)
    if eh or ew:
        x = np.pad(x, ((0, 0), (0, 0), (0, eh), (0, ew)), constant_values=fill)
    return windows(x, w, fill=fill)[:, :, :w.out[0], :w.out[1]], w


def max_pool2d(x, kernel_size, stride=None, padding=0, ceil_mode: bool = False) -> np.ndarray:
    """Max pooling (stride defaults to the kernel); padded positions never win.

    ``ceil_mode`` rounds the output size up (``_args.pool_out``), the last window partly outside.
    """
    x = np.asarray(x)
    low = np.iinfo(x.dtype).min if np.issubdtype(x.dtype, np.integer) else -np.inf
    win, _ = _pool_view("max_pool2d", x, kernel_size, stride, padding, ceil_mode, low)
    return win.max(axis=(-2, -1))


def _pool_divisor(hw: tuple[int, int], w: Window, ceil_mode: bool, count_include_pad: bool) -> np.ndarray:
    """Per output position, PyTorch's avg_pool2d divisor: the window's positions inside the padded
    input (``count_include_pad``) or inside the input only; positions past the padding (the extra
    rows of ``ceil_mode``) never count."""
    ones = np.ones((1, 1, *hw), dtype=np.int64)
    (ph, pw) = w.padding
    if count_include_pad:
        ones = np.pad(ones, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=1)
    else:
        ones = np.pad(ones, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    nopad = Window(w.kernel, w.stride, (0, 0), w.dilation, w.out)
    span = [(o - 1) * s + k for o, s, k in zip(w.out, w.stride, w.kernel, strict=True)]
    extra = [max(0, sp - n) for sp, n in zip(span, ones.shape[2:], strict=True)]
    ones = np.pad(ones, ((0, 0), (0, 0), (0, extra[0]), (0, extra[1])))
    return windows(ones, nopad)[0, 0, :w.out[0], :w.out[1]].sum(axis=(-2, -1))


def avg_pool2d(x, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
               count_include_pad: bool = True) -> np.ndarray:
    """Average pooling; padded zeros count in the divisor unless ``count_include_pad`` is false
    (PyTorch's rule, ``_pool_divisor``). Integer input gives the exact float64 ``sum / divisor``."""
    x = np.asarray(x)
    win, w = _pool_view("avg_pool2d", x, kernel_size, stride, padding, ceil_mode, 0)
    if not isinstance(count_include_pad, (bool, np.bool_)):
        raise _args.fail("avg_pool2d", "count_include_pad", f"expected true or false, got {count_include_pad!r}")
    total = win.sum(axis=(-2, -1), dtype=np.int64 if np.issubdtype(x.dtype, np.integer) else None)
    if count_include_pad and not ceil_mode:
        return total / (w.kernel[0] * w.kernel[1])
    return total / _pool_divisor(x.shape[2:], w, ceil_mode, count_include_pad)


def global_avg_pool2d(x) -> np.ndarray:
    """Mean over H and W, keeping them as 1 x 1 (integer input: exact float64 ``sum / (H*W)``)."""
    x = array("global_avg_pool2d", "x", x, 4, "NCHW")
    if np.issubdtype(x.dtype, np.integer):
        return x.sum(axis=(2, 3), keepdims=True, dtype=np.int64) / (x.shape[2] * x.shape[3])
    return x.mean(axis=(2, 3), keepdims=True)


adaptive_bounds = adaptive_windows  # PyTorch's windows along one axis, the rule the profile counts with


def adaptive_avg_pool2d(x, output_size) -> np.ndarray:
    """Adaptive average pooling to ``output_size`` (int or (oh, ow)) by ``adaptive_bounds``;
    integer input gives the exact float64 ``sum / count``."""
    x = array("adaptive_avg_pool2d", "x", x, 4, "NCHW")
    oh, ow = _args.pair("adaptive_avg_pool2d", "output_size", output_size, 1)
    integral = np.issubdtype(x.dtype, np.integer)
    out = np.empty((*x.shape[:2], oh, ow), dtype=np.float64 if integral else x.dtype)
    for i, (h0, h1) in enumerate(adaptive_bounds(x.shape[2], oh)):
        for j, (w0, w1) in enumerate(adaptive_bounds(x.shape[3], ow)):
            win = x[:, :, h0:h1, w0:w1]
            out[:, :, i, j] = (win.sum(axis=(2, 3), dtype=np.int64) / win[0, 0].size if integral
                               else win.mean(axis=(2, 3)))
    return out


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


def _same_shapes(where: str, xs) -> list[np.ndarray]:
    xs = [np.asarray(x) for x in xs]
    if not xs:
        raise _args.fail(where, "inputs", "expected at least one array")
    for i, x in enumerate(xs[1:], 1):
        if x.shape != xs[0].shape:
            raise _args.fail(where, f"inputs[{i}]", f"shape {x.shape} differs from inputs[0] {xs[0].shape}")
    return xs


def add(*inputs) -> np.ndarray:
    """Elementwise sum of n arrays of one shape, left to right (integers exactly, in int64)."""
    xs = _same_shapes("add", inputs)
    integral = all(np.issubdtype(x.dtype, np.integer) for x in xs)
    out = xs[0].astype(np.int64 if integral else np.result_type(*xs))
    for x in xs[1:]:
        out = out + x
    return out


def concat(*inputs, axis: int = 1) -> np.ndarray:
    """Concatenation along ``axis`` (1: the channel axis of NCHW, the token axis of (N, T, F)); the
    other axes must agree."""
    xs = [np.asarray(x) for x in inputs]
    if not xs:
        raise _args.fail("concat", "inputs", "expected at least one array")
    for i, x in enumerate(xs[1:], 1):
        a, b = list(x.shape), list(xs[0].shape)
        if x.ndim != xs[0].ndim or a[:axis] + a[axis + 1:] != b[:axis] + b[axis + 1:]:
            raise _args.fail("concat", f"inputs[{i}]", f"shape {x.shape} does not match inputs[0] {xs[0].shape} "
                             f"outside axis {axis}")
    return np.concatenate(xs, axis=axis)


def _channel(where: str, name: str, v, c: int) -> np.ndarray:
    v = array(where, name, v, 1, "(C,)")
    if v.shape[0] != c:
        raise _args.fail(where, name, f"has {v.shape[0]} entries for {c} channels")
    return v


def batchnorm2d(x, weight, bias, running_mean, running_var, eps: float = 1e-5) -> np.ndarray:
    """Inference batch norm of NCHW ``x``: ``(x - mean) / sqrt(var + eps) * weight + bias`` per channel."""
    where = "batchnorm2d"
    x = _real(array(where, "x", x, 4, "NCHW"))
    c = x.shape[1]
    w, b, m, v = (_channel(where, n, a, c).reshape(1, c, 1, 1) for n, a in
                  (("weight", weight), ("bias", bias), ("running_mean", running_mean), ("running_var", running_var)))
    return ((x - m) / np.sqrt(v + np.asarray(eps, dtype=x.dtype)) * w + b).astype(x.dtype, copy=False)


def fold_batchnorm(weight, bias, bn_weight, bn_bias, running_mean, running_var,
                   eps: float = 1e-5) -> tuple[np.ndarray, np.ndarray]:
    """A conv's OIHW (or linear's (out, in)) ``weight`` and ``bias`` (None: zero) with the batch
    norm that follows folded in: ``w' = w * g``, ``b' = (b - mean) * g + beta``,
    ``g = bn_weight / sqrt(var + eps)`` per output channel, computed in float64."""
    o = np.shape(weight)[0]

    def channel(name: str, v) -> np.ndarray:
        return _channel("fold_batchnorm", name, v, o)

    return fold_affine(weight, None if bias is None else channel("bias", bias), channel("bn_weight", bn_weight),
                       channel("bn_bias", bn_bias), channel("running_mean", running_mean),
                       channel("running_var", running_var), eps)


def clip(x, min_value: float | None = None, max_value: float | None = None) -> np.ndarray:
    """``min(max(x, min_value), max_value)`` (a missing bound does not clip); keeps the dtype."""
    x = np.asarray(x)
    lo = -np.inf if min_value is None else min_value
    hi = np.inf if max_value is None else max_value
    if lo > hi:
        raise _args.fail("clip", "min_value", f"{lo} is greater than max_value {hi}")
    return np.clip(x, lo, hi).astype(x.dtype, copy=False)


def relu6(x) -> np.ndarray:
    """``clip(x, 0, 6)``: MobileNet's activation."""
    return clip(x, 0, 6)


def hardswish(x) -> np.ndarray:
    """``x * relu6(x + 3) / 6`` (PyTorch's Hardswish; integer input computed in float64)."""
    x = _real(x)
    return x * np.clip(x + 3, 0, 6) / 6


_ERF = np.frompyfunc(math.erf, 1, 1)


def gelu(x, approximate: str = "none") -> np.ndarray:
    """Exact GELU, ``x/2 * (1 + erf(x/sqrt(2)))`` (PyTorch's default, ONNX Gelu), with libm's erf;
    ``approximate="tanh"``: ``x/2 * (1 + tanh(sqrt(2/pi) * (x + 0.044715 x^3)))``."""
    x = _real(x)
    v = np.asarray(x, dtype=np.float64)
    if approximate == "tanh":
        e = np.tanh(math.sqrt(2 / math.pi) * (v + 0.044715 * v ** 3))
    elif approximate == "none":
        e = np.asarray(_ERF(v / math.sqrt(2)), dtype=np.float64)
    else:
        raise _args.fail("gelu", "approximate", f"expected 'none' or 'tanh', got {approximate!r}")
    return (0.5 * x * (1 + e)).astype(x.dtype, copy=False)


def dropout(x) -> np.ndarray:
    """Identity: dropout at inference."""
    return np.asarray(x)


def layernorm(x, weight=None, bias=None, eps: float = 1e-5) -> np.ndarray:
    """Layer norm over the last axis: ``(x - mean) / sqrt(var + eps) * weight + bias``, biased variance."""
    x = _real(np.asarray(x))
    f = x.shape[-1]
    mean = x.mean(axis=-1, keepdims=True)
    d = x - mean
    y = d / np.sqrt((d * d).mean(axis=-1, keepdims=True) + np.asarray(eps, dtype=x.dtype))
    if weight is not None:
        y = y * _channel("layernorm", "weight", weight, f)
    if bias is not None:
        y = y + _channel("layernorm", "bias", bias, f)
    return y.astype(x.dtype, copy=False)
