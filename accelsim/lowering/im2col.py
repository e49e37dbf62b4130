"""Window extraction, im2col and its adjoint col2im.

One strided view of the padded input (``windows``) feeds im2col and both poolings, so the
convolution, the hardware GEMM operands and pooling all see the same patches. The patch matrix
is K x M: row ``c*kh*kw + i*kw + j`` holds channel c at kernel offset (i, j); column
``(n*OH + oh)*OW + ow`` is output pixel (oh, ow) of image n.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from accelsim.lowering._args import Window, accumulator, array, fail, integer, window


def windows(x: np.ndarray, w: Window, fill=0) -> np.ndarray:
    """Read-only (N, C, OH, OW, kh, kw) view of the windows of NCHW ``x`` padded with ``fill``."""
    (ph, pw), (sh, sw), (dh, dw) = w.padding, w.stride, w.dilation
    if ph or pw:
        x = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=fill)
    view = sliding_window_view(x, w.span, axis=(2, 3))
    return view[:, :, ::sh, ::sw, ::dh, ::dw]


def patches(x: np.ndarray, w: Window) -> np.ndarray:
    """im2col of NCHW ``x`` under an already validated window."""
    n, c = x.shape[:2]
    kh, kw = w.kernel
    return windows(x, w).transpose(1, 4, 5, 0, 2, 3).reshape(c * kh * kw, n * w.out[0] * w.out[1])


def im2col(x, kernel_size, stride=1, padding=0, dilation=1) -> np.ndarray:
    """The K x M patch matrix of NCHW ``x`` (K = C*kh*kw, M = N*OH*OW), zero padded, same dtype."""
    x = array("im2col", "x", x, 4, "NCHW")
    return patches(x, window("im2col", x.shape[2:], kernel_size, stride, padding, dilation))


def col2im(cols, input_shape, kernel_size, stride=1, padding=0, dilation=1) -> np.ndarray:
    """Adjoint of im2col: scatter-add the K x M columns back into an NCHW array of ``input_shape``.

    Entries from overlapping patches sum, and those landing in the padding are dropped, so
    ``<im2col(x), y> == <x, col2im(y)>``. This is the last step of the input-gradient GEMM.
    """
    where = "col2im"
    if not isinstance(input_shape, (tuple, list)) or len(input_shape) != 4:
        raise fail(where, "input_shape", f"expected (N, C, H, W), got {input_shape!r}")
    n, c, h, wd = (integer(where, "input_shape", v, 1) for v in input_shape)
    w = window(where, (h, wd), kernel_size, stride, padding, dilation)
    (kh, kw), (oh, ow) = w.kernel, w.out
    cols = array(where, "cols", cols, 2, "K x M")
    if cols.shape != (c * kh * kw, n * oh * ow):
        raise fail(where, "cols", f"expected shape {(c * kh * kw, n * oh * ow)} for input {tuple(input_shape)}, "
                   f"got {cols.shape}")
    (ph, pw), (sh, sw), (dh, dw) = w.padding, w.stride, w.dilation
    patches = cols.reshape(c, kh, kw, n, oh, ow).transpose(3, 0, 1, 2, 4, 5)
    out = np.zeros((n, c, h + 2 * ph, wd + 2 * pw), dtype=accumulator(cols.dtype))
    for i in range(kh):
        for j in range(kw):
            r, s = i * dh, j * dw
            out[:, :, r:r + sh * (oh - 1) + 1:sh, s:s + sw * (ow - 1) + 1:sw] += patches[:, :, i, j]
    return np.ascontiguousarray(out[:, :, ph:ph + h, pw:pw + wd])
