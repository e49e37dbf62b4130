"""Argument checks shared by the lowering and the golden loops.

Every failure is an AccelsimError of one line, ``"<function>: <argument>: <problem>"``, so a bad
call names the argument to fix. The output-size rule is the workload's own ``window_out``.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass

import numpy as np

from accelsim.errors import AccelsimError
from accelsim.workload.layers import LayerError, window_out

Pair = tuple[int, int]


def fail(where: str, name: str, problem: str) -> AccelsimError:
    return AccelsimError(f"{where}: {name}: {problem}")


def integer(where: str, name: str, value, minimum: int) -> int:
    """``value`` as a Python int >= ``minimum``; bools and non-integers are rejected."""
    if isinstance(value, (bool, np.bool_)):
        raise fail(where, name, f"expected an integer, got {value!r}")
    try:
        v = operator.index(value)
    except TypeError:
        raise fail(where, name, f"expected an integer, got {value!r}") from None
    if v < minimum:
        raise fail(where, name, f"must be >= {minimum}, got {v}")
    return v


def pair(where: str, name: str, value, minimum: int) -> Pair:
    """An int or an (h, w) pair of ints, each >= ``minimum``, as an (h, w) tuple."""
    if isinstance(value, (tuple, list, np.ndarray)):
        if len(value) != 2:
            raise fail(where, name, f"expected an integer or a pair of integers, got {value!r}")
        return integer(where, name, value[0], minimum), integer(where, name, value[1], minimum)
    v = integer(where, name, value, minimum)
    return v, v


def array(where: str, name: str, x, ndim: int, layout: str) -> np.ndarray:
    """``x`` as a numeric ndarray with ``ndim`` axes (``layout`` names them in the message)."""
    x = np.asarray(x)
    if x.ndim != ndim:
        raise fail(where, name, f"expected a {ndim}-D {layout} array, got shape {x.shape}")
    if not (np.issubdtype(x.dtype, np.number) and not np.issubdtype(x.dtype, np.complexfloating)):
        raise fail(where, name, f"expected a real numeric array, got dtype {x.dtype}")
    if 0 in x.shape:
        raise fail(where, name, f"must not be empty, got shape {x.shape}")
    return x


def is_integer(*arrays: np.ndarray) -> bool:
    return all(np.issubdtype(a.dtype, np.integer) for a in arrays)


def accumulator(*dtypes) -> np.dtype:
    """int64 when every operand is an integer (exact sums, never float), else the float result type."""
    if all(np.issubdtype(d, np.integer) for d in dtypes):
        return np.dtype(np.int64)
    return np.result_type(*dtypes, np.float32)


@dataclass(frozen=True)
class Window:
    """A validated 2-D sliding window over an (H, W) plane and the output size it gives."""

    kernel: Pair
    stride: Pair
    padding: Pair
    dilation: Pair
    out: Pair

    @property
    def span(self) -> Pair:
        """Extent of the dilated kernel, ``D*(F-1) + 1`` per axis."""
        (kh, kw), (dh, dw) = self.kernel, self.dilation
        return dh * (kh - 1) + 1, dw * (kw - 1) + 1


def window(where: str, hw: Pair, kernel_size, stride, padding, dilation) -> Window:
    """Validate window arguments against an input plane of size ``hw``."""
    k = pair(where, "kernel_size", kernel_size, 1)
    s = pair(where, "stride", stride, 1)
    p = pair(where, "padding", padding, 0)
    d = pair(where, "dilation", dilation, 1)
    out = []
    for axis, n, f, st, pd, dl in zip(("height", "width"), hw, k, s, p, d, strict=True):
        try:
            out.append(window_out(where, axis, n, f, st, pd, dl, strict=False)[0])
        except LayerError as e:
            raise fail(where, e.field, e.problem) from None
    return Window(k, s, p, d, (out[0], out[1]))


def conv_args(where: str, x: np.ndarray, weight: np.ndarray, stride, padding, dilation, groups) -> tuple[Window, int]:
    """Validate a convolution of NCHW ``x`` by OIHW ``weight``; return its window and group count."""
    c, o, ci = x.shape[1], weight.shape[0], weight.shape[1]
    g = integer(where, "groups", groups, 1)
    if c % g:
        raise fail(where, "groups", f"{g} does not divide the {c} input channels")
    if o % g:
        raise fail(where, "groups", f"{g} does not divide the {o} output channels (weight.shape[0])")
    if ci * g != c:
        raise fail(where, "weight", f"has {ci} input channels per group but x has {c} channels in {g} group(s) "
                   f"({c // g} per group)")
    return window(where, x.shape[2:], weight.shape[2:], stride, padding, dilation), g


def bias(where: str, b, channels: int) -> np.ndarray | None:
    """Validate an optional per-output-channel bias vector."""
    if b is None:
        return None
    b = array(where, "bias", b, 1, "(out_channels,)")
    if b.shape[0] != channels:
        raise fail(where, "bias", f"has {b.shape[0]} entries for {channels} output channels")
    return b


def pool_window(where: str, x, kernel_size, stride, padding) -> tuple[np.ndarray, Window]:
    """Validate a pooling of NCHW ``x`` (stride defaults to the kernel, padding <= kernel/2)."""
    x = array(where, "x", x, 4, "NCHW")
    w = window(where, x.shape[2:], kernel_size, kernel_size if stride is None else stride, padding, 1)
    for p, k in zip(w.padding, w.kernel, strict=True):
        if 2 * p > k:
            raise fail(where, "padding", f"{p} is more than half the kernel size {k}")
    return x, w


def pool_out(n: int, k: int, s: int, p: int, ceil_mode: bool) -> int:
    """Pooled size along one axis. ``ceil_mode`` rounds up, but (PyTorch's and ONNX's rule) the last
    window must start inside the input or its left padding: if ``(out-1)*s >= n + p`` it is dropped."""
    span = n + 2 * p - k
    if not ceil_mode:
        return span // s + 1
    out = -(-span // s) + 1
    if (out - 1) * s >= n + p:
        out -= 1
    return out


def pool_args(where: str, x, kernel_size, stride, padding, ceil_mode: bool) -> tuple[np.ndarray, Window, Pair]:
    """Validate a pooling of NCHW ``x``: its window (output size by ``pool_out``) and the extra
    bottom/right padding that ``ceil_mode`` needs for the last window."""
    x, w = pool_window(where, x, kernel_size, stride, padding)
    if not isinstance(ceil_mode, (bool, np.bool_)):
        raise fail(where, "ceil_mode", f"expected true or false, got {ceil_mode!r}")
    if not ceil_mode:
        return x, w, (0, 0)
    axes = list(zip(x.shape[2:], w.kernel, w.stride, w.padding, strict=True))
    out = [pool_out(n, k, s, p, True) for n, k, s, p in axes]
    extra = [max(0, (o - 1) * s + k - (n + 2 * p)) for o, (n, k, s, p) in zip(out, axes, strict=True)]
    return x, Window(w.kernel, w.stride, w.padding, w.dilation, (out[0], out[1])), (extra[0], extra[1])
