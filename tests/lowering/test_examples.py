"""The lectures' worked examples, through the golden loops and through the lowering."""

import numpy as np
import pytest

from accelsim.lowering import avg_pool2d, conv2d, golden, im2col, max_pool2d

BOX = [4, 3, 2, -5, 3, 5, 2, 5, 5, 6]


def test_cross_correlation_3x3_by_2x2():
    x = np.arange(9).reshape(3, 3)
    k = np.array([[0, 1], [2, 3]])
    expected = [[19, 25], [37, 43]]
    assert golden.correlate2d(x, k).tolist() == expected
    assert conv2d(x[None, None], k[None, None])[0, 0].tolist() == expected
    assert (k.reshape(1, 4) @ im2col(x[None, None], 2)).reshape(2, 2).tolist() == expected


def test_full_1d_convolution():
    assert golden.convolve1d([3, 4, 5], [2, 1]).tolist() == [6, 11, 14, 5]


def test_full_1d_convolution_is_flipped_kernel_with_full_padding():
    """Convolution = cross-correlation with the flipped kernel on an input padded by len(h)-1."""
    x, h = np.array([3, 4, 5]), np.array([2, 1])
    y = conv2d(x[None, None, None], h[::-1][None, None, None], padding=(0, len(h) - 1))
    assert y.ravel().tolist() == [6, 11, 14, 5]


def test_box_filter_without_padding():
    expected = [3, 0, 0, 1, 10 / 3, 4, 4, 16 / 3]
    np.testing.assert_allclose(golden.correlate1d(BOX, [1 / 3] * 3), expected, atol=1e-12)
    lowered = conv2d(np.array(BOX, float)[None, None, None], np.full((1, 1, 1, 3), 1 / 3))
    np.testing.assert_allclose(lowered.ravel(), expected, atol=1e-12)


def test_box_filter_with_zero_padding():
    y = golden.correlate1d(BOX, [1 / 3] * 3, padding=1)
    lowered = conv2d(np.array(BOX, float)[None, None, None], np.full((1, 1, 1, 3), 1 / 3), padding=(0, 1)).ravel()
    for v in (y, lowered):
        assert len(v) == len(BOX)
        assert v[0] == pytest.approx(7 / 3)
        assert v[-1] == pytest.approx(11 / 3)
        np.testing.assert_allclose(v[1:-1], [3, 0, 0, 1, 10 / 3, 4, 4, 16 / 3], atol=1e-12)


def test_true_2d_convolution_flips_the_kernel():
    """The lectures' 3x3 example: y[0,0] = -13, y[1,0] = -20, y[2,0] = -17 in (column, row) indexing."""
    x = np.arange(1, 10).reshape(3, 3)
    h = np.array([[-1, -2, -1], [0, 0, 0], [1, 2, 1]])
    y = golden.convolve2d(x, h, "same")
    assert y[0].tolist() == [-13, -20, -17]
    assert y.tolist() == [[-13, -20, -17], [-18, -24, -18], [13, 20, 17]]
    assert golden.correlate2d(x, h, padding=1).tolist() != y.tolist()
    assert golden.correlate2d(x, h[::-1, ::-1], padding=1).tolist() == y.tolist()


POOL4 = np.array([[3, 1, 3, 5], [6, 0, 7, 9], [3, 2, 1, 4], [0, 2, 4, 3]])[None, None]
POOL5 = np.array([[1, 2, 5, 10, 7], [0, 5, 1, 4, 0], [0, 4, 9, 3, 15], [0, 0, 2, 4, 5], [0, 7, 2, 0, 0]])[None, None]


@pytest.mark.parametrize("impl", ["lowered", "golden"])
def test_pooling_2x2_stride_2(impl):
    mx, av = (golden.max_pool2d, golden.avg_pool2d) if impl == "golden" else (max_pool2d, avg_pool2d)
    assert mx(POOL4, 2, 2)[0, 0].tolist() == [[6, 9], [3, 4]]
    assert av(POOL4, 2, 2)[0, 0].tolist() == [[2.5, 6], [1.75, 3]]


@pytest.mark.parametrize("impl", ["lowered", "golden"])
def test_pooling_3x3_stride_1(impl):
    mx, av = (golden.max_pool2d, golden.avg_pool2d) if impl == "golden" else (max_pool2d, avg_pool2d)
    assert mx(POOL5, 3, 1)[0, 0, 0].tolist() == [9, 10, 15]
    assert np.round(av(POOL5, 3, 1)[0, 0, 0], 1).tolist() == [3, 4.8, 6]
