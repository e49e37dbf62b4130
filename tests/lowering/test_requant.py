"""The output stage's integer arithmetic (accelsim.lowering.requant) against TFLite's, scalar by scalar."""

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from accelsim.lowering import quant, requant
from tests.lowering import tflite_ref as ref

I32 = st.integers(ref.INT32_MIN, ref.INT32_MAX)
EDGES = [ref.INT32_MIN, ref.INT32_MIN + 1, -(2**30), -1, 0, 1, 2**30, ref.INT32_MAX - 1, ref.INT32_MAX]
I32_EDGY = st.one_of(I32, st.sampled_from(EDGES))
M0 = st.one_of(st.integers(0, ref.INT32_MAX), st.sampled_from([0, 1, 2**30, 2**30 + 1, ref.INT32_MAX]))
SHIFT = st.integers(requant.SHIFT_MIN, requant.SHIFT_MAX)


@settings(max_examples=400, deadline=None)
@given(st.lists(st.tuples(I32_EDGY, I32_EDGY), min_size=1, max_size=40))
@example([(ref.INT32_MIN, ref.INT32_MIN), (ref.INT32_MIN, ref.INT32_MAX), (-1, 2**30), (1, 2**30), (-3, 2**30)])
def test_doubling_high_mul_is_gemmlowps(pairs):
    a, b = (np.array(v, dtype=np.int64) for v in zip(*pairs, strict=True))
    got = requant.saturating_rounding_doubling_high_mul(a, b)
    assert got.tolist() == [ref.srdhm(x, y) for x, y in pairs]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(I32_EDGY, st.integers(0, 31)), min_size=1, max_size=40))
def test_rounding_divide_by_pot_is_gemmlowps(pairs):
    x, e = (np.array(v, dtype=np.int64) for v in zip(*pairs, strict=True))
    assert requant.rounding_divide_by_pot(x, e).tolist() == [ref.rounding_divide_by_pot(*p) for p in pairs]


@settings(max_examples=500, deadline=None)
@given(st.lists(I32_EDGY, min_size=1, max_size=64), M0, SHIFT)
@example([ref.INT32_MIN, ref.INT32_MAX, 1, -1, 0], ref.INT32_MAX, 30)  # saturating left shift
@example([ref.INT32_MIN, ref.INT32_MAX, 1, -1], 2**30, -31)  # the largest right shift
def test_multiply_by_quantized_multiplier_is_tflites(xs, m0, shift):
    got = requant.multiply_by_quantized_multiplier(np.array(xs, dtype=np.int64), m0, shift)
    assert got.tolist() == [ref.multiply_by_quantized_multiplier(x, m0, shift) for x in xs]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(I32_EDGY, st.integers(2**30, ref.INT32_MAX), SHIFT), min_size=1, max_size=40))
def test_per_channel_multipliers_broadcast(triples):
    x, m0, shift = (np.array(v, dtype=np.int64) for v in zip(*triples, strict=True))
    got = requant.multiply_by_quantized_multiplier(x, m0, shift)
    assert got.tolist() == [ref.multiply_by_quantized_multiplier(*t) for t in triples]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(-(2**24), 2**24), min_size=1, max_size=20),
       st.floats(1e-9, 1e3, allow_nan=False, allow_infinity=False))
def test_requantization_is_within_one_of_the_exact_product(xs, m):
    """Both roundings together never move the result more than 1 from x * M0 * 2^(shift-31) (left shifts
    that do not saturate)."""
    m0, shift = requant.quantize_multiplier(m)
    got = requant.multiply_by_quantized_multiplier(np.array(xs, dtype=np.int64), m0, shift)
    for x, y in zip(xs, got.tolist(), strict=True):
        if abs(x << max(shift, 0)) <= ref.INT32_MAX:
            assert abs(Fraction(x * m0) * Fraction(2) ** (shift - 31) - y) <= 1


@settings(max_examples=500, deadline=None)
@given(st.one_of(st.floats(0, 1e12, allow_nan=False), st.floats(1e-12, 2.0), st.sampled_from(
    [0.0, 0.5, 1.0, 0.75, 2.0 ** -31, 2.0 ** -32, 2.0 ** -33, 2.0 ** 30, 2.0 ** 31, 1 - 2.0 ** -33, 5e-324])))
def test_quantize_multiplier_is_tflites(m):
    m0, shift = requant.quantize_multiplier(m)
    assert (m0, shift) == ref.quantize_multiplier(m)
    assert m0 == 0 or 2**30 <= m0 <= ref.INT32_MAX
    if m0 and shift < 30:
        assert abs(Fraction(m0) * Fraction(2) ** (shift - 31) - Fraction(m)) <= Fraction(2) ** (shift - 32)


def test_quantize_multiplier_known_values_and_refusals():
    assert requant.quantize_multiplier(0.5) == (2**30, 0)
    assert requant.quantize_multiplier(1.0) == (2**30, 1)
    assert requant.quantize_multiplier(0.75) == (3 * 2**29, 0)
    assert requant.quantize_multiplier(1 - 2.0 ** -33) == (2**30, 1)  # rounds up to 2^31: halved, shift + 1
    assert requant.quantize_multiplier(2.0 ** -40) == (0, 0)
    assert requant.quantize_multiplier(2.0 ** 40) == (ref.INT32_MAX, 30)
    for bad in (-0.5, float("nan"), float("inf")):
        with pytest.raises(ValueError):
            requant.quantize_multiplier(bad)


def test_roundings_as_documented():
    """Half up in the high multiply (0.5 -> 1, -0.5 -> 0), half away from zero in the shift, and a double
    rounding: 1 * 0.25 gives 1."""
    xs = np.array([1, 3, 5, -1, -3, -5])
    assert requant.multiply_by_quantized_multiplier(xs, 2**30, 0).tolist() == [1, 2, 3, 0, -1, -2]
    assert requant.rounding_divide_by_pot(xs, 1).tolist() == [1, 2, 3, -1, -2, -3]
    assert requant.multiply_by_quantized_multiplier(np.array([1, 2, -2]), 2**30, -1).tolist() == [1, 1, -1]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(I32, st.integers(-(2**31), 2**31 - 1), st.integers(-(2**31), 2**31 - 1)), min_size=1,
                max_size=16),
       st.integers(2**30, ref.INT32_MAX), SHIFT, st.integers(-127, 127), st.integers(-127, 127))
def test_output_stage_is_wrap_then_mbqm_then_clamp(rows, m0, shift, lo, hi):
    acc, psum, bias = (np.array(v, dtype=np.int64) for v in zip(*rows, strict=True))
    got = requant.output_stage(acc, bias, m0, shift, lo, hi, psum=psum)

    def one(a, p, b):
        x = (a + p + b + 2**31) % 2**32 - 2**31
        return min(max(ref.multiply_by_quantized_multiplier(x, m0, shift), lo), hi)

    assert got.tolist() == [one(*r) for r in rows]


def test_activation_bounds_and_stage_spec():
    assert requant.activation_bounds("none", 0.1) == (-127, 127)
    assert requant.activation_bounds("relu", 0.1) == (0, 127)
    assert requant.activation_bounds("relu6", 0.1) == (0, 60)
    assert requant.activation_bounds("relu6", 6 / 127) == (0, 127)
    assert requant.activation_bounds("relu6", 0.08) == (0, 75)  # 75.0
    assert requant.activation_bounds("relu6", 6 / 50.5) == (0, 51)  # a tie rounds away from zero
    assert requant.activation_bounds("none", 1.0, out_bits=16) == (-32767, 32767)
    with pytest.raises(ValueError):
        requant.activation_bounds("gelu", 1.0)
    stage = requant.OutputStage.from_scales(0.5, 0.1, np.array([1, -1, 100]), "relu6")
    assert (stage.m0, stage.shift, stage.act_min, stage.act_max) == (2**30, 0, 0, 60)
    acc = np.array([[10, 10, 10], [-300, 200, 300]])
    assert stage.apply(acc).tolist() == [[6, 5, 55], [0, 60, 60]]
    assert stage.apply(acc.T, channel_axis=0).tolist() == [[6, 0], [5, 60], [55, 60]]
    assert stage.apply(acc[:, :2], channels=slice(1, 3)).tolist() == [[5, 55], [0, 60]]
    assert stage.apply(acc).dtype == np.int8
    for bad in ({"m0": -1}, {"shift": 31}, {"act_min": 5, "act_max": 4}, {"act_max": 128}, {"activation": "x"},
                {"bias": np.array([2**31])}):
        with pytest.raises(ValueError):
            requant.OutputStage(**{"m0": 2**30, "shift": 0, "act_min": -127, "act_max": 127, **bad})


def test_requantize_is_the_stage_without_bias_or_activation():
    assert quant.requantize(np.array([1, 3, 5, 7, -1, -3, -5]), 0.5).tolist() == [1, 2, 3, 4, 0, -1, -2]
    assert quant.requantize(np.array([10**6, -(10**6), 254, -254]), 0.5).tolist() == [127, -127, 127, -127]
    assert quant.requantize(np.array([2**31 - 1]), 1.0).dtype == np.int8
    with pytest.raises(OverflowError):
        quant.requantize(np.array([2**31]), 0.5)
    assert quant.round_clip(np.array([0.5, 1.5, -2.5, 300.0])).tolist() == [0, 2, -2, 127]
