"""Golden reference: the textbook nested loops, independent of im2col and of any GEMM.

Everything here is written from the definitions, one output element at a time, over plain
Python lists: integer inputs accumulate in Python ints (exact, no overflow) and come back as
int64; float inputs accumulate in Python floats (float64). Slow on purpose, for small tensors.

- ``conv2d``: cross-correlation as deep-learning frameworks compute it,
  ``y[n,o,r,c] = b[o] + sum_{ci,i,j} x[n, g*Cg+ci, r*sh-ph+i*dh, c*sw-pw+j*dw] * w[o,ci,i,j]``.
- ``convolve2d`` / ``convolve1d``: true convolution ``y[n] = sum_k x[k] h[n-k]`` (the kernel
  flipped), as the lectures distinguish it from cross-correlation.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from accelsim.lowering import _args
from accelsim.lowering._args import array, fail

_MODES = ("full", "same", "valid")


def _result(values, *inputs: np.ndarray) -> np.ndarray:
    return np.array(values, dtype=np.int64 if _args.is_integer(*inputs) else np.float64)


def conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1) -> np.ndarray:
    """Direct-loop conv2d of NCHW ``x`` with OIHW ``weight`` (same arguments as the lowered one)."""
    where = "golden.conv2d"
    x = array(where, "x", x, 4, "NCHW")
    weight = array(where, "weight", weight, 4, "OIHW")
    w, g = _args.conv_args(where, x, weight, stride, padding, dilation, groups)
    b = _args.bias(where, bias, weight.shape[0])
    batch, _, height, width = x.shape
    filters, cg, kh, kw = weight.shape
    og = filters // g
    (sh, sw), (ph, pw), (dh, dw), (oh, ow) = w.stride, w.padding, w.dilation, w.out
    xs, ws = x.tolist(), weight.tolist()
    bs = [0] * filters if b is None else b.tolist()
    out = [[[[0] * ow for _ in range(oh)] for _ in range(filters)] for _ in range(batch)]
    for n in range(batch):
        for r in range(oh):
            for c in range(ow):
                for o in range(filters):
                    first = (o // og) * cg
                    acc = bs[o]
                    for ci in range(cg):
                        plane, kernel = xs[n][first + ci], ws[o][ci]
                        for i in range(kh):
                            ih = r * sh - ph + i * dh
                            if not 0 <= ih < height:
                                continue
                            for j in range(kw):
                                iw = c * sw - pw + j * dw
                                if 0 <= iw < width:
                                    acc += plane[ih][iw] * kernel[i][j]
                    out[n][o][r][c] = acc
    return _result(out, x, weight, *(() if b is None else (b,)))


def correlate2d(x, kernel, stride=1, padding=0) -> np.ndarray:
    """Cross-correlation of one 2-D plane with one 2-D kernel."""
    x = array("golden.correlate2d", "x", x, 2, "H x W")
    kernel = array("golden.correlate2d", "kernel", kernel, 2, "kh x kw")
    return conv2d(x[None, None], kernel[None, None], stride=stride, padding=padding)[0, 0]


def convolve2d(x, h, mode: str = "full") -> np.ndarray:
    """True 2-D convolution ``y[r,c] = sum_{i,j} x[i,j] h[r-i, c-j]``.

    ``mode``: "full" (every overlap, (H+kh-1) x (W+kw-1)), "same" (H x W, centred on kernel
    element (kh//2, kw//2) like the lectures' C code) or "valid" (the kernel inside x).
    """
    where = "golden.convolve2d"
    x = array(where, "x", x, 2, "H x W")
    h = array(where, "h", h, 2, "kh x kw")
    if mode not in _MODES:
        raise fail(where, "mode", f"expected one of {', '.join(_MODES)}, got {mode!r}")
    (height, width), (kh, kw) = x.shape, h.shape
    if mode == "valid" and (kh > height or kw > width):
        raise fail(where, "h", f"kernel {h.shape} is larger than the input {x.shape} in valid mode")
    xs, hs = x.tolist(), h.tolist()
    full = [[0] * (width + kw - 1) for _ in range(height + kh - 1)]
    for r in range(height + kh - 1):
        for c in range(width + kw - 1):
            acc = 0
            for i in range(height):
                for j in range(width):
                    if 0 <= r - i < kh and 0 <= c - j < kw:
                        acc += xs[i][j] * hs[r - i][c - j]
            full[r][c] = acc
    y = _result(full, x, h)
    if mode == "same":
        return y[kh // 2:kh // 2 + height, kw // 2:kw // 2 + width]
    if mode == "valid":
        return y[kh - 1:height, kw - 1:width]
    return y


def convolve1d(x, h) -> np.ndarray:
    """Full 1-D convolution ``y[n] = sum_k x[k] h[n-k]``, length len(x) + len(h) - 1."""
    x = array("golden.convolve1d", "x", x, 1, "vector")
    h = array("golden.convolve1d", "h", h, 1, "vector")
    xs, hs = x.tolist(), h.tolist()
    y = []
    for n in range(len(xs) + len(hs) - 1):
        acc = 0
        for k in range(len(xs)):
            if 0 <= n - k < len(hs):
                acc += xs[k] * hs[n - k]
        y.append(acc)
    return _result(y, x, h)


def correlate1d(x, h, padding: int = 0) -> np.ndarray:
    """1-D cross-correlation (sliding dot product) of ``x`` zero padded by ``padding`` on each side."""
    x = array("golden.correlate1d", "x", x, 1, "vector")
    h = array("golden.correlate1d", "h", h, 1, "vector")
    p = _args.integer("golden.correlate1d", "padding", padding, 0)
    xs = [0] * p + x.tolist() + [0] * p
    hs = h.tolist()
    if len(hs) > len(xs):
        raise fail("golden.correlate1d", "h", f"has {len(hs)} taps, more than the padded input {len(xs)}")
    return _result([sum(xs[i + j] * hs[j] for j in range(len(hs))) for i in range(len(xs) - len(hs) + 1)], x, h)


def linear(x, weight, bias=None) -> np.ndarray:
    """Direct-loop ``y[n,o] = b[o] + sum_f x[n,f] w[o,f]`` for (N, F), (N, F, 1, 1) or per-token (N, T, F) ``x``."""
    where = "golden.linear"
    x = np.asarray(x)
    flat = array(where, "x", x.reshape(x.shape[:2]) if x.ndim == 4 else x.reshape(-1, x.shape[-1]), 2, "(N, F)")
    weight = array(where, "weight", weight, 2, "(out_features, in_features)")
    if weight.shape[1] != flat.shape[1]:
        raise fail(where, "weight", f"has {weight.shape[1]} input features but x has {flat.shape[1]}")
    b = _args.bias(where, bias, weight.shape[0])
    xs, ws = flat.tolist(), weight.tolist()
    bs = [0] * weight.shape[0] if b is None else b.tolist()
    out = []
    for row in xs:
        out_row = []
        for o, wrow in enumerate(ws):
            acc = bs[o]
            for f in range(len(row)):
                acc += row[f] * wrow[f]
            out_row.append(acc)
        out.append(out_row)
    y = _result(out, flat, weight, *(() if b is None else (b,)))
    if x.ndim == 3:
        return y.reshape(*x.shape[:2], -1)
    return y.reshape(*y.shape, 1, 1) if x.ndim == 4 else y


def _pool(where: str, x, kernel_size, stride, padding, reduce, ceil_mode: bool = False,
          count_include_pad: bool = True) -> list:
    """Pool with PyTorch's loops (aten's pooling kernels): output size rounded down, or up with
    ``ceil_mode`` unless the last window would start past the input and its left padding;
    ``reduce(inside, divisor)`` gets the positions inside the input and the average's divisor."""
    x, w = _args.pool_window(where, x, kernel_size, stride, padding)
    (kh, kw), (sh, sw), (ph, pw) = w.kernel, w.stride, w.padding
    height, width = x.shape[2:]

    def size(n, k, s, p):
        if not ceil_mode:
            return (n + 2 * p - k) // s + 1
        o = math.ceil((n + 2 * p - k) / s) + 1
        return o - 1 if (o - 1) * s >= n + p else o

    oh, ow = size(height, kh, sh, ph), size(width, kw, sw, pw)
    out: list[list[Any]] = []
    for image in x.tolist():
        out.append([])
        for plane in image:
            rows = []
            for r in range(oh):
                row = []
                for c in range(ow):
                    h0, w0 = r * sh - ph, c * sw - pw
                    h1, w1 = min(h0 + kh, height + ph), min(w0 + kw, width + pw)
                    padded = (h1 - h0) * (w1 - w0)
                    inside = [plane[i][j] for i in range(max(h0, 0), min(h1, height))
                              for j in range(max(w0, 0), min(w1, width))]
                    row.append(reduce(inside, padded if count_include_pad else len(inside)))
                rows.append(row)
            out[-1].append(rows)
    return out


def max_pool2d(x, kernel_size, stride=None, padding=0, ceil_mode: bool = False) -> np.ndarray:
    """Direct-loop max pooling over the positions inside the input (padding never wins)."""
    return np.array(_pool("golden.max_pool2d", x, kernel_size, stride, padding, lambda v, _: max(v), ceil_mode),
                    dtype=np.asarray(x).dtype)


def avg_pool2d(x, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
               count_include_pad: bool = True) -> np.ndarray:
    """Direct-loop average pooling: sum of the inside positions / divisor (PyTorch's: the window
    clipped to the padded input, or to the input without ``count_include_pad``)."""
    return np.array(_pool("golden.avg_pool2d", x, kernel_size, stride, padding, lambda v, n: sum(v) / n,
                          ceil_mode, count_include_pad), dtype=np.float64)


def global_avg_pool2d(x) -> np.ndarray:
    """Direct-loop mean of each H x W plane, as (N, C, 1, 1)."""
    x = array("golden.global_avg_pool2d", "x", x, 4, "NCHW")
    out = [[[[sum(v for row in plane for v in row) / (x.shape[2] * x.shape[3])]] for plane in image]
           for image in x.tolist()]
    return np.array(out, dtype=np.float64)


def adaptive_avg_pool2d(x, output_size) -> np.ndarray:
    """Direct-loop adaptive average pooling, PyTorch's windows: rows
    ``floor(i*H/oh) .. ceil((i+1)*H/oh) - 1`` (columns likewise)."""
    x = array("golden.adaptive_avg_pool2d", "x", x, 4, "NCHW")
    oh, ow = _args.pair("golden.adaptive_avg_pool2d", "output_size", output_size, 1)
    height, width = x.shape[2:]
    out = []
    for image in x.tolist():
        planes = []
        for plane in image:
            rows = []
            for i in range(oh):
                h0, h1 = math.floor(i * height / oh), math.ceil((i + 1) * height / oh)
                row = []
                for j in range(ow):
                    w0, w1 = math.floor(j * width / ow), math.ceil((j + 1) * width / ow)
                    vals = [plane[r][c] for r in range(h0, h1) for c in range(w0, w1)]
                    row.append(sum(vals) / len(vals))
                rows.append(row)
            planes.append(rows)
        out.append(planes)
    return np.array(out, dtype=np.float64)


def _flat(x) -> tuple[np.ndarray, list]:
    x = np.asarray(x)
    return x, x.reshape(-1).tolist()


def add(*xs) -> np.ndarray:
    """Element by element sum of same-shape arrays."""
    arrays = [np.asarray(x) for x in xs]
    flats = [a.reshape(-1).tolist() for a in arrays]
    out = []
    for i in range(len(flats[0])):
        acc = 0
        for f in flats:
            acc += f[i]
        out.append(acc)
    return _result(out, *arrays).reshape(arrays[0].shape)


def concat(*xs) -> np.ndarray:
    """Channel concatenation of NCHW arrays, element by element."""
    arrays = [array("golden.concat", "x", x, 4, "NCHW") for x in xs]
    out = []
    for n in range(arrays[0].shape[0]):
        planes = []
        for a in arrays:
            planes.extend(a[n].tolist())
        out.append(planes)
    return np.array(out, dtype=np.result_type(*arrays))


def batchnorm2d(x, weight, bias, running_mean, running_var, eps: float = 1e-5) -> np.ndarray:
    """Per element ``(x - mean[c]) / sqrt(var[c] + eps) * weight[c] + bias[c]`` in float64."""
    x = array("golden.batchnorm2d", "x", x, 4, "NCHW")
    w, b, m, v = (np.asarray(a, dtype=np.float64).tolist() for a in (weight, bias, running_mean, running_var))
    out = [[[[(e - m[c]) / math.sqrt(v[c] + eps) * w[c] + b[c] for e in row] for row in plane]
            for c, plane in enumerate(image)] for image in x.tolist()]
    return np.array(out, dtype=np.float64)


def _pointwise(x, fn) -> np.ndarray:
    x, flat = _flat(x)
    return np.array([fn(float(v)) for v in flat], dtype=np.float64).reshape(x.shape)


def clip(x, min_value=None, max_value=None) -> np.ndarray:
    """Per element ``min(max(v, lo), hi)``."""
    lo = -math.inf if min_value is None else min_value
    hi = math.inf if max_value is None else max_value
    return _pointwise(x, lambda v: min(max(v, lo), hi))


def hardswish(x) -> np.ndarray:
    """Per element ``v * min(max(v + 3, 0), 6) / 6``."""
    return _pointwise(x, lambda v: v * min(max(v + 3, 0), 6) / 6)


def gelu(x) -> np.ndarray:
    """Per element ``v * Phi(v)``, Phi the standard normal CDF written as ``erfc(-v/sqrt 2)/2``."""
    return _pointwise(x, lambda v: v * math.erfc(-v / math.sqrt(2)) / 2)


def layernorm(x, weight=None, bias=None, eps: float = 1e-5) -> np.ndarray:
    """Row by row over the last axis: two-pass mean and biased variance, then the affine."""
    x = np.asarray(x)
    f = x.shape[-1]
    w = [1.0] * f if weight is None else np.asarray(weight, dtype=np.float64).tolist()
    b = [0.0] * f if bias is None else np.asarray(bias, dtype=np.float64).tolist()
    out = []
    for row in x.reshape(-1, f).tolist():
        mean = sum(row) / f
        var = sum((v - mean) ** 2 for v in row) / f
        out.append([(v - mean) / math.sqrt(var + eps) * w[i] + b[i] for i, v in enumerate(row)])
    return np.array(out, dtype=np.float64).reshape(x.shape)


def matmul(a, b) -> np.ndarray:
    """Direct-loop ``c[..., i, j] = sum_k a[..., i, k] b[..., k, j]`` over the shared leading axes."""
    a, b = np.asarray(a), np.asarray(b)
    m, k, n = a.shape[-2], a.shape[-1], b.shape[-1]
    out = []
    for ma, mb in zip(a.reshape(-1, m, k).tolist(), b.reshape(-1, k, n).tolist(), strict=True):
        out.append([[sum(ma[i][t] * mb[t][j] for t in range(k)) for j in range(n)] for i in range(m)])
    return _result(out, a, b).reshape(*a.shape[:-1], n)
