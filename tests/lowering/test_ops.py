"""Pooling against the golden loops, and the pointwise/normalization operators from their definitions."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from accelsim.errors import AccelsimError
from accelsim.lowering import (
    avg_pool2d,
    flatten,
    golden,
    local_response_norm,
    max_pool2d,
    relu,
    sigmoid,
    softmax,
    tanh,
)


@st.composite
def pools(draw):
    kernel = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    padding = tuple(draw(st.integers(0, k // 2)) for k in kernel)
    hw = tuple(draw(st.integers(max(1, k - 2 * p), k - 2 * p + 5)) for k, p in zip(kernel, padding, strict=True))
    shape = (draw(st.integers(1, 2)), draw(st.integers(1, 3)), *hw)
    return shape, kernel, stride, padding, draw(st.integers(0, 2**32 - 1))


@settings(max_examples=200, deadline=None)
@given(pools())
def test_pooling_matches_direct_loops(case):
    shape, kernel, stride, padding, seed = case
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape) - 3  # mostly negative: a padded zero must not win the max
    q = rng.integers(-128, 128, shape).astype(np.int8)
    out_hw = tuple((n + 2 * p - k) // s + 1 for n, k, s, p in zip(shape[2:], kernel, stride, padding, strict=True))
    mx = max_pool2d(x, kernel, stride, padding)
    assert mx.shape == (*shape[:2], *out_hw)
    assert np.array_equal(mx, golden.max_pool2d(x, kernel, stride, padding))
    np.testing.assert_allclose(avg_pool2d(x, kernel, stride, padding), golden.avg_pool2d(x, kernel, stride, padding),
                               rtol=1e-12, atol=1e-12)
    mq = max_pool2d(q, kernel, stride, padding)
    assert mq.dtype == np.int8 and np.array_equal(mq, golden.max_pool2d(q, kernel, stride, padding))
    assert np.array_equal(avg_pool2d(q, kernel, stride, padding), golden.avg_pool2d(q, kernel, stride, padding))


def test_max_ignores_padding_and_average_counts_it():
    x = -np.ones((1, 1, 2, 2))
    assert max_pool2d(x, 2, 2, padding=1)[0, 0].tolist() == [[-1, -1], [-1, -1]]
    assert avg_pool2d(x, 2, 2, padding=1)[0, 0].tolist() == [[-0.25, -0.25], [-0.25, -0.25]]


def test_pool_stride_defaults_to_the_kernel():
    x = np.arange(16.0).reshape(1, 1, 4, 4)
    assert max_pool2d(x, 2).tolist() == max_pool2d(x, 2, 2).tolist() == [[[[5, 7], [13, 15]]]]


def _lrn_loops(x, size, alpha, beta, k):
    """b_c = a_c / (k + alpha/size * sum_{j = c - size//2}^{c + (size-1)//2} a_j^2)^beta."""
    n, c, h, w = x.shape
    out = np.empty_like(x)
    for b in range(n):
        for ch in range(c):
            for r in range(h):
                for s in range(w):
                    lo, hi = max(0, ch - size // 2), min(c, ch + (size - 1) // 2 + 1)
                    total = sum(x[b, j, r, s] ** 2 for j in range(lo, hi))
                    out[b, ch, r, s] = x[b, ch, r, s] / (k + alpha / size * total) ** beta
    return out


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 8), st.integers(1, 6), st.floats(1e-4, 1.0), st.floats(0.1, 1.0), st.floats(0.5, 3.0),
       st.integers(0, 2**32 - 1))
def test_lrn_matches_its_definition(channels, size, alpha, beta, k, seed):
    x = np.random.default_rng(seed).standard_normal((2, channels, 2, 3)) * 3
    np.testing.assert_allclose(local_response_norm(x, size, alpha, beta, k), _lrn_loops(x, size, alpha, beta, k),
                               rtol=1e-12)


def test_lrn_defaults_are_alexnets():
    x = np.zeros((1, 5, 1, 1))
    x[0, 2] = 10.0
    expected = 10 / (2 + 1e-4 / 5 * 100) ** 0.75
    assert local_response_norm(x)[0, 2, 0, 0] == pytest.approx(expected, rel=1e-12)


def test_softmax_over_channels():
    x = np.array([[1.0, 2.0, 3.0], [1000.0, 1000.0, 1000.0]]).reshape(2, 3, 1, 1)
    y = softmax(x)
    e = np.exp([1.0, 2.0, 3.0])
    np.testing.assert_allclose(y[0].ravel(), e / e.sum(), rtol=1e-12)
    np.testing.assert_allclose(y[1].ravel(), [1 / 3] * 3, rtol=1e-12)


def test_pointwise_activations():
    x = np.array([-1000.0, -2.0, 0.0, 0.5, 1000.0])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        s = sigmoid(x)
    np.testing.assert_allclose(s[1:4], [1 / (1 + math.exp(2)), 0.5, 1 / (1 + math.exp(-0.5))], rtol=1e-12)
    assert s[0] == 0.0 and s[-1] == 1.0
    np.testing.assert_allclose(tanh(x), [-1, math.tanh(-2), 0, math.tanh(0.5), 1], rtol=1e-12)
    q = np.array([-5, 0, 7], dtype=np.int8)
    assert relu(q).dtype == np.int8 and relu(q).tolist() == [0, 0, 7]


def test_flatten_is_channel_major():
    x = np.arange(24).reshape(2, 3, 2, 2)
    y = flatten(x)
    assert y.shape == (2, 12, 1, 1)
    assert y[1, :, 0, 0].tolist() == [x[1, c, i, j] for c in range(3) for i in range(2) for j in range(2)]


@pytest.mark.parametrize("call, match", [
    (lambda: max_pool2d(np.zeros((1, 1, 4, 4)), 2, padding=2),
     r"max_pool2d: padding: 2 is more than half the kernel size 2"),
    (lambda: avg_pool2d(np.zeros((1, 1, 4, 4)), 2, stride=0), r"avg_pool2d: stride: must be >= 1, got 0"),
    (lambda: max_pool2d(np.zeros((1, 1, 2, 2)), 3), r"max_pool2d: kernel_size: kernel extent 3 along height"),
    (lambda: local_response_norm(np.zeros((1, 3, 2, 2)), size=0), r"local_response_norm: size: must be >= 1"),
])
def test_bad_arguments_name_the_argument(call, match):
    with pytest.raises(AccelsimError, match=match):
        call()
