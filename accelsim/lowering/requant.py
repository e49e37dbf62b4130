"""The output stage's integer arithmetic, defined once (docs/microarchitecture.md, "Output stage").

Bias add, requantization by an int32 Q0.31 multiplier ``m0`` and a power-of-two ``shift``
(gemmlowp's / TFLite's ``MultiplyByQuantizedMultiplier``: saturating rounding doubling high
multiply, ties toward +infinity, then rounding divide by a power of two, ties away from zero), and the fused
activation's clamp. The int8 forward pass (``forward_int``), the fast and stepping models and the
RTL testbench all call these functions, so the four agree bit for bit.

Everything is vectorised numpy on int64, exact: int32 operands, their 64-bit products (< 2^62 in
magnitude) and the shifts never leave int64. ``quantize_multiplier`` is TFLite's
``QuantizeMultiplier`` and the only place a float scale becomes (m0, shift).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
from numpy.typing import ArrayLike

INT32_MIN, INT32_MAX = -(1 << 31), (1 << 31) - 1
SHIFT_MIN, SHIFT_MAX = -31, 30
OUT_STAGE_CYCLES = 3  # registered stages of rtl/output_stage.v: a row leaves 3 cycles after it enters
ACTIVATIONS = ("none", "relu", "relu6")


def _i64(x: ArrayLike) -> np.ndarray:
    return np.asarray(x, dtype=np.int64)


def quantize_multiplier(multiplier: float) -> tuple[int, int]:
    """TFLite's ``QuantizeMultiplier``: ``multiplier ~= m0 * 2^(shift - 31)``, ``m0`` int32 in {0} or [2^30, 2^31).

    ``m0 = round(f * 2^31)`` (ties away from zero) for ``multiplier = f * 2^shift``, f in [0.5, 1);
    shifts below -31 flush to (0, 0), shifts above 30 saturate to (2^31 - 1, 30).
    """
    m = float(multiplier)
    if not math.isfinite(m) or m < 0:
        raise ValueError(f"quantize_multiplier: expected a finite multiplier >= 0, got {multiplier!r}")
    if m == 0:
        return 0, 0
    f, shift = math.frexp(m)
    m0 = math.floor(f * (1 << 31) + 0.5)  # f * 2^31 is exact, so is + 0.5 (22 fraction bits to spare)
    if m0 == 1 << 31:
        m0, shift = m0 // 2, shift + 1
    if shift < SHIFT_MIN:
        return 0, 0
    if shift > SHIFT_MAX:
        return INT32_MAX, SHIFT_MAX
    return m0, shift


def saturating_rounding_doubling_high_mul(a: ArrayLike, b: ArrayLike) -> np.ndarray:
    """gemmlowp's ``SaturatingRoundingDoublingHighMul`` of int32 values: ``(a*b + nudge) / 2^31``
    truncated toward zero, nudge ``2^30`` (``1 - 2^30`` for a negative product), i.e. ``a*b / 2^31``
    to nearest with ties toward +infinity; ``a = b = -2^31`` saturates to ``2^31 - 1``."""
    a, b = _i64(a), _i64(b)
    t = a * b
    t += np.where(t >= 0, np.int64(1 << 30), np.int64(1 - (1 << 30)))
    high = np.where(t >= 0, t >> 31, -((-t) >> 31))
    return np.where((a == INT32_MIN) & (b == INT32_MIN), np.int64(INT32_MAX), high)


def rounding_divide_by_pot(x: ArrayLike, exponent: ArrayLike) -> np.ndarray:
    """gemmlowp's ``RoundingDivideByPOT``: ``x / 2^exponent`` (exponent in [0, 31]) to nearest, ties away from zero."""
    x, e = _i64(x), _i64(exponent)
    mask = (np.int64(1) << e) - 1
    threshold = (mask >> 1) + (x < 0)
    return (x >> e) + ((x & mask) > threshold)


def multiply_by_quantized_multiplier(x: ArrayLike, m0: ArrayLike, shift: ArrayLike) -> np.ndarray:
    """TFLite's ``MultiplyByQuantizedMultiplier`` of int32 ``x``; the left shift (``shift > 0``) saturates to int32."""
    x, shift = _i64(x), _i64(shift)
    left, right = np.maximum(shift, 0), np.maximum(-shift, 0)
    xs = np.clip(x << left, INT32_MIN, INT32_MAX)
    return rounding_divide_by_pot(saturating_rounding_doubling_high_mul(xs, m0), right)


def wrap32(x: ArrayLike) -> np.ndarray:
    """``x`` modulo 2^32 as a signed int32 value (int64 dtype): the accumulator's wrapping add."""
    return _i64(x).astype(np.int32).astype(np.int64)


def output_stage(acc: ArrayLike, bias: ArrayLike, m0: ArrayLike, shift: ArrayLike, act_min: int,
                 act_max: int, psum: ArrayLike = 0) -> np.ndarray:
    """The stage on int32 ``acc`` (broadcasting ``bias``, ``m0``, ``shift`` per channel):
    ``min(max(MBQM(wrap32(acc + psum + bias), m0, shift), act_min), act_max)`` as int64."""
    x = wrap32(_i64(acc) + _i64(psum) + _i64(bias))
    y = multiply_by_quantized_multiplier(x, m0, shift)
    return np.minimum(np.maximum(y, act_min), act_max)


def qmax(out_bits: int = 8) -> int:
    """The largest output value, ``2^(out_bits-1) - 1``; the smallest is its negation (never -2^(out_bits-1))."""
    return (1 << (out_bits - 1)) - 1


def activation_bounds(activation: str, out_scale: float, out_bits: int = 8) -> tuple[int, int]:
    """``(act_min, act_max)`` of a fused activation at output scale ``out_scale`` (zero point 0).

    none: +-qmax; relu: [0, qmax]; relu6: [0, min(qmax, round(6 / out_scale))], ties away from zero.
    """
    hi = qmax(out_bits)
    if activation == "none":
        return -hi, hi
    if activation == "relu":
        return 0, hi
    if activation == "relu6":
        six = 6.0 / out_scale
        return 0, min(hi, math.floor(six + 0.5)) if math.isfinite(six) else hi
    raise ValueError(f"activation: must be one of {', '.join(ACTIVATIONS)}, got {activation!r}")


@dataclass(frozen=True, eq=False)
class OutputStage:
    """One layer's output stage: int32 ``bias`` per output channel (None: zero), ``m0``/``shift`` (one
    per layer, as the lowering quantizes weights per tensor), the clamp ``act_min``/``act_max`` of
    its fused ``activation`` and the output width ``out_bits``."""

    m0: int
    shift: int
    act_min: int
    act_max: int
    bias: np.ndarray | None = None
    activation: str = "none"
    out_bits: int = 8

    def __post_init__(self) -> None:
        if not 0 <= self.m0 <= INT32_MAX or not SHIFT_MIN <= self.shift <= SHIFT_MAX:
            raise ValueError(f"output stage: m0 {self.m0} must be in [0, 2^31) and shift {self.shift} in "
                             f"[{SHIFT_MIN}, {SHIFT_MAX}]")
        hi = qmax(self.out_bits)
        if not -hi <= self.act_min <= self.act_max <= hi:
            raise ValueError(f"output stage: clamp [{self.act_min}, {self.act_max}] is not ordered within +-{hi}")
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"output stage: activation must be one of {', '.join(ACTIVATIONS)}")
        if self.bias is not None:
            b = np.asarray(self.bias)
            if b.ndim != 1 or not np.issubdtype(b.dtype, np.integer) or (b.size and (
                    b.min() < INT32_MIN or b.max() > INT32_MAX)):
                raise ValueError("output stage: bias must be a vector of int32 values")
            object.__setattr__(self, "bias", b.astype(np.int32))

    @classmethod
    def from_scales(cls, multiplier: float, out_scale: float, bias: ArrayLike | None = None,
                    activation: str = "none", out_bits: int = 8) -> OutputStage:
        """The stage of a layer with real multiplier ``s_in * s_w / s_out`` and output scale ``s_out``."""
        m0, shift = quantize_multiplier(multiplier)
        lo, hi = activation_bounds(activation, out_scale, out_bits)
        return cls(m0, shift, lo, hi, None if bias is None else np.asarray(bias), activation, out_bits)

    def group(self, g: int, n: int) -> OutputStage:
        """The stage of group ``g`` of a grouped layer with ``n`` output channels a group (its bias slice)."""
        if self.bias is None:
            return self
        return replace(self, bias=self.bias[g * n:(g + 1) * n])

    def apply(self, acc: ArrayLike, channel_axis: int = -1, channels: slice = slice(None)) -> np.ndarray:
        """The int8 (``out_bits``) output of int32 ``acc`` whose ``channel_axis`` runs over ``bias[channels]``."""
        acc = _i64(acc)
        bias: ArrayLike = 0
        if self.bias is not None:
            shape = [1] * acc.ndim
            shape[channel_axis] = -1
            bias = self.bias[channels].reshape(shape)
        y = output_stage(acc, bias, self.m0, self.shift, self.act_min, self.act_max)
        return y.astype(np.int8) if self.out_bits == 8 else y
