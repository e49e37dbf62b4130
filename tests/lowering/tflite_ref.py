"""TFLite's requantization, transcribed scalar by scalar with Python integers (C semantics spelled out).

Written from TFLite's ``quantization_util.cc`` (``QuantizeMultiplier``) and gemmlowp's
``fixedpoint.h`` (``SaturatingRoundingDoublingHighMul``, ``RoundingDivideByPOT``) and
``common.h`` (``MultiplyByQuantizedMultiplier``), independently of ``accelsim.lowering.requant``:
the golden for it, the models and the RTL.
"""

from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Decimal

INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1


def c_div(a: int, b: int) -> int:
    """C's integer division: truncates toward zero."""
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b > 0) else -q


def srdhm(a: int, b: int) -> int:
    overflow = a == b == INT32_MIN
    ab_64 = a * b
    nudge = (1 << 30) if ab_64 >= 0 else 1 - (1 << 30)
    ab_x2_high32 = c_div(ab_64 + nudge, 1 << 31)
    return INT32_MAX if overflow else ab_x2_high32


def rounding_divide_by_pot(x: int, exponent: int) -> int:
    assert 0 <= exponent <= 31
    mask = (1 << exponent) - 1
    remainder = x & mask
    threshold = (mask >> 1) + (1 if x < 0 else 0)
    return (x >> exponent) + (1 if remainder > threshold else 0)


def multiply_by_quantized_multiplier(x: int, m0: int, shift: int) -> int:
    left_shift = shift if shift > 0 else 0
    right_shift = 0 if shift > 0 else -shift
    # TFLite computes x * (1 << left_shift) in int32 (undefined on overflow); the contract saturates.
    shifted = max(INT32_MIN, min(INT32_MAX, x * (1 << left_shift)))
    return rounding_divide_by_pot(srdhm(shifted, m0), right_shift)


def quantize_multiplier(m: float) -> tuple[int, int]:
    if m == 0.0:
        return 0, 0
    q, shift = math.frexp(m)
    q_fixed = int(Decimal(q * (1 << 31)).to_integral_value(rounding=ROUND_HALF_UP))  # std::round
    assert q_fixed <= 1 << 31
    if q_fixed == 1 << 31:
        q_fixed //= 2
        shift += 1
    if shift < -31:
        shift, q_fixed = 0, 0
    if shift > 30:
        shift, q_fixed = 30, (1 << 31) - 1
    return q_fixed, shift
