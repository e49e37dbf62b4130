"""Shape inference and validation of layers and networks."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from accelsim.errors import AccelsimError
from accelsim.workload.layers import Conv2d, Flatten, Linear, MaxPool2d, ReLU, window_out
from accelsim.workload.network import Network
from accelsim.workload.profile import profile


@pytest.mark.parametrize("stride, out", [(1, 5), (2, 3)])
def test_lecture_output_sizes(stride, out):
    net = Network.sequential("n", (1, 7, 7), [Conv2d("c", 1, 1, 3, stride=stride)], strict=True)
    assert net.output_shape == (1, out, out)


def test_illegal_stride_rejected_in_strict_mode_and_marked_otherwise():
    with pytest.raises(AccelsimError, match=r"layer 'c': stride: illegal stride 3 along height"):
        Network.sequential("n", (1, 7, 7), [Conv2d("c", 1, 1, 3, stride=3)], strict=True)
    net = Network.sequential("n", (1, 7, 7), [Conv2d("c", 1, 1, 3, stride=3)])
    assert net.output_shape == (1, 2, 2)
    assert net.nodes[0].stride_remainder
    assert profile(net)["stride_remainder"].tolist() == [True]


def test_lecture_padding_example():
    net = Network.sequential("n", (3, 32, 32), [Conv2d("c", 3, 10, 5, stride=1, padding=2)])
    assert net.output_shape == (10, 32, 32)
    assert net.params == 760


@pytest.mark.parametrize(
    "make, field",
    [
        (lambda: Conv2d("c", 3, 8, 3, stride=0), "stride"),
        (lambda: Conv2d("c", 3, 8, 0), "kernel_size"),
        (lambda: Conv2d("c", 0, 8, 3), "in_channels"),
        (lambda: Conv2d("c", 3, -8, 3), "out_channels"),
        (lambda: Conv2d("c", 3, 8, 3, padding=-1), "padding"),
        (lambda: Conv2d("c", 3, 8, 3, groups=2), "groups"),
        (lambda: Conv2d("c", 3, 8, 3.5), "kernel_size"),
        (lambda: Linear("f", 0, 3), "in_features"),
        (lambda: MaxPool2d("p", 2, stride=0), "stride"),
    ],
)
def test_bad_layer_fields_name_layer_and_field(make, field):
    with pytest.raises(AccelsimError, match=rf"layer '\w': {field}:"):
        make()


@pytest.mark.parametrize(
    "shape, layers, field",
    [
        ((3, 4, 4), [Conv2d("c", 3, 8, 5)], "kernel_size"),
        ((3, 4, 4), [Conv2d("c", 3, 8, 3, dilation=2)], "kernel_size"),
        ((3, 8, 8), [Conv2d("c", 4, 8, 3)], "in_channels"),
        ((3, 8, 8), [Flatten("f"), Linear("l", 100, 3)], "in_features"),
        ((3, 8, 8), [Linear("l", 192, 3)], "in_features"),
        ((3, 8, 8), [ReLU("r"), ReLU("r")], "name"),
    ],
)
def test_network_validation(shape, layers, field):
    with pytest.raises(AccelsimError, match=rf"layer '\w': {field}:"):
        Network.sequential("n", shape, layers)


@pytest.mark.parametrize("shape", [(0, 8, 8), (3, -1, 8), (8,), (1, 3, 8, 8), (3, 0), "abc"])
def test_bad_input_shape(shape):
    with pytest.raises(AccelsimError, match="input_shape"):
        Network.sequential("n", shape, [ReLU("r")])


@settings(max_examples=300, deadline=None)
@given(
    n=st.integers(1, 40), f=st.integers(1, 9), s=st.integers(1, 5), p=st.integers(0, 4), d=st.integers(1, 3),
)
def test_window_formula_matches_enumeration(n, f, s, p, d):
    span = d * (f - 1) + 1
    starts = list(range(0, n + 2 * p - span + 1, s))
    if span > n + 2 * p:
        with pytest.raises(AccelsimError, match="kernel_size"):
            window_out("x", "height", n, f, s, p, d, False)
        return
    out, rem = window_out("x", "height", n, f, s, p, d, False)
    assert out == len(starts)
    assert rem == (starts[-1] + span != n + 2 * p)
