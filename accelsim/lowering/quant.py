"""int8 quantization rules of the integer forward pass.

Symmetric per-tensor quantization: a real tensor ``r`` is ``q * s`` with ``q`` int8 in
[-127, 127] (-128 is never produced, so negation cannot overflow) and ``s > 0`` a float64 scale.

- ``scale_for(m) = m / 127`` for the tensor's largest magnitude ``m`` (1.0 if the tensor is 0).
- ``quantize(r, s) = clip(rint(float64(r) / s), -127, 127)``.
- ``requantize(acc, m)``: integer-only, the output stage without bias or activation
  (``requant``): ``m`` becomes an int32 Q0.31 multiplier and a shift (TFLite's
  ``QuantizeMultiplier``), applied to the int32 ``acc`` with TFLite's two roundings (half up in the
  high multiply, half away from zero in the shift), then clipped to [-127, 127]. It replaced
  ``clip(rint(float64(acc) * m))``; ``benchmarks/requant_zoo.py`` measures the difference on the
  zoo (docs/microarchitecture.md, "Output stage").
- ``round_clip(v) = clip(rint(v), -127, 127)`` on float64 ``v`` (average pooling's mean).

``rint`` is round half to even on the float64 value, so every float step is one correctly rounded
IEEE operation followed by a deterministic rounding: bit-exact on any IEEE-754 machine.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from accelsim.lowering import requant

QMAX = 127
INT32 = np.iinfo(np.int32)


def scale_for(max_abs: float) -> float:
    """Scale mapping ``max_abs`` to 127 (1.0 for an all-zero tensor)."""
    max_abs = float(max_abs)
    return max_abs / QMAX if max_abs > 0 else 1.0


def tensor_scale(x: np.ndarray) -> float:
    """Per-tensor scale of ``x``: its largest magnitude over 127."""
    return scale_for(np.max(np.abs(x)))


def _round_clip(v: np.ndarray) -> np.ndarray:
    """rint and clip a float64 temporary in place, then narrow to int8."""
    np.rint(v, out=v)
    np.clip(v, -QMAX, QMAX, out=v)
    return v.astype(np.int8)


def round_clip(v) -> np.ndarray:
    """``clip(rint(v), -127, 127)`` of real values as int8 (rint: half to even, in float64)."""
    return _round_clip(np.array(v, dtype=np.float64))


def quantize(x, scale: float) -> np.ndarray:
    """``clip(rint(x / scale), -127, 127)`` as int8, computed in float64."""
    return _round_clip(np.divide(x, scale, dtype=np.float64))


def dequantize(q, scale: float) -> np.ndarray:
    """The real values ``q * scale`` in float64."""
    return np.asarray(q, dtype=np.float64) * scale


def requantize(acc, multiplier: float) -> np.ndarray:
    """int32 ``acc`` times ``multiplier`` by the output stage's integer rule, clipped to [-127, 127], as int8."""
    m0, shift = requant.quantize_multiplier(multiplier)
    return requant.output_stage(to_int32(np.asarray(acc)), 0, m0, shift, -QMAX, QMAX).astype(np.int8)


def quantize_bias(bias, scale: float) -> np.ndarray:
    """Bias as int32 at the accumulator scale ``scale = s_in * s_w``: ``rint(float64(b) / scale)``."""
    q = np.rint(np.asarray(bias, dtype=np.float64) / scale)
    if q.size and (q.min() < INT32.min or q.max() > INT32.max):
        raise OverflowError(f"bias does not fit int32 at accumulator scale {scale!r}")
    return q.astype(np.int32)


def to_int32(acc: np.ndarray) -> np.ndarray:
    """An exact integer accumulator as int32, the hardware accumulator width; overflow is an error."""
    if acc.size and (acc.min() < INT32.min or acc.max() > INT32.max):
        raise OverflowError(f"accumulator range [{acc.min()}, {acc.max()}] does not fit int32")
    return acc.astype(np.int32)


def table(fn: Callable[[np.ndarray], np.ndarray], in_scale: float, out_scale: float) -> np.ndarray:
    """256-entry int8 lookup table of ``quantize(fn(dequantize(q, in_scale)), out_scale)``, index q + 128."""
    return quantize(fn(dequantize(np.arange(-128, 128), in_scale)), out_scale)


def lookup(q: np.ndarray, lut: np.ndarray) -> np.ndarray:
    """Apply a ``table`` to int8 ``q``."""
    return lut[q.astype(np.int16) + 128]
