"""Convolution through im2col + GEMM against the golden loops; col2im; the training GEMMs."""

from dataclasses import dataclass

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from accelsim.errors import AccelsimError
from accelsim.lowering import (
    col2im,
    conv2d,
    conv2d_backward,
    conv2d_backward_gemms,
    conv_gemms,
    gemm_shape,
    gemms_to_nchw,
    golden,
    im2col,
    linear,
    linear_backward,
    linear_gemm,
    training_gemm_shapes,
)
from accelsim.workload.layers import Conv2d, Linear, ReLU
from accelsim.workload.network import Network


@dataclass(frozen=True)
class Case:
    batch: int
    cin: int
    cout: int
    kernel: tuple[int, int]
    stride: tuple[int, int]
    padding: tuple[int, int]
    dilation: tuple[int, int]
    groups: int
    hw: tuple[int, int]
    seed: int

    @property
    def kwargs(self) -> dict:
        return {"stride": self.stride, "padding": self.padding, "dilation": self.dilation, "groups": self.groups}

    @property
    def out_hw(self) -> tuple[int, int]:
        return tuple((n + 2 * p - d * (k - 1) - 1) // s + 1
                     for n, k, s, p, d in zip(self.hw, self.kernel, self.stride, self.padding, self.dilation,
                                              strict=True))

    def arrays(self, ints: bool, high: int = 127):
        rng = np.random.default_rng(self.seed)
        kh, kw = self.kernel
        shapes = ((self.batch, self.cin, *self.hw), (self.cout, self.cin // self.groups, kh, kw), (self.cout,))
        if ints:
            return [rng.integers(-high, high + 1, s, dtype=np.int64) for s in shapes]
        return [rng.standard_normal(s) for s in shapes]


@st.composite
def cases(draw, max_group_channels: int = 3, max_extra: int = 4) -> Case:
    groups = draw(st.integers(1, 3))
    kernel = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    padding = (draw(st.integers(0, 2)), draw(st.integers(0, 2)))
    dilation = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    hw = tuple(
        draw(st.integers(max(1, d * (k - 1) + 1 - 2 * p), d * (k - 1) + 1 - 2 * p + max_extra))
        for k, p, d in zip(kernel, padding, dilation, strict=True)
    )
    return Case(
        batch=draw(st.integers(1, 2)),
        cin=groups * draw(st.integers(1, max_group_channels)),
        cout=groups * draw(st.integers(1, max_group_channels)),
        kernel=kernel, stride=stride, padding=padding, dilation=dilation, groups=groups, hw=hw,
        seed=draw(st.integers(0, 2**32 - 1)),
    )


@settings(max_examples=200, deadline=None)
@given(cases())
def test_conv2d_float_matches_direct_loops(case):
    x, w, b = case.arrays(ints=False)
    y = conv2d(x, w, b, **case.kwargs)
    assert y.shape == (case.batch, case.cout, *case.out_hw)
    np.testing.assert_allclose(y, golden.conv2d(x, w, b, **case.kwargs), rtol=1e-12, atol=1e-12)


@settings(max_examples=150, deadline=None)
@given(cases(), st.sampled_from([127, 2**28]))
def test_conv2d_integer_is_exact(case, high):
    """Values up to 2**28 give products beyond 2**53: any float accumulation would round."""
    x, w, b = case.arrays(ints=True, high=high)
    y = conv2d(x, w, b, **case.kwargs)
    assert y.dtype == np.int64
    assert np.array_equal(y, golden.conv2d(x, w, b, **case.kwargs))


@settings(max_examples=100, deadline=None)
@given(cases())
def test_int8_operands_give_int64_accumulators(case):
    x, w, _ = case.arrays(ints=True)
    x8, w8 = x.astype(np.int8), w.astype(np.int8)
    gemms = conv_gemms(x8, w8, **case.kwargs)
    assert all(g.a.dtype == np.int8 and g.b.dtype == np.int8 for g in gemms)
    acc = [g.compute() for g in gemms]
    assert all(a.dtype == np.int64 for a in acc)
    assert np.array_equal(gemms_to_nchw(acc, case.batch, case.out_hw), golden.conv2d(x8, w8, **case.kwargs))


@settings(max_examples=150, deadline=None)
@given(cases())
def test_im2col_layout(case):
    """Row c*kh*kw + i*kw + j, column (n*OH + oh)*OW + ow holds x[n, c, oh*sh-ph+i*dh, ow*sw-pw+j*dw]."""
    x, _, _ = case.arrays(ints=True)
    cols = im2col(x, case.kernel, case.stride, case.padding, case.dilation)
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = case.kernel, case.stride, case.padding, case.dilation
    oh, ow = case.out_hw
    assert cols.shape == (case.cin * kh * kw, case.batch * oh * ow)
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    for n in range(case.batch):
        for c in range(case.cin):
            for i in range(kh):
                for j in range(kw):
                    for r in range(oh):
                        for s in range(ow):
                            expected = xp[n, c, r * sh + i * dh, s * sw + j * dw]
                            assert cols[c * kh * kw + i * kw + j, (n * oh + r) * ow + s] == expected


@settings(max_examples=150, deadline=None)
@given(cases())
def test_gemm_operands_are_im2col_and_filters(case):
    x, w, b = case.arrays(ints=False)
    gemms = conv_gemms(x, w, **case.kwargs)
    cols = im2col(x, case.kernel, case.stride, case.padding, case.dilation)
    kg, og = cols.shape[0] // case.groups, case.cout // case.groups
    m = case.batch * case.out_hw[0] * case.out_hw[1]
    assert len(gemms) == case.groups
    for g, gemm in enumerate(gemms):
        assert gemm.shape == (m, kg, og)
        assert np.array_equal(gemm.a, cols[g * kg:(g + 1) * kg].T)
        assert np.array_equal(gemm.b, w[g * og:(g + 1) * og].reshape(og, kg).T)
    y = gemms_to_nchw([g.a @ g.b for g in gemms], case.batch, case.out_hw, b)
    np.testing.assert_allclose(y, conv2d(x, w, b, **case.kwargs), rtol=1e-12, atol=1e-12)


@settings(max_examples=200, deadline=None)
@given(cases())
def test_col2im_is_the_adjoint_of_im2col(case):
    """<im2col(x), y> == <x, col2im(y)>, exactly on integers."""
    x, _, _ = case.arrays(ints=True)
    cols = im2col(x, case.kernel, case.stride, case.padding, case.dilation)
    y = np.random.default_rng(case.seed + 1).integers(-50, 51, cols.shape)
    back = col2im(y, x.shape, case.kernel, case.stride, case.padding, case.dilation)
    assert back.shape == x.shape
    assert int(np.sum(cols * y)) == int(np.sum(x * back))


def test_col2im_sums_overlapping_patches():
    ones = np.ones((1, 1, 3, 3))
    counts = col2im(im2col(ones, 2), ones.shape, 2)
    assert counts[0, 0].tolist() == [[1, 2, 1], [2, 4, 2], [1, 2, 1]]


@settings(max_examples=150, deadline=None)
@given(st.integers(1, 3), st.integers(1, 6), st.integers(1, 5), st.integers(0, 2**32 - 1))
def test_linear_matches_direct_loops(batch, fin, fout, seed):
    rng = np.random.default_rng(seed)
    x, w, b = rng.standard_normal((batch, fin, 1, 1)), rng.standard_normal((fout, fin)), rng.standard_normal(fout)
    y = linear(x, w, b)
    assert y.shape == (batch, fout, 1, 1)
    np.testing.assert_allclose(y, golden.linear(x, w, b), rtol=1e-12, atol=1e-12)
    xi, wi = rng.integers(-127, 128, (batch, fin)), rng.integers(-127, 128, (fout, fin))
    assert np.array_equal(linear(xi, wi), golden.linear(xi, wi))
    gemm = linear_gemm(x, w)
    assert gemm.shape == (batch, fin, fout)


def _numeric_grad(loss, v: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    g = np.zeros_like(v)
    for idx in np.ndindex(v.shape):
        old = v[idx]
        v[idx] = old + eps
        up = loss()
        v[idx] = old - eps
        down = loss()
        v[idx] = old
        g[idx] = (up - down) / (2 * eps)
    return g


@settings(max_examples=40, deadline=None)
@given(cases())
def test_conv2d_backward_matches_numerical_gradients(case):
    x, w, b = case.arrays(ints=False)
    gout = np.random.default_rng(case.seed + 1).standard_normal((case.batch, case.cout, *case.out_hw))

    def loss():
        return float(np.sum(conv2d(x, w, b, **case.kwargs) * gout))

    dx, dw, db = conv2d_backward(x, w, gout, **case.kwargs)
    np.testing.assert_allclose(dx, _numeric_grad(loss, x), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(dw, _numeric_grad(loss, w), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(db, _numeric_grad(loss, b), rtol=1e-6, atol=1e-6)


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 3), st.integers(1, 5), st.integers(1, 4), st.integers(0, 2**32 - 1))
def test_linear_backward_matches_numerical_gradients(batch, fin, fout, seed):
    rng = np.random.default_rng(seed)
    x, w, b = rng.standard_normal((batch, fin)), rng.standard_normal((fout, fin)), rng.standard_normal(fout)
    gout = rng.standard_normal((batch, fout))

    def loss():
        return float(np.sum(linear(x, w, b) * gout))

    dx, dw, db = linear_backward(x, w, gout)
    assert dx.shape == x.shape and dw.shape == w.shape
    np.testing.assert_allclose(dx, _numeric_grad(loss, x), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(dw, _numeric_grad(loss, w), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(db, _numeric_grad(loss, b), rtol=1e-6, atol=1e-6)


@settings(max_examples=100, deadline=None)
@given(cases())
def test_training_gemm_shapes_match_the_backward_gemms(case):
    x, w, _ = case.arrays(ints=False)
    layer = Conv2d("c", case.cin, case.cout, case.kernel, **case.kwargs)
    node = Network.independent("n", [(layer, (case.cin, *case.hw))]).nodes[0]
    gout = np.zeros((case.batch, case.cout, *case.out_hw))
    gemms = conv2d_backward_gemms(x, w, gout, **case.kwargs)
    shapes = training_gemm_shapes(node, case.batch)
    fwd = gemm_shape(node, case.batch)
    assert {g.shape for g in conv_gemms(x, w, **case.kwargs)} == {(fwd.m, fwd.k, fwd.n)}
    assert {g.shape for g in gemms.weight_grad} == {(shapes.weight_grad.m, shapes.weight_grad.k, shapes.weight_grad.n)}
    assert {g.shape for g in gemms.input_grad} == {(shapes.input_grad.m, shapes.input_grad.k, shapes.input_grad.n)}
    assert shapes.weight_grad.count == shapes.input_grad.count == fwd.count == case.groups
    assert shapes.weight_grad.macs == shapes.input_grad.macs == fwd.macs == sum(g.macs for g in gemms.input_grad)
    assert shapes.macs == 2 * fwd.macs


def test_training_gemm_shapes_convention():
    """Conv: M = out pixels x batch, K = C*kh*kw, N = filters; weight grad (N, M, K), input grad (K, N, M)."""
    net = Network.sequential("t", (3, 8, 8), [Conv2d("c", 3, 4, 3), ReLU("r")])
    shapes = training_gemm_shapes(net.nodes[0], batch=2)
    assert (shapes.weight_grad.m, shapes.weight_grad.k, shapes.weight_grad.n) == (4, 2 * 36, 27)
    assert (shapes.input_grad.m, shapes.input_grad.k, shapes.input_grad.n) == (27, 4, 2 * 36)
    assert training_gemm_shapes(net.nodes[1], batch=2) is None
    fc = Network.independent("f", [(Linear("fc", 10, 5), (10, 1, 1))]).nodes[0]
    shapes = training_gemm_shapes(fc, batch=3)
    assert (shapes.weight_grad.m, shapes.weight_grad.k, shapes.weight_grad.n) == (5, 3, 10)
    assert (shapes.input_grad.m, shapes.input_grad.k, shapes.input_grad.n) == (10, 5, 3)
    assert shapes.macs == 2 * 150


X = np.zeros((1, 4, 5, 5))
W = np.zeros((2, 4, 3, 3))


@pytest.mark.parametrize("call, match", [
    (lambda: im2col(np.zeros((1, 1, 3, 3)), 5),
     r"im2col: kernel_size: kernel extent 5 along height is larger than the padded input 3"),
    (lambda: im2col(np.zeros((1, 1, 3, 3)), (1, 3), dilation=(1, 2)),
     r"im2col: kernel_size: kernel extent 5 along width"),
    (lambda: im2col(np.zeros((3, 3)), 2), r"im2col: x: expected a 4-D NCHW array"),
    (lambda: im2col(X, 0), r"im2col: kernel_size: must be >= 1, got 0"),
    (lambda: im2col(X, 2.5), r"im2col: kernel_size: expected an integer"),
    (lambda: im2col(X, (2, 2, 2)), r"im2col: kernel_size: expected an integer or a pair"),
    (lambda: conv2d(X, W, stride=0), r"conv2d: stride: must be >= 1, got 0"),
    (lambda: conv2d(X, W, padding=-1), r"conv2d: padding: must be >= 0, got -1"),
    (lambda: conv2d(X, W, dilation=(1, 0)), r"conv2d: dilation: must be >= 1, got 0"),
    (lambda: conv2d(X, np.zeros((2, 3, 3, 3))), r"conv2d: weight: has 3 input channels per group but x has 4"),
    (lambda: conv2d(X, np.zeros((3, 2, 3, 3)), groups=2), r"conv2d: groups: 2 does not divide the 3 output channels"),
    (lambda: conv2d(X, np.zeros((3, 1, 3, 3)), groups=3), r"conv2d: groups: 3 does not divide the 4 input channels"),
    (lambda: conv2d(X, W, groups=0), r"conv2d: groups: must be >= 1"),
    (lambda: conv2d(X, W, bias=np.zeros(3)), r"conv2d: bias: has 3 entries for 2 output channels"),
    (lambda: conv2d(X, np.zeros((2, 4, 3))), r"conv2d: weight: expected a 4-D OIHW array"),
    (lambda: conv2d(X, np.zeros((2, 4, 7, 1))), r"conv2d: kernel_size: kernel extent 7 along height"),
    (lambda: conv2d(X.astype(complex), W), r"conv2d: x: expected a real numeric array"),
    (lambda: col2im(np.zeros((5, 9)), (1, 4, 5, 5), 3), r"col2im: cols: expected shape \(36, 9\)"),
    (lambda: col2im(np.zeros((36, 9)), (4, 5, 5), 3), r"col2im: input_shape: expected \(N, C, H, W\)"),
    (lambda: linear(np.zeros((2, 4)), np.zeros((3, 5))), r"linear: weight: has 5 input features but x has 4"),
    (lambda: linear(X, np.zeros((3, 4))), r"linear: x: expected \(N, F\) or \(N, F, 1, 1\)"),
    (lambda: conv2d_backward(X, W, np.zeros((1, 2, 4, 4))),
     r"conv2d_backward: grad_out: expected the output shape \(1, 2, 3, 3\)"),
    (lambda: golden.conv2d(X, W, stride=0), r"golden.conv2d: stride: must be >= 1"),
    (lambda: golden.convolve2d(np.zeros((3, 3)), np.zeros((2, 2)), "wide"),
     r"golden.convolve2d: mode: expected one of"),
])
def test_bad_arguments_name_the_argument(call, match):
    with pytest.raises(AccelsimError, match=match):
        call()
