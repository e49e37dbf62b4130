"""The graph's operators (add, concat, batch norm, clip/relu6, hardswish, GELU, global and adaptive
average pooling, ceil-mode pooling, dropout, layer norm, matmul, per-token linear) against the
direct loops of ``golden``, on random shapes."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from accelsim.errors import AccelsimError
from accelsim.lowering import golden, ops
from accelsim.lowering._args import pool_out
from accelsim.lowering.gemm import lower_linear, lower_matmul

seeds = st.integers(0, 2**32 - 1)
small = st.integers(1, 4)


def _x(seed, shape, dtype=np.float64):
    rng = np.random.default_rng(seed)
    if np.issubdtype(dtype, np.integer):
        return rng.integers(-127, 128, shape).astype(dtype)
    return (rng.standard_normal(shape) * 3).astype(dtype)


@st.composite
def ceil_pools(draw):
    kernel = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    padding = tuple(draw(st.integers(0, k // 2)) for k in kernel)
    hw = tuple(draw(st.integers(max(1, k - 2 * p), k - 2 * p + 6)) for k, p in zip(kernel, padding, strict=True))
    return (draw(small), draw(small), *hw), kernel, stride, padding, draw(st.booleans()), draw(seeds)


@settings(max_examples=200, deadline=None)
@given(ceil_pools())
def test_ceil_mode_pooling_matches_direct_loops(case):
    shape, kernel, stride, padding, include_pad, seed = case
    x = _x(seed, shape) - 5  # mostly negative: neither padding nor the ceil rows may win a max
    q = _x(seed, shape, np.int8)
    for ceil in (False, True):
        mx = ops.max_pool2d(x, kernel, stride, padding, ceil_mode=ceil)
        assert np.array_equal(mx, golden.max_pool2d(x, kernel, stride, padding, ceil_mode=ceil))
        assert mx.shape[2:] == tuple(pool_out(n, k, s, p, ceil)
                                     for n, k, s, p in zip(shape[2:], kernel, stride, padding, strict=True))
        for v in (x, q):
            np.testing.assert_allclose(
                ops.avg_pool2d(v, kernel, stride, padding, ceil_mode=ceil, count_include_pad=include_pad),
                golden.avg_pool2d(v, kernel, stride, padding, ceil_mode=ceil, count_include_pad=include_pad),
                rtol=1e-12, atol=1e-12)
        assert np.array_equal(ops.max_pool2d(q, kernel, stride, padding, ceil_mode=ceil),
                              golden.max_pool2d(q, kernel, stride, padding, ceil_mode=ceil))


def test_ceil_mode_known_sizes():
    # GoogLeNet / SqueezeNet: 3x3 stride 2 max pools with ceil_mode on 112 and 55 give 56 and 27.
    assert pool_out(112, 3, 2, 0, True) == 56 and pool_out(112, 3, 2, 0, False) == 55
    assert pool_out(55, 3, 2, 0, True) == 27
    # The last window would start in the right padding only: dropped (PyTorch's rule).
    assert pool_out(5, 2, 2, 1, True) == 3 and pool_out(4, 2, 2, 1, True) == 3
    x = np.arange(16.0).reshape(1, 1, 4, 4)
    assert ops.max_pool2d(x, 3, 2, ceil_mode=True)[0, 0].tolist() == [[10, 11], [14, 15]]
    # The partial last window divides by its positions inside the input.
    assert ops.avg_pool2d(x, 3, 2, ceil_mode=True)[0, 0].tolist() == [[5, 6.5], [11, 12.5]]


@settings(max_examples=100, deadline=None)
@given(small, small, st.integers(1, 9), st.integers(1, 9), small, small, seeds)
def test_adaptive_and_global_average_pooling(n, c, h, w, oh, ow, seed):
    x, q = _x(seed, (n, c, h, w)), _x(seed, (n, c, h, w), np.int8)
    for v in (x, q):
        np.testing.assert_allclose(ops.adaptive_avg_pool2d(v, (oh, ow)), golden.adaptive_avg_pool2d(v, (oh, ow)),
                                   rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(ops.global_avg_pool2d(v), golden.global_avg_pool2d(v), rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(ops.adaptive_avg_pool2d(v, 1), ops.global_avg_pool2d(v), rtol=1e-12)


def test_adaptive_pooling_of_a_divisible_size_is_plain_average_pooling():
    x = _x(1, (2, 3, 12, 8))
    np.testing.assert_allclose(ops.adaptive_avg_pool2d(x, (3, 2)), ops.avg_pool2d(x, (4, 4)), rtol=1e-12)
    assert ops.adaptive_bounds(5, 3) == [(0, 2), (1, 4), (3, 5)]  # overlapping windows, as PyTorch's


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 4), small, small, st.integers(1, 5), st.integers(1, 5), seeds)
def test_add_and_concat(k, n, c, h, w, seed):
    xs = [_x(seed + i, (n, c + i, h, w)) for i in range(k)]
    same = [_x(seed + i, (n, c, h, w)) for i in range(k)]
    np.testing.assert_allclose(ops.add(*same), golden.add(*same), rtol=1e-12, atol=1e-12)
    assert np.array_equal(ops.concat(*xs), golden.concat(*xs))
    qs = [_x(seed + i, (n, c, h, w), np.int8) for i in range(k)]
    assert ops.add(*qs).dtype == np.int64 and np.array_equal(ops.add(*qs), golden.add(*qs))


def test_add_and_concat_reject_disagreeing_shapes():
    with pytest.raises(AccelsimError, match=r"add: inputs\[1\]: shape \(1, 2, 3, 3\) differs"):
        ops.add(np.zeros((1, 3, 3, 3)), np.zeros((1, 2, 3, 3)))
    with pytest.raises(AccelsimError, match=r"concat: inputs\[1\]: shape \(1, 2, 4, 3\) does not match"):
        ops.concat(np.zeros((1, 3, 3, 3)), np.zeros((1, 2, 4, 3)))


@settings(max_examples=60, deadline=None)
@given(small, small, st.integers(1, 5), st.integers(1, 5), seeds)
def test_batchnorm_and_its_folding(n, c, h, w, seed):
    rng = np.random.default_rng(seed)
    x = _x(seed, (n, c, h, w))
    g, b, m = rng.uniform(0.5, 1.5, c), rng.uniform(-1, 1, c), rng.uniform(-1, 1, c)
    v = rng.uniform(0.1, 2, c)
    np.testing.assert_allclose(ops.batchnorm2d(x, g, b, m, v, 1e-3), golden.batchnorm2d(x, g, b, m, v, 1e-3),
                               rtol=1e-12, atol=1e-12)
    weight, bias = rng.standard_normal((c, c, 3, 3)), rng.standard_normal(c)
    fw, fb = ops.fold_batchnorm(weight, bias, g, b, m, v, 1e-3)
    np.testing.assert_allclose(ops.conv2d(x, fw, fb, padding=1),
                               ops.batchnorm2d(ops.conv2d(x, weight, bias, padding=1), g, b, m, v, 1e-3),
                               rtol=1e-10, atol=1e-10)
    fw, fb = ops.fold_batchnorm(weight, None, g, b, m, v, 1e-3)
    np.testing.assert_allclose(ops.conv2d(x, fw, fb, padding=1),
                               ops.batchnorm2d(ops.conv2d(x, weight, padding=1), g, b, m, v, 1e-3),
                               rtol=1e-10, atol=1e-10)


@settings(max_examples=60, deadline=None)
@given(st.lists(small, min_size=1, max_size=4), seeds)
def test_pointwise_activations(shape, seed):
    x = _x(seed, shape) * 2
    np.testing.assert_allclose(ops.relu6(x), golden.clip(x, 0, 6), rtol=0, atol=0)
    np.testing.assert_allclose(ops.clip(x, -1.5, None), golden.clip(x, -1.5), rtol=0, atol=0)
    np.testing.assert_allclose(ops.hardswish(x), golden.hardswish(x), rtol=1e-14, atol=1e-14)
    np.testing.assert_allclose(ops.gelu(x), golden.gelu(x), rtol=1e-13, atol=1e-15)
    assert ops.dropout(x) is not None and np.array_equal(ops.dropout(x), x)
    q = _x(seed, shape, np.int8)
    assert ops.relu6(q).dtype == np.int8 and np.array_equal(ops.relu6(q), np.clip(q, 0, 6))


def test_gelu_and_hardswish_known_values():
    x = np.array([-3.0, -1.0, 0.0, 1.0, 3.0])
    # Phi(1) = 0.8413447460685429...
    assert ops.gelu(x)[3] == pytest.approx(0.8413447460685429, rel=1e-15)
    assert ops.gelu(x)[1] == pytest.approx(-1 + 0.8413447460685429, rel=1e-14)
    assert ops.hardswish(x).tolist() == [0.0, -1 / 3, 0.0, 2 / 3, 3.0]
    assert ops.gelu(np.float32([1.0])).dtype == np.float32


@settings(max_examples=60, deadline=None)
@given(st.lists(small, min_size=1, max_size=3), st.integers(1, 8), seeds)
def test_layernorm(lead, f, seed):
    rng = np.random.default_rng(seed)
    x = _x(seed, (*lead, f))
    w, b = rng.uniform(0.5, 1.5, f), rng.uniform(-1, 1, f)
    np.testing.assert_allclose(ops.layernorm(x, w, b, 1e-5), golden.layernorm(x, w, b, 1e-5), rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(ops.layernorm(x), golden.layernorm(x), rtol=1e-10, atol=1e-10)


@settings(max_examples=60, deadline=None)
@given(st.lists(small, min_size=0, max_size=2), small, st.integers(1, 6), small, seeds)
def test_matmul_of_two_activations_through_its_gemms(lead, m, k, n, seed):
    a, b = _x(seed, (*lead, m, k)), _x(seed + 1, (*lead, k, n))
    np.testing.assert_allclose(ops.matmul(a, b), golden.matmul(a, b), rtol=1e-12, atol=1e-12)
    qa, qb = _x(seed, (*lead, m, k), np.int8), _x(seed + 1, (*lead, k, n), np.int8)
    gemms = lower_matmul("t", qa, qb)
    assert len(gemms) == math.prod(lead) and all(g.shape == (m, k, n) for g in gemms)
    assert np.array_equal(ops.matmul(qa, qb), golden.matmul(qa, qb))


def test_matmul_rejects_shapes_that_do_not_multiply():
    with pytest.raises(AccelsimError, match=r"matmul: b: shape \(2, 4, 3\) does not multiply a \(2, 3, 5\)"):
        ops.matmul(np.zeros((2, 3, 5)), np.zeros((2, 4, 3)))


@settings(max_examples=60, deadline=None)
@given(small, st.integers(1, 6), st.integers(1, 6), st.integers(1, 5), st.booleans(), seeds)
def test_linear_per_token(n, t, f, o, with_bias, seed):
    rng = np.random.default_rng(seed)
    x, w = _x(seed, (n, t, f)), rng.standard_normal((o, f))
    b = rng.standard_normal(o) if with_bias else None
    y = ops.linear(x, w, b)
    assert y.shape == (n, t, o)
    np.testing.assert_allclose(y, golden.linear(x, w, b), rtol=1e-12, atol=1e-12)
    assert lower_linear("t", x, w).shape == (n * t, f, o)  # M = batch x T


def test_ops_match_onnxruntime():
    """A third route for the ONNX semantics: pooling with ceil_mode and pads, GELU, LayerNormalization."""
    pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    from onnx import TensorProto, helper

    x = _x(3, (2, 3, 9, 8)).astype(np.float32)
    seq = _x(4, (2, 5, 6)).astype(np.float32)
    scale, bias = np.linspace(0.5, 1.5, 6, dtype=np.float32), np.linspace(-1, 1, 6, dtype=np.float32)
    nodes = [
        helper.make_node("MaxPool", ["x"], ["mp"], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 0, 1, 0], ceil_mode=1),
        helper.make_node("AveragePool", ["x"], ["ap"], kernel_shape=[3, 2], strides=[2, 2], pads=[1, 1, 1, 1],
                         ceil_mode=1, count_include_pad=1),
        helper.make_node("AveragePool", ["x"], ["ax"], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1],
                         ceil_mode=1, count_include_pad=0),
        helper.make_node("Gelu", ["seq"], ["ge"]),
        helper.make_node("LayerNormalization", ["seq", "scale", "bias"], ["ln"], axis=-1, epsilon=1e-5),
    ]
    inits = [helper.make_tensor("scale", TensorProto.FLOAT, [6], scale),
             helper.make_tensor("bias", TensorProto.FLOAT, [6], bias)]
    f = TensorProto.FLOAT
    inputs = [helper.make_tensor_value_info("x", f, x.shape), helper.make_tensor_value_info("seq", f, seq.shape)]
    graph = helper.make_graph(
        nodes, "ops", inputs,
        [helper.make_tensor_value_info(n, f, None) for n in ("mp", "ap", "ax", "ge", "ln")], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 20)])
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    mp, ap, ax, ge, ln = sess.run(None, {"x": x, "seq": seq})
    np.testing.assert_allclose(ops.max_pool2d(x, 3, 2, (1, 0), ceil_mode=True), mp, rtol=0, atol=0)
    np.testing.assert_allclose(ops.avg_pool2d(x, (3, 2), 2, 1, ceil_mode=True), ap, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(ops.avg_pool2d(x, 3, 2, 1, ceil_mode=True, count_include_pad=False), ax,
                               rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(ops.gelu(seq), ge, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(ops.layernorm(seq, scale, bias), ln, rtol=1e-5, atol=1e-5)
