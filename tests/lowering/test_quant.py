"""The int8 quantization rules."""

import math

import numpy as np
import pytest

from accelsim.lowering import quant


def test_quantize_is_symmetric_and_never_minus_128():
    x = np.array([-3.0, -1.5, 0.0, 1.5, 3.0, 4.0])
    s = quant.scale_for(3.0)
    assert s == 3.0 / 127
    assert quant.quantize(x, s).tolist() == [-127, -64, 0, 64, 127, 127]
    assert quant.quantize(np.array([-1e9]), s).tolist() == [-127]
    assert quant.scale_for(0.0) == 1.0


def test_quantize_rounds_the_float64_quotient():
    x = np.array([0.5, 1.5, 2.5, -2.5], dtype=np.float32)
    assert quant.quantize(x, 1.0).tolist() == [0, 2, 2, -2]


def test_table_is_the_pointwise_rule_on_every_int8():
    q = np.arange(-128, 128).astype(np.int8)
    lut = quant.table(np.tanh, 0.05, 1 / 127)
    expected = np.clip(np.rint(np.tanh(q.astype(np.float64) * 0.05) / (1 / 127)), -127, 127)
    assert np.array_equal(quant.lookup(q, lut), expected)
    assert quant.lookup(q, lut).dtype == np.int8


def test_bias_and_accumulators_must_fit_int32():
    assert quant.quantize_bias(np.array([0.25, -0.75]), 0.5).tolist() == [0, -2]
    with pytest.raises(OverflowError):
        quant.quantize_bias(np.array([1.0]), 1e-12)
    assert quant.to_int32(np.array([2**31 - 1, -(2**31)])).dtype == np.int32
    with pytest.raises(OverflowError):
        quant.to_int32(np.array([2**31]))


def test_scale_of_a_tensor():
    assert quant.tensor_scale(np.array([-254.0, 3.0])) == 2.0
    assert math.isclose(quant.dequantize(np.array([127], dtype=np.int8), 2.0)[0], 254.0)
