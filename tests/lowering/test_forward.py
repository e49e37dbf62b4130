"""Network forward passes: im2col path against the direct loops, int8 bit-exactness, the zoo."""

from itertools import pairwise

import numpy as np
import pytest

from accelsim.errors import AccelsimError
from accelsim.lowering import (
    forward,
    forward_int,
    gemm_shape,
    gemms_to_nchw,
    golden,
    im2col,
    init_params,
    local_response_norm,
    quant,
    quantize_network,
    random_inputs,
    sigmoid,
    softmax,
)
from accelsim.workload import zoo
from accelsim.workload.layers import (
    AvgPool2d,
    Conv2d,
    Flatten,
    Linear,
    LocalResponseNorm,
    MaxPool2d,
    ReLU,
    Sigmoid,
    Softmax,
    Tanh,
)
from accelsim.workload.network import Network

LENETS = ["lenet5", "lenet5-28"]


def _gemm_nodes(run):
    return [r for r in run.layers if isinstance(r.node.layer, (Conv2d, Linear))]


@pytest.mark.parametrize("name", LENETS)
def test_lenet_float_im2col_matches_direct_loops(name):
    net = zoo.get(name)
    lowered = forward(net, batch=2, seed=7)
    direct = forward(net, batch=2, seed=7, direct=True)
    for a, b in zip(lowered.layers, direct.layers, strict=True):
        assert a.output.dtype == b.output.dtype == np.float32
        assert a.output.shape == (2, *a.node.output_shape)
        np.testing.assert_allclose(a.output, b.output, rtol=1e-5, atol=1e-5 * np.abs(b.output).max(),
                                   err_msg=a.node.layer.name)


@pytest.mark.parametrize("name", LENETS)
def test_lenet_int8_im2col_matches_direct_loops_exactly(name):
    qnet = quantize_network(zoo.get(name), batch=2, seed=7)
    lowered = forward_int(qnet, batch=2, seed=7)
    direct = forward_int(qnet, batch=2, seed=7, direct=True)
    for a, b in zip(lowered.layers, direct.layers, strict=True):
        assert a.output.dtype == b.output.dtype == np.int8, a.node.layer.name
        assert a.output.min() >= -127
        assert np.array_equal(a.output, b.output), a.node.layer.name


def test_int_forward_is_deterministic():
    net = zoo.get("lenet5")
    runs = [forward_int(quantize_network(net, seed=3), seed=3, record=True) for _ in range(2)]
    for a, b in zip(*(r.layers for r in runs), strict=True):
        assert a.scale == b.scale
        assert np.array_equal(a.output, b.output)
        assert all(np.array_equal(x, y) for x, y in zip(a.acc, b.acc, strict=True))
    other = forward_int(quantize_network(net, seed=4), seed=4)
    assert not np.array_equal(other["conv1"].output, runs[0]["conv1"].output)


def test_recorded_gemms_and_int32_accumulators():
    """Per conv/linear layer: int8 operands, acc = A @ B in int32, and the layer's output derived from it."""
    net = zoo.get("lenet5")
    qnet = quantize_network(net, batch=2)
    run = forward_int(qnet, batch=2, record=True)
    first = quant.quantize(random_inputs(net, 2)[0], qnet.layers[0].in_scale)
    prev = {n.layer.name: run.layers[i - 1].output if i else first for i, n in enumerate(net.nodes)}
    for r in _gemm_nodes(run):
        layer, ql = r.node.layer, qnet[r.node.layer.name]
        shape = gemm_shape(r.node, batch=2)
        assert len(r.gemms) == len(r.acc) == shape.count
        for g, acc in zip(r.gemms, r.acc, strict=True):
            assert g.a.dtype == g.b.dtype == np.int8
            assert g.shape == (shape.m, shape.k, shape.n)
            assert acc.dtype == np.int32
            assert np.array_equal(acc, g.a.astype(np.int64) @ g.b.astype(np.int64))
        x = prev[layer.name]
        if isinstance(layer, Conv2d):
            assert np.array_equal(r.gemms[0].a, im2col(x, layer.kernel_size, layer.stride, layer.padding).T)
            ref = golden.conv2d(x, ql.weight, stride=layer.stride, padding=layer.padding)
            y = gemms_to_nchw(r.acc, 2, r.node.output_shape[1:])
        else:
            ref = golden.linear(x, ql.weight)
            y = r.acc[0].reshape(2, -1, 1, 1)
        assert np.array_equal(y, ref)
        with_bias = y.astype(np.int64) + ql.bias.reshape(1, -1, 1, 1)
        assert np.array_equal(r.output, quant.requantize(with_bias, ql.multiplier))


def _every_layer_type() -> Network:
    return Network.sequential("every", (3, 9, 9), [
        Conv2d("conv", 3, 8, 3, padding=1), ReLU("relu"), MaxPool2d("max", 3, 2, padding=1),
        LocalResponseNorm("lrn", size=3, alpha=1.0, k=1.0), AvgPool2d("avg", 2, 1), Tanh("tanh"),
        Conv2d("gconv", 8, 4, 2, groups=2), Sigmoid("sigmoid"), Flatten("flatten"), Linear("fc", 36, 5),
        Softmax("softmax"),
    ])


def _documented_rule(layer, q: np.ndarray, ql) -> np.ndarray | None:
    """A non-GEMM layer's int8 output as the forward module's docstring states it (None for conv/linear)."""
    if isinstance(layer, ReLU):
        return np.maximum(q, 0)
    if isinstance(layer, MaxPool2d):
        return golden.max_pool2d(q, layer.kernel_size, layer.stride, layer.padding)
    if isinstance(layer, AvgPool2d):
        return np.rint(golden.avg_pool2d(q, layer.kernel_size, layer.stride, layer.padding))
    if isinstance(layer, Flatten):
        return q.reshape(q.shape[0], -1, 1, 1)
    real = q.astype(np.float64) * ql.in_scale
    if isinstance(layer, LocalResponseNorm):
        real = local_response_norm(real, layer.size, layer.alpha, layer.beta, layer.k)
    elif isinstance(layer, (Tanh, Sigmoid, Softmax)):
        assert ql.out_scale == 1 / 127
        real = {Tanh: np.tanh, Sigmoid: sigmoid, Softmax: softmax}[type(layer)](real)
    else:
        return None
    return np.clip(np.rint(real / ql.out_scale), -127, 127)


def test_int_layers_follow_the_documented_rules():
    """Each non-GEMM layer's int8 output recomputed from the previous one with the rule written out."""
    net = _every_layer_type()
    qnet = quantize_network(net, batch=3, seed=5)
    run = forward_int(qnet, batch=3, seed=5)
    checked = 0
    for prev, cur in pairwise(run.layers):
        layer, ql = cur.node.layer, qnet[cur.node.layer.name]
        assert ql.in_scale == prev.scale and cur.output.dtype == np.int8
        if isinstance(layer, (ReLU, MaxPool2d, AvgPool2d, Flatten)):
            assert ql.out_scale == ql.in_scale
        expected = _documented_rule(layer, prev.output, ql)
        if expected is not None:
            assert np.array_equal(cur.output, expected), layer.name
            checked += 1
    assert checked == 8


def test_int_forward_approximates_the_float_forward():
    net = zoo.get("lenet5")
    params = init_params(net, seed=1)
    ref = forward(net, params, batch=4, seed=1).output
    run = forward_int(quantize_network(net, params, batch=4, seed=1), batch=4, seed=1)
    got = run.output.astype(np.float64) * run.layers[-1].scale
    assert np.abs(got - ref).max() < 0.03
    assert (got.argmax(axis=1) == ref.argmax(axis=1)).mean() >= 0.75


def test_params_are_seeded_he_init():
    net = zoo.get("lenet5")
    a, b, c = init_params(net, 0), init_params(net, 0), init_params(net, 1)
    assert set(a) == {"conv1", "conv2", "conv3", "fc1", "fc2"}
    assert all(np.array_equal(a[k].weight, b[k].weight) and np.array_equal(a[k].bias, b[k].bias) for k in a)
    assert not np.array_equal(a["conv2"].weight, c["conv2"].weight)
    assert a["conv2"].weight.shape == (16, 6, 5, 5) and a["conv2"].weight.dtype == np.float32
    assert abs(a["conv3"].weight.std() / np.sqrt(2 / 400) - 1) < 0.05
    assert np.abs(a["conv3"].weight).max() <= np.sqrt(6 / 400)


def _zoo_params(names):
    """The zoo networks; the VGGs (about 3 s each, mostly drawing 130M+ weights) are marked slow."""
    return [pytest.param(n, marks=pytest.mark.slow) if n.startswith("vgg") else n for n in names]


@pytest.mark.parametrize("name", _zoo_params(zoo.ZOO))
def test_every_zoo_network_runs_in_float32(name):
    net = zoo.get(name)
    run = forward(net)
    for r in run.layers:
        assert r.output.shape == (1, *r.node.output_shape), r.node.layer.name
        assert r.output.dtype == np.float32 and np.isfinite(r.output).all()
    if isinstance(net.nodes[-1].layer, Softmax):
        assert run.output.sum() == pytest.approx(1.0, rel=1e-5)


@pytest.mark.parametrize("name", ["lenet5-28", pytest.param("alexnet-tv", marks=pytest.mark.slow)])
def test_zoo_network_runs_in_int8(name):
    net = zoo.get(name)
    run = forward_int(quantize_network(net), record=True)
    for r in run.layers:
        assert r.output.shape == (1, *r.node.output_shape) and r.output.dtype == np.int8
    for r in _gemm_nodes(run):
        s = gemm_shape(r.node)
        assert [g.shape for g in r.gemms] == [(s.m, s.k, s.n)] * s.count
        assert all(a.dtype == np.int32 and a.shape == (s.m, s.n) for a in r.acc)


def _independent() -> Network:
    return Network.independent("scalesim", [
        (Conv2d("a", 3, 4, 3, padding=1), (3, 6, 6)),
        (Conv2d("b", 4, 6, (3, 2), stride=2, groups=2), (4, 9, 7)),
        (ReLU("r"), (2, 3, 3)),
        (Linear("fc", 12, 5), (12, 1, 1)),
    ])


def test_independent_layers_each_run_on_their_own_input():
    net = _independent()
    params = init_params(net, seed=2)
    inputs = random_inputs(net, batch=2, seed=2)
    assert [x.shape[1:] for x in inputs] == [n.input_shape for n in net.nodes]
    run = forward(net, params, batch=2, seed=2)
    for x, r in zip(inputs, run.layers, strict=True):
        layer, p = r.node.layer, params.get(r.node.layer.name)
        if isinstance(layer, Conv2d):
            ref = golden.conv2d(x, p.weight, p.bias, stride=layer.stride, padding=layer.padding, groups=layer.groups)
        elif isinstance(layer, Linear):
            ref = golden.linear(x, p.weight, p.bias)
        else:
            ref = np.maximum(x, 0)
        np.testing.assert_allclose(r.output, ref, rtol=1e-5, atol=1e-5)

    qnet = quantize_network(net, params, inputs)
    lowered = forward_int(qnet, inputs, record=True)
    direct = forward_int(qnet, inputs, direct=True)
    assert all(np.array_equal(a.output, b.output) for a, b in zip(lowered.layers, direct.layers, strict=True))
    assert len(lowered["b"].gemms) == 2


def test_forward_rejects_inputs_of_the_wrong_shape():
    net = zoo.get("lenet5")
    with pytest.raises(AccelsimError, match=r"forward: x: expected shape \(N, 1, 32, 32\), got \(1, 1, 28, 28\)"):
        forward(net, x=np.zeros((1, 1, 28, 28)))
    with pytest.raises(AccelsimError, match=r"forward: x: network 'scalesim' has independent layers"):
        forward(_independent(), x=np.zeros((1, 3, 6, 6)))
    with pytest.raises(AccelsimError, match=r"forward: batch: must be >= 1"):
        forward(net, batch=0)
