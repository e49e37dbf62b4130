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
    """Direct-loop ``y[n,o] = b[o] + sum_f x[n,f] w[o,f]`` for (N, F) or (N, F, 1, 1) ``x``."""
    where = "golden.linear"
    x = np.asarray(x)
    flat = array(where, "x", x.reshape(x.shape[:2]) if x.ndim == 4 else x, 2, "(N, F)")
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
    return y.reshape(*y.shape, 1, 1) if x.ndim == 4 else y


def _pool(where: str, x, kernel_size, stride, padding, reduce) -> list:
    x, w = _args.pool_window(where, x, kernel_size, stride, padding)
    (kh, kw), (sh, sw), (ph, pw), (oh, ow) = w.kernel, w.stride, w.padding, w.out
    height, width = x.shape[2:]
    out: list[list[Any]] = []
    for image in x.tolist():
        out.append([])
        for plane in image:
            rows = []
            for r in range(oh):
                row = []
                for c in range(ow):
                    inside = [plane[r * sh - ph + i][c * sw - pw + j]
                              for i in range(kh) for j in range(kw)
                              if 0 <= r * sh - ph + i < height and 0 <= c * sw - pw + j < width]
                    row.append(reduce(inside, kh * kw))
                rows.append(row)
            out[-1].append(rows)
    return out


def max_pool2d(x, kernel_size, stride=None, padding=0) -> np.ndarray:
    """Direct-loop max pooling over the positions inside the input (padding never wins)."""
    return np.array(_pool("golden.max_pool2d", x, kernel_size, stride, padding, lambda v, _: max(v)),
                    dtype=np.asarray(x).dtype)


def avg_pool2d(x, kernel_size, stride=None, padding=0) -> np.ndarray:
    """Direct-loop average pooling: sum of the inside positions / (kh*kw) (padding counts as zero)."""
    return np.array(_pool("golden.avg_pool2d", x, kernel_size, stride, padding, lambda v, n: sum(v) / n),
                    dtype=np.float64)
