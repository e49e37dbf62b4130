"""Layer specifications: frozen, validated on creation, with shape inference.

Every activation shape is a per-image tuple of positive ints: ``(C, H, W)`` for images, ``(T, F)``
for token sequences, ``(H, T, T)`` for per-head attention scores; vectors (after Flatten, Linear on
a vector) are ``(F, 1, 1)``. Output size of a sliding window follows
``out = floor((N + 2P - D*(F-1) - 1) / S) + 1`` (``ceil`` instead of ``floor`` for a pool with
``ceil_mode``, PyTorch's rule: then the last window must start inside the input or its left padding).
"""

from __future__ import annotations

import math
import unicodedata
from dataclasses import dataclass, fields
from typing import Any, ClassVar

from accelsim.errors import AccelsimError

Shape = tuple[int, ...]
Pair = tuple[int, int]


class LayerError(AccelsimError):
    """A layer definition or its input shape is invalid; names the layer and the field."""

    def __init__(self, layer: str, fld: str, problem: str):
        super().__init__(f"layer '{layer}': {fld}: {problem}")
        self.layer, self.field, self.problem = layer, fld, problem


def _pair(layer: str, name: str, value, minimum: int) -> Pair:
    if isinstance(value, bool):
        raise LayerError(layer, name, f"expected an integer or a pair of integers, got {value!r}")
    if isinstance(value, int):
        value = (value, value)
    try:
        a, b = value
    except (TypeError, ValueError):
        raise LayerError(layer, name, f"expected an integer or a pair of integers, got {value!r}") from None
    for v in (a, b):
        if isinstance(v, bool) or not isinstance(v, int):
            raise LayerError(layer, name, f"expected integers, got {value!r}")
        if v < minimum:
            raise LayerError(layer, name, f"must be >= {minimum}, got {v}")
    return (a, b)


def as_pair(value: Pair | int | None) -> Pair:
    """A built layer's window field (``kernel_size``, ``stride``, ``padding``, ``dilation``) as
    (height, width). The fields hold pairs once a layer exists; their declared type also admits
    what the constructor accepts (an int, or None for a pool's stride), which this narrows."""
    if isinstance(value, tuple):
        return value
    if isinstance(value, int):
        return (value, value)
    raise TypeError("window field not normalized: the layer was not built through its constructor")


def _positive_int(layer: str, name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise LayerError(layer, name, f"expected an integer, got {value!r}")
    if value <= 0:
        raise LayerError(layer, name, f"must be > 0, got {value}")
    return value


def _bool(layer: str, name: str, value) -> bool:
    if not isinstance(value, bool):
        raise LayerError(layer, name, f"expected true or false, got {value!r}")
    return value


def window_out(layer: str, axis: str, n: int, f: int, s: int, p: int, d: int, strict: bool,
               ceil_mode: bool = False) -> tuple[int, bool]:
    """Output size of a sliding window along one axis and whether the stride leaves input unused.

    ``ceil_mode`` (pools): PyTorch's ``ceil((N + 2P - D*(F-1) - 1) / S) + 1``, less one when the last
    window would start in the right padding (at or after N + P). Raises LayerError when the
    (dilated) kernel is larger than the padded input, or, in strict mode, when the windows leave
    padded input rows/columns unused ((N + 2P - D*(F-1) - 1) not divisible by S in floor mode: the
    lectures' "illegal stride").
    """
    span = d * (f - 1) + 1
    padded = n + 2 * p
    if span > padded:
        raise LayerError(
            layer, "kernel_size",
            f"kernel extent {span} along {axis} is larger than the padded input {padded} "
            f"({n} + 2*{p})",
        )
    if ceil_mode:
        out = -(-(padded - span) // s) + 1
        if (out - 1) * s >= n + p:
            out -= 1
    else:
        out = (padded - span) // s + 1
    unused = (out - 1) * s + span < padded
    if strict and unused:
        raise LayerError(
            layer, "stride",
            f"illegal stride {s} along {axis}: ({n} + 2*{p} - {span}) = {padded - span} "
            f"is not divisible by {s}",
        )
    return out, unused


def _image(layer: Layer, x: Shape) -> tuple[int, int, int]:
    """``x`` as (C, H, W), or a LayerError: the layer needs an image, not a token sequence."""
    if len(x) != 3:
        raise LayerError(layer.name, "inputs", f"{layer.kind} needs an image input [C, H, W], got {list(x)}")
    c, h, w = x
    return c, h, w


def _number(layer: str, name: str, value, finite: bool = True) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (finite and not math.isfinite(value)):
        raise LayerError(layer, name, f"expected a finite number, got {value!r}")
    return float(value)


def name_problem(name) -> str | None:
    """Why ``name`` cannot name a layer or network (it labels table rows, CSV cells, JSON keys), or None."""
    if not isinstance(name, str) or not name.strip():
        return "must be a non-empty string"
    if name != name.strip():
        return "has leading or trailing whitespace"
    if any(unicodedata.category(ch).startswith("C") for ch in name):
        return "contains a control or invisible character"
    return None


@dataclass(frozen=True)
class Layer:
    """Base of all layers. ``name`` is unique within a network."""

    name: str
    kind: ClassVar[str] = "layer"

    def __post_init__(self):
        problem = name_problem(self.name)
        if problem:
            raise LayerError(repr(self.name)[1:-1] if isinstance(self.name, str) else str(self.name), "name", problem)

    def infer(self, x: Shape, strict: bool = False) -> tuple[Shape, bool]:
        """Return (output shape, stride leaves a remainder) for input shape ``x``."""
        return x, False

    def infer_inputs(self, xs: tuple[Shape, ...], strict: bool = False) -> tuple[Shape, bool]:
        """``infer`` for the node's input shapes; a single-input layer refuses more than one input."""
        if len(xs) != 1:
            raise LayerError(self.name, "inputs", f"{self.kind} takes one input, got {len(xs)}")
        return self.infer(xs[0], strict)

    @property
    def weights(self) -> int:
        return 0

    @property
    def biases(self) -> int:
        return 0

    @property
    def params(self) -> int:
        return self.weights + self.biases

    def spec(self) -> dict:
        """The layer as a plain dict in the model-file schema (``type`` plus its fields)."""
        out: dict[str, Any] = {"type": self.kind}
        for f in fields(self):
            v = getattr(self, f.name)
            out[f.name] = list(v) if isinstance(v, tuple) else v
        return out


@dataclass(frozen=True)
class Conv2d(Layer):
    """2-D convolution (cross-correlation, as frameworks compute it); weights are OIHW."""

    in_channels: int = 0
    out_channels: int = 0
    kernel_size: Pair | int = 1
    stride: Pair | int = 1
    padding: Pair | int = 0
    dilation: Pair | int = 1
    groups: int = 1
    bias: bool = True
    kind: ClassVar[str] = "conv2d"

    def __post_init__(self):
        super().__post_init__()
        n = self.name
        _positive_int(n, "in_channels", self.in_channels)
        _positive_int(n, "out_channels", self.out_channels)
        _positive_int(n, "groups", self.groups)
        object.__setattr__(self, "kernel_size", _pair(n, "kernel_size", self.kernel_size, 1))
        object.__setattr__(self, "stride", _pair(n, "stride", self.stride, 1))
        object.__setattr__(self, "padding", _pair(n, "padding", self.padding, 0))
        object.__setattr__(self, "dilation", _pair(n, "dilation", self.dilation, 1))
        _bool(n, "bias", self.bias)
        for fld in ("in_channels", "out_channels"):
            if getattr(self, fld) % self.groups:
                raise LayerError(n, "groups", f"{fld}={getattr(self, fld)} is not divisible by groups={self.groups}")

    def infer(self, x: Shape, strict: bool = False) -> tuple[Shape, bool]:
        c, h, w = _image(self, x)
        if c != self.in_channels:
            raise LayerError(self.name, "in_channels", f"is {self.in_channels} but the input has {c} channels")
        (kh, kw), (sh, sw) = as_pair(self.kernel_size), as_pair(self.stride)
        (ph, pw), (dh, dw) = as_pair(self.padding), as_pair(self.dilation)
        oh, rh = window_out(self.name, "height", h, kh, sh, ph, dh, strict)
        ow, rw = window_out(self.name, "width", w, kw, sw, pw, dw, strict)
        return (self.out_channels, oh, ow), rh or rw

    @property
    def weights(self) -> int:
        kh, kw = as_pair(self.kernel_size)
        return self.out_channels * (self.in_channels // self.groups) * kh * kw

    @property
    def biases(self) -> int:
        return self.out_channels if self.bias else 0


@dataclass(frozen=True)
class _Pool2d(Layer):
    kernel_size: Pair | int = 2
    stride: Pair | int | None = None
    padding: Pair | int = 0
    ceil_mode: bool = False

    def __post_init__(self):
        super().__post_init__()
        n = self.name
        _bool(n, "ceil_mode", self.ceil_mode)
        object.__setattr__(self, "kernel_size", _pair(n, "kernel_size", self.kernel_size, 1))
        stride = self.kernel_size if self.stride is None else self.stride
        object.__setattr__(self, "stride", _pair(n, "stride", stride, 1))
        object.__setattr__(self, "padding", _pair(n, "padding", self.padding, 0))
        for p, k in zip(as_pair(self.padding), as_pair(self.kernel_size), strict=True):
            if 2 * p > k:
                raise LayerError(n, "padding", f"{p} is more than half the kernel size {k}")

    def infer(self, x: Shape, strict: bool = False) -> tuple[Shape, bool]:
        c, h, w = _image(self, x)
        (kh, kw), (sh, sw), (ph, pw) = as_pair(self.kernel_size), as_pair(self.stride), as_pair(self.padding)
        oh, rh = window_out(self.name, "height", h, kh, sh, ph, 1, strict, self.ceil_mode)
        ow, rw = window_out(self.name, "width", w, kw, sw, pw, 1, strict, self.ceil_mode)
        return (c, oh, ow), rh or rw


@dataclass(frozen=True)
class MaxPool2d(_Pool2d):
    """Max pooling; padded positions never win (they count as -inf)."""

    kind: ClassVar[str] = "maxpool2d"


@dataclass(frozen=True)
class AvgPool2d(_Pool2d):
    """Average pooling; padded zeros count in the divisor (PyTorch's count_include_pad=True)."""

    kind: ClassVar[str] = "avgpool2d"


@dataclass(frozen=True)
class Linear(Layer):
    """Fully connected layer y = W x + b with W of shape (out_features, in_features): on a vector
    ``(F, 1, 1)``, or per token on a sequence ``(T, F)`` (output ``(T, out_features)``)."""

    in_features: int = 0
    out_features: int = 0
    bias: bool = True
    kind: ClassVar[str] = "linear"

    def __post_init__(self):
        super().__post_init__()
        _positive_int(self.name, "in_features", self.in_features)
        _positive_int(self.name, "out_features", self.out_features)
        _bool(self.name, "bias", self.bias)

    def infer(self, x: Shape, strict: bool = False) -> tuple[Shape, bool]:
        if len(x) == 2:
            if x[1] != self.in_features:
                raise LayerError(self.name, "in_features",
                                 f"is {self.in_features} but the tokens of the input {list(x)} have {x[1]} features")
            return (x[0], self.out_features), False
        if len(x) != 3 or x[1:] != (1, 1):
            raise LayerError(self.name, "in_features", f"input {list(x)} is not flat: add a flatten layer before it")
        if x[0] != self.in_features:
            raise LayerError(
                self.name, "in_features", f"is {self.in_features} but the flattened input has {x[0]} features"
            )
        return (self.out_features, 1, 1), False

    @property
    def weights(self) -> int:
        return self.in_features * self.out_features

    @property
    def biases(self) -> int:
        return self.out_features if self.bias else 0


@dataclass(frozen=True)
class ReLU(Layer):
    kind: ClassVar[str] = "relu"


@dataclass(frozen=True)
class Tanh(Layer):
    kind: ClassVar[str] = "tanh"


@dataclass(frozen=True)
class Sigmoid(Layer):
    kind: ClassVar[str] = "sigmoid"


@dataclass(frozen=True)
class LocalResponseNorm(Layer):
    """Cross-channel LRN: b = a / (k + alpha/size * sum over `size` neighbouring channels a^2)^beta.

    Defaults are AlexNet's (size 5, alpha 1e-4, beta 0.75, k 2); alpha is divided by size as in
    PyTorch's LocalResponseNorm.
    """

    size: int = 5
    alpha: float = 1e-4
    beta: float = 0.75
    k: float = 2.0
    kind: ClassVar[str] = "lrn"

    def __post_init__(self):
        super().__post_init__()
        _positive_int(self.name, "size", self.size)
        for fld in ("alpha", "beta", "k"):
            _number(self.name, fld, getattr(self, fld))

    def infer(self, x: Shape, strict: bool = False) -> tuple[Shape, bool]:
        return _image(self, x), False


@dataclass(frozen=True)
class Flatten(Layer):
    kind: ClassVar[str] = "flatten"

    def infer(self, x: Shape, strict: bool = False) -> tuple[Shape, bool]:
        return (math.prod(x), 1, 1), False


@dataclass(frozen=True)
class Softmax(Layer):
    """Softmax over the feature axis: the first of a vector ``(F, 1, 1)``, else the last (a token's
    features ``(T, F)``, a row of attention scores ``(H, T, T)``)."""

    kind: ClassVar[str] = "softmax"


@dataclass(frozen=True)
class Add(Layer):
    """Element-wise sum of two or more inputs of the same shape (a residual connection)."""

    kind: ClassVar[str] = "add"

    def infer_inputs(self, xs: tuple[Shape, ...], strict: bool = False) -> tuple[Shape, bool]:
        if len(xs) < 2:
            raise LayerError(self.name, "inputs", f"add takes two or more inputs, got {len(xs)}")
        for i, x in enumerate(xs[1:], start=2):
            if x != xs[0]:
                raise LayerError(self.name, "inputs",
                                 f"shapes differ: input {i} is {list(x)} but input 1 is {list(xs[0])}")
        return xs[0], False


@dataclass(frozen=True)
class Concat(Layer):
    """Concatenation along ``axis`` of the per-image shape: 0, the channel axis of ``(C, H, W)`` and
    the token axis of ``(T, F)`` (a class token before the patches); 1 or 2 any other axis (a
    token's features: ``axis: 1`` on ``(T, F)``). The other dimensions must agree."""

    axis: int = 0
    kind: ClassVar[str] = "concat"

    def __post_init__(self):
        super().__post_init__()
        if isinstance(self.axis, bool) or not isinstance(self.axis, int) or self.axis < 0:
            raise LayerError(self.name, "axis", f"expected a per-image axis (0, 1, ...), got {self.axis!r}")

    def infer_inputs(self, xs: tuple[Shape, ...], strict: bool = False) -> tuple[Shape, bool]:
        a = self.axis
        if a >= len(xs[0]):
            raise LayerError(self.name, "axis", f"{a} is not an axis of input 1 {list(xs[0])}")
        what = "non-channel dimensions" if a == 0 else f"dimensions other than axis {a}"
        for i, x in enumerate(xs[1:], start=2):
            if len(x) != len(xs[0]) or x[:a] + x[a + 1:] != xs[0][:a] + xs[0][a + 1:]:
                raise LayerError(self.name, "inputs",
                                 f"{what} differ: input {i} is {list(x)} but input 1 is {list(xs[0])}")
        return (*xs[0][:a], sum(x[a] for x in xs), *xs[0][a + 1:]), False


@dataclass(frozen=True)
class BatchNorm2d(Layer):
    """Inference-form batch norm: y = (x - mean) / sqrt(var + eps) * weight + bias per channel.

    Parameters are ``weight`` and ``bias`` (2 x num_features, as torchinfo counts them); the running
    mean and variance are buffers, not parameters."""

    num_features: int = 0
    eps: float = 1e-5
    kind: ClassVar[str] = "batchnorm2d"

    def __post_init__(self):
        super().__post_init__()
        _positive_int(self.name, "num_features", self.num_features)
        if _number(self.name, "eps", self.eps) < 0:
            raise LayerError(self.name, "eps", f"must be >= 0, got {self.eps}")

    def infer(self, x: Shape, strict: bool = False) -> tuple[Shape, bool]:
        c, _, _ = _image(self, x)
        if c != self.num_features:
            raise LayerError(self.name, "num_features", f"is {self.num_features} but the input has {c} channels")
        return x, False

    @property
    def weights(self) -> int:
        return self.num_features

    @property
    def biases(self) -> int:
        return self.num_features


@dataclass(frozen=True)
class ReLU6(Layer):
    """min(max(x, 0), 6)."""

    kind: ClassVar[str] = "relu6"


@dataclass(frozen=True)
class Clip(Layer):
    """min(max(x, min), max) (ONNX Clip)."""

    min: float = 0.0
    max: float = 6.0
    kind: ClassVar[str] = "clip"

    def __post_init__(self):
        super().__post_init__()
        lo, hi = _number(self.name, "min", self.min), _number(self.name, "max", self.max)
        if lo > hi:
            raise LayerError(self.name, "max", f"{hi} is below min {lo}")


@dataclass(frozen=True)
class Hardswish(Layer):
    """x * relu6(x + 3) / 6."""

    kind: ClassVar[str] = "hardswish"


@dataclass(frozen=True)
class GELU(Layer):
    """x * Phi(x); ``approximate`` is PyTorch's and ONNX's: "none" (erf) or "tanh"."""

    approximate: str = "none"
    kind: ClassVar[str] = "gelu"

    def __post_init__(self):
        super().__post_init__()
        if self.approximate not in ("none", "tanh"):
            raise LayerError(self.name, "approximate", f"must be 'none' or 'tanh', got {self.approximate!r}")


@dataclass(frozen=True)
class GlobalAvgPool2d(Layer):
    """Mean over each channel's H x W: (C, H, W) -> (C, 1, 1)."""

    kind: ClassVar[str] = "global_avgpool2d"

    def infer(self, x: Shape, strict: bool = False) -> tuple[Shape, bool]:
        c, _, _ = _image(self, x)
        return (c, 1, 1), False


def adaptive_windows(n: int, out: int) -> list[tuple[int, int]]:
    """PyTorch's adaptive pooling windows along one axis: [floor(i*n/out), ceil((i+1)*n/out))."""
    return [(i * n // out, -(-(i + 1) * n // out)) for i in range(out)]


@dataclass(frozen=True)
class AdaptiveAvgPool2d(Layer):
    """Average pooling to a fixed ``output_size`` (PyTorch's window rule, ``adaptive_windows``)."""

    output_size: Pair | int = 1
    kind: ClassVar[str] = "adaptive_avgpool2d"

    def __post_init__(self):
        super().__post_init__()
        object.__setattr__(self, "output_size", _pair(self.name, "output_size", self.output_size, 1))

    def infer(self, x: Shape, strict: bool = False) -> tuple[Shape, bool]:
        c, _, _ = _image(self, x)
        oh, ow = as_pair(self.output_size)
        return (c, oh, ow), False


@dataclass(frozen=True)
class Dropout(Layer):
    """Identity at inference (``p`` is kept for the record)."""

    p: float = 0.5
    kind: ClassVar[str] = "dropout"

    def __post_init__(self):
        super().__post_init__()
        if not 0 <= _number(self.name, "p", self.p) < 1:
            raise LayerError(self.name, "p", f"must be in [0, 1), got {self.p}")


@dataclass(frozen=True)
class LayerNorm(Layer):
    """Normalization over the last axis (``normalized_shape`` features) with a weight and a bias each."""

    normalized_shape: int = 0
    eps: float = 1e-5
    kind: ClassVar[str] = "layernorm"

    def __post_init__(self):
        super().__post_init__()
        _positive_int(self.name, "normalized_shape", self.normalized_shape)
        if _number(self.name, "eps", self.eps) < 0:
            raise LayerError(self.name, "eps", f"must be >= 0, got {self.eps}")

    def infer(self, x: Shape, strict: bool = False) -> tuple[Shape, bool]:
        if x[-1] != self.normalized_shape:
            raise LayerError(self.name, "normalized_shape",
                             f"is {self.normalized_shape} but the input {list(x)} has {x[-1]} on its last axis")
        return x, False

    @property
    def weights(self) -> int:
        return self.normalized_shape

    @property
    def biases(self) -> int:
        return self.normalized_shape


@dataclass(frozen=True)
class MatMul(Layer):
    """Product of two activations, A (first input) times B (second), ``heads`` GEMMs of M x K x N.

    A is token-major ``(M, heads*K)`` (split into heads along its last axis) or per-head
    ``(heads, M, K)``; B is ``(K, heads*N)``, or with ``transpose_b`` ``(N, heads*K)`` (used as its
    transpose). The result stays per-head ``(heads, M, N)`` when A is token-major and heads > 1
    (attention scores: Q, K ``(T, H*d)`` -> ``(H, T, T)``) and is merged back to ``(M, heads*N)``
    otherwise (A ``(H, T, T)``, V ``(T, H*d)`` -> ``(T, H*d)``). ``scale`` multiplies the product
    (attention's 1/sqrt(d) on the scores; in int8 it is part of the requantization multiplier)."""

    heads: int = 1
    transpose_b: bool = False
    scale: float = 1.0
    kind: ClassVar[str] = "matmul"

    def __post_init__(self):
        super().__post_init__()
        _positive_int(self.name, "heads", self.heads)
        _bool(self.name, "transpose_b", self.transpose_b)
        if _number(self.name, "scale", self.scale) == 0:
            raise LayerError(self.name, "scale", "must not be 0")
        object.__setattr__(self, "scale", float(self.scale))

    def dims(self, a: Shape, b: Shape) -> tuple[int, int, int]:
        """(M, K, N) of one head's GEMM, or a LayerError when the shapes do not fit."""
        h = self.heads
        if len(a) == 2:
            if a[1] % h:
                raise LayerError(self.name, "heads", f"{h} does not divide the {a[1]} features of input 1 {list(a)}")
            m, k = a[0], a[1] // h
        elif len(a) == 3:
            if a[0] != h:
                raise LayerError(self.name, "heads", f"is {h} but the per-head input 1 {list(a)} has {a[0]} heads")
            m, k = a[1], a[2]
        else:
            raise LayerError(self.name, "inputs", f"input 1 must be [M, F] or [heads, M, K], got {list(a)}")
        if len(b) != 2:
            raise LayerError(self.name, "inputs", f"input 2 must be [rows, features], got {list(b)}")
        kb, nh = (b[1], b[0] * h) if self.transpose_b else b
        if (kb if self.transpose_b else kb * h) != k * h or nh % h:
            raise LayerError(self.name, "inputs", f"inner dimensions differ: input 1 {list(a)} and input 2 "
                                                  f"{list(b)} with heads={h}, transpose_b={self.transpose_b}")
        return m, k, nh // h

    def infer_inputs(self, xs: tuple[Shape, ...], strict: bool = False) -> tuple[Shape, bool]:
        if len(xs) != 2:
            raise LayerError(self.name, "inputs", f"matmul takes two inputs, got {len(xs)}")
        a, b = xs
        m, _, n = self.dims(a, b)
        if len(a) == 2 and self.heads > 1:
            return (self.heads, m, n), False
        return (m, self.heads * n), False


LAYER_TYPES: dict[str, type[Layer]] = {
    cls.kind: cls
    for cls in (Conv2d, MaxPool2d, AvgPool2d, Linear, ReLU, Tanh, Sigmoid, LocalResponseNorm, Flatten, Softmax,
                Add, Concat, BatchNorm2d, ReLU6, Clip, Hardswish, GELU, GlobalAvgPool2d, AdaptiveAvgPool2d, Dropout,
                LayerNorm, MatMul)
}
ACTIVATIONS = (ReLU, Tanh, Sigmoid)
IDENTITIES = (Flatten, Dropout)  # relabel the same elements: no operations, no data movement
