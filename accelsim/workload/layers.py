"""Layer specifications: frozen, validated on creation, with shape inference.

Every activation shape is a ``(C, H, W)`` tuple of positive ints; vectors (after Flatten, Linear)
are ``(F, 1, 1)``. Output size of a sliding window follows
``out = floor((N + 2P - D*(F-1) - 1) / S) + 1``.
"""

from __future__ import annotations

import math
import unicodedata
from dataclasses import dataclass, fields
from typing import Any, ClassVar

from accelsim.errors import AccelsimError

Shape = tuple[int, int, int]
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


def window_out(layer: str, axis: str, n: int, f: int, s: int, p: int, d: int, strict: bool) -> tuple[int, bool]:
    """Output size of a sliding window along one axis and whether the stride leaves a remainder.

    Raises LayerError when the (dilated) kernel is larger than the padded input, or, in strict
    mode, when (N + 2P - D*(F-1) - 1) is not divisible by S (the lectures' "illegal stride").
    """
    span = d * (f - 1) + 1
    padded = n + 2 * p
    if span > padded:
        raise LayerError(
            layer, "kernel_size",
            f"kernel extent {span} along {axis} is larger than the padded input {padded} "
            f"({n} + 2*{p})",
        )
    rem = (padded - span) % s
    if strict and rem:
        raise LayerError(
            layer, "stride",
            f"illegal stride {s} along {axis}: ({n} + 2*{p} - {span}) = {padded - span} "
            f"is not divisible by {s}",
        )
    return (padded - span) // s + 1, bool(rem)


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
        c, h, w = x
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

    def __post_init__(self):
        super().__post_init__()
        n = self.name
        object.__setattr__(self, "kernel_size", _pair(n, "kernel_size", self.kernel_size, 1))
        stride = self.kernel_size if self.stride is None else self.stride
        object.__setattr__(self, "stride", _pair(n, "stride", stride, 1))
        object.__setattr__(self, "padding", _pair(n, "padding", self.padding, 0))
        for p, k in zip(as_pair(self.padding), as_pair(self.kernel_size), strict=True):
            if 2 * p > k:
                raise LayerError(n, "padding", f"{p} is more than half the kernel size {k}")

    def infer(self, x: Shape, strict: bool = False) -> tuple[Shape, bool]:
        c, h, w = x
        (kh, kw), (sh, sw), (ph, pw) = as_pair(self.kernel_size), as_pair(self.stride), as_pair(self.padding)
        oh, rh = window_out(self.name, "height", h, kh, sh, ph, 1, strict)
        ow, rw = window_out(self.name, "width", w, kw, sw, pw, 1, strict)
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
    """Fully connected layer y = W x + b with W of shape (out_features, in_features)."""

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
        if x[1:] != (1, 1):
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
            v = getattr(self, fld)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
                raise LayerError(self.name, fld, f"expected a finite number, got {v!r}")


@dataclass(frozen=True)
class Flatten(Layer):
    kind: ClassVar[str] = "flatten"

    def infer(self, x: Shape, strict: bool = False) -> tuple[Shape, bool]:
        return (x[0] * x[1] * x[2], 1, 1), False


@dataclass(frozen=True)
class Softmax(Layer):
    """Softmax over the channel (feature) axis."""

    kind: ClassVar[str] = "softmax"


LAYER_TYPES: dict[str, type[Layer]] = {
    cls.kind: cls
    for cls in (Conv2d, MaxPool2d, AvgPool2d, Linear, ReLU, Tanh, Sigmoid, LocalResponseNorm, Flatten, Softmax)
}
ACTIVATIONS = (ReLU, Tanh, Sigmoid)
