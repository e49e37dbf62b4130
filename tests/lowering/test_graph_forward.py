"""Forward passes over a layer graph: float32 against a direct computation, int8 bit-exact against an
independent integer implementation of the documented rules, attention, network weights, freeing."""

import math

import numpy as np
import pytest

import accelsim
from accelsim.errors import AccelsimError
from accelsim.lowering import (
    bn_folds,
    forward,
    forward_int,
    golden,
    init_params,
    params_for,
    quant,
    quantize_network,
    random_inputs,
)
from accelsim.workload.layers import (
    GELU,
    AdaptiveAvgPool2d,
    Add,
    BatchNorm2d,
    Clip,
    Concat,
    Conv2d,
    Dropout,
    Flatten,
    GlobalAvgPool2d,
    Hardswish,
    LayerNorm,
    Linear,
    MatMul,
    MaxPool2d,
    ReLU,
    ReLU6,
    Softmax,
    Tanh,
)
from accelsim.workload.network import Network
from tests.lowering import tflite_ref


def residual_graph() -> Network:
    """A stem, a residual block with a batch-normed conv, a two-branch concat, and a head."""
    return Network.graph("res", (3, 9, 9), [
        (Conv2d("stem", 3, 4, 3, padding=1, bias=False), None),
        (BatchNorm2d("stem_bn", 4), None),
        (ReLU("stem_relu"), None),
        (Conv2d("c1", 4, 4, 3, padding=1), None),
        (BatchNorm2d("bn1", 4), None),
        (ReLU6("r6"), None),
        (Add("add", ), ["r6", "stem_relu"]),
        (Conv2d("b1", 4, 3, 1), ["add"]),
        (Conv2d("b2", 4, 2, 3, padding=1, groups=2), ["add"]),
        (MaxPool2d("b3", 3, 1, padding=1, ceil_mode=True), ["add"]),
        (Concat("cat"), ["b1", "b2", "b3"]),
        (BatchNorm2d("cat_bn", 9), None),  # after a concat: not foldable
        (Hardswish("hs"), None),
        (MaxPool2d("pool", 2, 2, ceil_mode=True), None),  # 9 -> 5
        (AdaptiveAvgPool2d("adapt", 3), None),
        (GlobalAvgPool2d("gap"), None),
        (Dropout("drop"), None),
        (Flatten("flat"), None),
        (Linear("fc", 9, 5), None),
    ])


def _direct_float(net: Network, params, x: np.ndarray) -> np.ndarray:
    """The residual graph written out by hand with the direct loops (float64)."""
    p = params
    bn = lambda v, q: golden.batchnorm2d(v, q.weight, q.bias, q.running_mean, q.running_var)  # noqa: E731
    s = golden.clip(bn(golden.conv2d(x, p["stem"].weight, padding=1), p["stem_bn"]), 0, None)
    c = bn(golden.conv2d(s, p["c1"].weight, p["c1"].bias, padding=1), p["bn1"])
    a = golden.add(golden.clip(c, 0, 6), s)
    cat = golden.concat(golden.conv2d(a, p["b1"].weight, p["b1"].bias),
                        golden.conv2d(a, p["b2"].weight, p["b2"].bias, padding=1, groups=2),
                        golden.max_pool2d(a, 3, 1, 1, ceil_mode=True))
    h = golden.hardswish(bn(cat, p["cat_bn"]))
    h = golden.adaptive_avg_pool2d(golden.max_pool2d(h, 2, 2, ceil_mode=True), 3)
    g = golden.global_avg_pool2d(h)
    return golden.linear(g.reshape(g.shape[0], -1), p["fc"].weight, p["fc"].bias)


def test_float_forward_of_a_residual_concat_graph_matches_a_direct_computation():
    net = residual_graph()
    assert not net.is_chain and net.output_shape == (5, 1, 1)
    params = init_params(net, seed=2)
    x = random_inputs(net, batch=2, seed=2)[0]
    run = forward(net, params, x)
    assert run.output.dtype == np.float32 and run.output.shape == (2, 5, 1, 1)
    np.testing.assert_allclose(run.output[:, :, 0, 0], _direct_float(net, params, x.astype(np.float64)),
                               rtol=1e-4, atol=1e-5)
    direct = forward(net, params, x, direct=True)
    np.testing.assert_allclose(direct.output, run.output, rtol=1e-5, atol=1e-6)


def test_keep_false_frees_intermediates_and_keeps_the_output():
    net = residual_graph()
    full, lean = forward(net, seed=1), forward(net, seed=1, keep=False)
    assert np.array_equal(full.output, lean.output)
    assert all(r.output is None for r in lean.layers[:-1])
    assert [r.max_abs for r in full.layers] == [r.max_abs for r in lean.layers]
    q = quantize_network(net, seed=1)
    assert np.array_equal(forward_int(q, seed=1).output, forward_int(q, seed=1, keep=False).output)


# ---- int8: an independent integer implementation of the documented rules -----------------------

def _rq(v, m):
    """rint(v * m) half to even, clipped to +-127, on Python numbers (quantizing real values)."""
    return max(-127, min(127, round(v * m)))


def _rq_int(v, m, lo=-127, hi=127):
    """The output stage on an int32 value: TFLite's integer multiply by ``m``, clamped to [lo, hi]."""
    return max(lo, min(hi, tflite_ref.multiply_by_quantized_multiplier(v, *tflite_ref.quantize_multiplier(m))))


def _conv_int(x, w, bias, multiplier, lo=-127, hi=127, **kw):
    acc = golden.conv2d(x, w, **kw).astype(object)
    if bias is not None:
        acc = acc + np.asarray(bias, dtype=object).reshape(1, -1, 1, 1)
    return np.vectorize(lambda v: _rq_int(int(v), multiplier, lo, hi), otypes=[np.int64])(acc)


def _table(q, fn, s_in, s_out):
    return np.vectorize(lambda v: _rq(fn(v * s_in), 1 / s_out), otypes=[np.int64])(q)


def test_int8_forward_is_bit_exact_with_an_independent_integer_implementation():
    net = residual_graph()
    qnet = quantize_network(net, batch=2, seed=3)
    run = forward_int(qnet, batch=2, seed=3)
    assert bn_folds(net) == {"stem_bn": "stem", "bn1": "c1"}
    x = random_inputs(net, batch=2, seed=3)[0]
    Q = {n.layer.name: qnet[n.layer.name] for n in net.nodes}
    s_x = Q["stem"].in_scale
    xq = np.vectorize(lambda v: _rq(float(v), 1 / s_x), otypes=[np.int64])(x.astype(np.float64))

    def conv(name, v, lo=-127, hi=127, **kw):
        q = Q[name]
        return _conv_int(v, q.weight.astype(np.int64), q.bias, q.in_scale * q.weight_scale / q.out_scale, lo, hi,
                         **kw)

    # BN folded into stem and c1: their int8 weights are the folded float weights quantized.
    p = init_params(net, seed=3)
    for conv_name, bn_name in (("stem", "stem_bn"), ("c1", "bn1")):
        b = p[bn_name]
        g = b.weight.astype(np.float64) / np.sqrt(b.running_var.astype(np.float64) + 1e-5)
        fw = p[conv_name].weight.astype(np.float64) * g.reshape(-1, 1, 1, 1)
        s_w = float(np.abs(fw).max()) / 127
        assert Q[conv_name].weight_scale == s_w
        assert np.array_equal(Q[conv_name].weight, np.clip(np.rint(fw / s_w), -127, 127))
        assert Q[bn_name].folded and Q[bn_name].out_scale == Q[conv_name].out_scale

    # stem_relu and r6 are fused into their convs' output stages: r6's calibrated scale is c1's.
    assert (Q["stem"].activation, Q["c1"].activation) == ("relu", "relu6")
    assert Q["stem_relu"].folded and Q["r6"].folded
    calib = forward(net, p, x)
    assert Q["c1"].out_scale == Q["r6"].out_scale == calib["r6"].max_abs / 127
    s = conv("stem", xq, 0, 127, padding=1)
    r6 = conv("c1", s, 0, min(127, math.floor(6 / Q["c1"].out_scale + 0.5)), padding=1)
    add_q = Q["add"]
    a = np.clip(sum(np.vectorize(lambda v, m=si / add_q.out_scale: round(v * m), otypes=[np.int64])(t)
                    for t, si in zip((r6, s), add_q.in_scales, strict=True)), -127, 127)
    cat_q = Q["cat"]
    assert cat_q.out_scale == max(cat_q.in_scales)
    branches = [conv("b1", a), conv("b2", a, padding=1, groups=2), golden.max_pool2d(a, 3, 1, 1, ceil_mode=True)]
    cat = np.concatenate([np.vectorize(lambda v, m=si / cat_q.out_scale: _rq_int(int(v), m), otypes=[np.int64])(t)
                          for t, si in zip(branches, cat_q.in_scales, strict=True)], axis=1)
    bq, b = Q["cat_bn"], p["cat_bn"]
    assert not bq.folded
    real = golden.batchnorm2d(cat * bq.in_scale, b.weight, b.bias, b.running_mean, b.running_var)
    h = np.vectorize(lambda v: _rq(v, 1 / bq.out_scale), otypes=[np.int64])(real)
    h = _table(h, lambda v: v * min(max(v + 3, 0), 6) / 6, Q["hs"].in_scale, Q["hs"].out_scale)
    h = golden.max_pool2d(h, 2, 2, ceil_mode=True)
    h = np.vectorize(lambda v: round(v), otypes=[np.int64])(golden.adaptive_avg_pool2d(h, 3))
    h = np.vectorize(lambda v: round(v), otypes=[np.int64])(golden.global_avg_pool2d(h))
    fc = Q["fc"]
    acc = golden.linear(h.reshape(2, -1), fc.weight.astype(np.int64)).astype(object) + fc.bias.astype(object)
    want = np.vectorize(lambda v: _rq_int(int(v), fc.multiplier), otypes=[np.int64])(acc)
    assert run.output.dtype == np.int8
    assert np.array_equal(run.output[:, :, 0, 0], want)
    for name, expect in (("stem_relu", s), ("r6", r6), ("add", a), ("cat", cat)):
        assert np.array_equal(run[name].output, expect), name


def test_int8_forward_tracks_the_float_forward():
    net = residual_graph()
    params = init_params(net, seed=4)
    x = random_inputs(net, batch=4, seed=4)[0]
    ref = forward(net, params, x).output
    run = forward_int(quantize_network(net, params, x), x)
    err = np.abs(run.output * run.layers[-1].scale - ref).max()
    assert err < 0.1 * np.abs(ref).max()


# ---- concat along any per-image axis ----------------------------------------------------------

CONCATS = [  # (input shape, branches, axis, output shape)
    ((4, 5, 6), [AdaptiveAvgPool2d("p1", (2, 6)), AdaptiveAvgPool2d("p2", (3, 6))], 1, (4, 5, 6)),
    ((4, 5, 6), [AdaptiveAvgPool2d("p1", (5, 1)), AdaptiveAvgPool2d("p2", (5, 4))], 2, (4, 5, 5)),
    ((4, 5, 6), [ReLU("p1"), AdaptiveAvgPool2d("p2", (5, 6))], 0, (8, 5, 6)),
    ((5, 4), [Linear("p1", 4, 3), Linear("p2", 4, 6)], 1, (5, 9)),  # a token's features
    ((5, 4), [Linear("p1", 4, 4), ReLU("p2")], 0, (10, 4)),  # more tokens (a class token in front)
]


@pytest.mark.parametrize(("shape", "branches", "axis", "out"), CONCATS)
def test_concat_along_any_axis_float_and_int8(shape, branches, axis, out):
    net = Network.graph("cat", shape, [(b, ["input"]) for b in branches] +
                        [(Concat("cat", axis=axis), [b.name for b in branches]), (Tanh("t"), None)])
    assert net.node("cat").output_shape == out
    run = forward(net, batch=2, seed=7)
    want = np.concatenate([run[b.name].output for b in branches], axis=1 + axis)
    assert np.array_equal(run["cat"].output, want)
    qnet = quantize_network(net, batch=2, seed=7)
    q = forward_int(qnet, batch=2, seed=7)
    cq = qnet["cat"]
    assert cq.out_scale == max(cq.in_scales)
    parts = [np.vectorize(lambda v, m=si / cq.out_scale: _rq(int(v), m), otypes=[np.int64])(q[b.name].output)
             for b, si in zip(branches, cq.in_scales, strict=True)]
    assert np.array_equal(q["cat"].output, np.concatenate(parts, axis=1 + axis))


def test_concat_axis_errors_name_the_node_and_field():
    with pytest.raises(AccelsimError, match=r"layer 'c': axis: 2 is not an axis of input 1 \[5, 4\]"):
        Network.graph("g", (5, 4), [(Concat("c", axis=2), ["input", "input"])])
    with pytest.raises(AccelsimError, match=r"layer 'c': inputs: dimensions other than axis 1 differ: input 2 is "
                                            r"\[10, 4\] but input 1 is \[5, 4\]"):
        Network.graph("g", (5, 4), [(Concat("t", axis=0), ["input", "input"]), (Concat("c", axis=1), ["input", "t"])])


# ---- attention ---------------------------------------------------------------------------------

def encoder(t=6, f=8, heads=2, scale=1.0) -> Network:
    """A tiny transformer encoder layer, post-norm, as BERT's (``scale`` on the scores)."""
    return Network.graph("enc", (t, f), [
        (Linear("q", f, f), ["input"]), (Linear("k", f, f), ["input"]), (Linear("v", f, f), ["input"]),
        (MatMul("qk", heads=heads, transpose_b=True, scale=scale), ["q", "k"]),
        (Softmax("sm"), None),
        (MatMul("av", heads=heads), ["sm", "v"]),
        (Linear("o", f, f), None),
        (Add("res1"), ["o", "input"]),
        (LayerNorm("ln1", f), None),
        (Linear("ff1", f, 2 * f), None), (GELU("gelu"), None), (Linear("ff2", 2 * f, f), None),
        (Add("res2"), ["ff2", "ln1"]),
        (LayerNorm("ln2", f), None),
    ])


def _softmax(v):
    e = np.exp(v - v.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


@pytest.mark.parametrize("scale", [1.0, 0.5, -1 / 3])
def test_attention_float_forward_matches_a_direct_computation(scale):
    net = encoder(scale=scale)
    assert net.node("qk").output_shape == (2, 6, 6) and net.output_shape == (6, 8)
    p = init_params(net, seed=5)
    x = random_inputs(net, batch=2, seed=5)[0].astype(np.float64)
    lin = {k: (lambda v, k=k: golden.linear(v, p[k].weight, p[k].bias)) for k in ("q", "k", "v", "o", "ff1", "ff2")}
    q, k, v = lin["q"](x), lin["k"](x), lin["v"](x)
    heads = []
    for h in range(2):
        sl = slice(4 * h, 4 * h + 4)
        scores = np.stack([golden.matmul(q[n, :, sl], k[n, :, sl].T) * scale for n in range(2)])
        heads.append(np.stack([golden.matmul(_softmax(scores[n]), v[n, :, sl]) for n in range(2)]))
    ctx = np.concatenate(heads, axis=-1)
    ln1 = golden.layernorm(lin["o"](ctx) + x, p["ln1"].weight, p["ln1"].bias)
    out = golden.layernorm(lin["ff2"](golden.gelu(lin["ff1"](ln1))) + ln1, p["ln2"].weight, p["ln2"].bias)
    run = forward(net, p, x.astype(np.float32), record=True)
    np.testing.assert_allclose(run.output, out, rtol=1e-4, atol=1e-4)
    # Q K^T per image and head: 2 x 2 GEMMs of T x d x T, recorded for the array.
    assert [g.shape for g in run["qk"].gemms] == [(6, 4, 6)] * 4
    assert [g.shape for g in run["q"].gemms] == [(12, 8, 8)]  # per token: M = batch x T


def test_attention_int8_forward_runs_bit_exact_gemms():
    net = encoder()
    qnet = quantize_network(net, batch=1, seed=6)
    run = forward_int(qnet, batch=1, seed=6, record=True)
    for name in ("qk", "av", "q", "ff1"):
        for g, acc in zip(run[name].gemms, run[name].acc, strict=True):
            assert g.a.dtype == g.b.dtype == np.int8 and acc.dtype == np.int32
            assert np.array_equal(acc, g.a.astype(np.int64) @ g.b.astype(np.int64))
    ref = forward(net, seed=6).output
    assert np.abs(run.output * run.layers[-1].scale - ref).max() < 0.15 * np.abs(ref).max()


def test_attention_int8_score_scale_is_in_the_requantization():
    net = encoder(scale=0.125)
    qnet = quantize_network(net, batch=2, seed=3)
    run = forward_int(qnet, batch=2, seed=3, record=True)
    s_q, s_k, s_out = qnet["q"].out_scale, qnet["k"].out_scale, qnet["qk"].out_scale
    assert qnet["qk"].in_scales == (s_q, s_k)
    # calibrated on the scaled float scores
    assert math.isclose(s_out, quant.scale_for(forward(net, batch=2, seed=3)["qk"].max_abs))
    q, k = run["q"].output.astype(np.int64), run["k"].output.astype(np.int64)
    for n in range(2):
        for h in range(2):
            acc = q[n, :, 4 * h:4 * h + 4] @ k[n, :, 4 * h:4 * h + 4].T
            want = np.vectorize(lambda v: _rq_int(int(v), s_q * s_k * 0.125 / s_out), otypes=[np.int64])(acc)
            assert np.array_equal(run["qk"].output[n, h], want)
    # a power-of-two scale is exact in float: the same int8 scores at an 8x smaller output scale
    plain = forward_int(quantize_network(encoder(), batch=2, seed=3), batch=2, seed=3)
    assert np.array_equal(plain["qk"].output, run["qk"].output) and math.isclose(plain["qk"].scale * 0.125, s_out)


# ---- weights that travel with the network -------------------------------------------------------

def _weights(net: Network, seed: int) -> dict:
    return {name: {k: v for k, v in (("weight", p.weight), ("bias", p.bias), ("running_mean", p.running_mean),
                                     ("running_var", p.running_var)) if v is not None}
            for name, p in init_params(net, seed).items()}


def test_network_weights_are_used_by_default():
    import dataclasses

    net = residual_graph()
    carried = dataclasses.replace(net, weights=_weights(net, 9))
    assert carried == net  # weights do not change the network's identity
    assert np.array_equal(forward(carried, seed=0).output, forward(net, init_params(net, 9), seed=0).output)
    assert carried.with_strict(False).weights is carried.weights
    x = random_inputs(net, batch=2, seed=1)[0]
    assert np.array_equal(accelsim.forward(carried, x), forward(net, init_params(net, 9), x).output)


@pytest.mark.parametrize(("edit", "match"), [
    (lambda w: w.pop("c1"), r"forward: weights: no parameters for layer 'c1' \(conv2d\)"),
    (lambda w: w["c1"].pop("bias"), r"forward: weights: layer 'c1': 'bias' is missing"),
    (lambda w: w["bn1"].update(running_var=np.ones(3)),
     r"layer 'bn1': 'running_var' has shape \(3,\), expected \(4,\)"),
    (lambda w: w["fc"]["weight"].__setitem__((0, 0), np.nan), r"layer 'fc': 'weight' is not finite"),
])
def test_bad_network_weights_are_one_line_errors(edit, match):
    import dataclasses

    net = residual_graph()
    w = _weights(net, 0)
    edit(w)
    with pytest.raises(AccelsimError, match=match):
        params_for(dataclasses.replace(net, weights=w))


# ---- accelsim.forward ---------------------------------------------------------------------------

def test_api_forward_float_and_int8():
    net = residual_graph()
    x = random_inputs(net, batch=3, seed=8)[0]
    y = accelsim.forward(net, x)
    assert y.dtype == np.float32 and y.shape == (3, 5, 1, 1)
    assert np.array_equal(y, forward(net, x=x).output)
    y8 = accelsim.forward(net, x, dtype="int8")
    assert y8.dtype == np.float32 and np.abs(y8 - y).max() < 0.1 * np.abs(y).max()
    q = forward_int(quantize_network(net, x=x), x)
    assert np.array_equal(y8, (q.output * q.layers[-1].scale).astype(np.float32))
    assert accelsim.forward("lenet5", np.zeros((1, 1, 32, 32))).shape == (1, 10, 1, 1)


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"dtype": "fp16"}, r"dtype: must be one of float32, int8, got 'fp16'"),
    ({"x": np.zeros((1, 3, 8, 9))}, r"forward: x: expected shape \(N, 3, 9, 9\), got \(1, 3, 8, 9\)"),
    ({"x": np.full((1, 3, 9, 9), np.nan)}, r"forward: x: contains NaN or infinity"),
    ({"x": None}, r"x: expected an input batch of shape \(N, 3, 9, 9\)"),
])
def test_api_forward_rejects_bad_arguments(kwargs, match):
    args = {"x": np.zeros((1, 3, 9, 9)), **kwargs}
    with pytest.raises(AccelsimError, match=match):
        accelsim.forward(residual_graph(), **args)


def test_clip_layer_uses_its_bounds():
    net = Network.sequential("c", (1, 2, 2), [Clip("clip", -0.5, 0.25)])
    x = np.array([[[[-2.0, 0.0], [0.1, 3.0]]]], dtype=np.float32)
    assert np.array_equal(forward(net, x=x).output, np.float32([[[[-0.5, 0.0], [0.1, 0.25]]]]))
    q = forward_int(quantize_network(net, x=x), x)
    # s_in = 3/127, s_out = 0.5/127 (calibrated max |clip| = 0.5): 0.1 -> 4 -> 4*3/0.5 = 24; 3.0 -> 127 -> 0.25
    # -> 63.5 -> 64 (half to even); -2 -> -85 -> -0.5 -> -127.
    assert math.isclose(q.layers[-1].scale, 0.5 / 127) and q.output.tolist() == [[[[-127, 0], [24, 64]]]]


# ---- GEMM outputs computed elsewhere (the RTL) ----------------------------------------------------

def _grouped() -> Network:
    return Network.sequential("grouped", (4, 6, 5), [
        Conv2d("conv", 4, 6, 3, padding=1, groups=2), ReLU("relu"), Flatten("flatten"), Linear("fc", 180, 7),
    ])


def _mark(seen: list, name: str, g: int, r: int, c: int):
    """A gemm_outputs that returns zeros but a 1 at row r, column c of group g's result of node ``name``."""
    def outputs(lr):
        res = [np.zeros_like(o) for o in lr.out]
        if lr.node.layer.name == name:
            res[g][r, c] = 1
        seen.append(lr.node.layer.name)
        return res
    return outputs


@pytest.mark.parametrize(("net", "name", "where", "at"), [
    # conv, group 1 of 2 (3 channels a group), row = image 1's pixel (2, 4) of 6x5: channel 3 + 2
    (_grouped, "conv", (1, 1 * 30 + 2 * 5 + 4, 2), (1, 5, 2, 4)),
    (_grouped, "fc", (0, 1, 6), (1, 6, 0, 0)),  # linear: row = image, column = feature
    (lambda: encoder(heads=2), "q", (0, 1 * 6 + 4, 3), (1, 4, 3)),  # per token: row = image x T
    (lambda: encoder(heads=2), "qk", (1 * 2 + 1, 5, 2), (1, 1, 5, 2)),  # per image and head: (N, heads, T, T)
    (lambda: encoder(heads=2), "av", (1 * 2 + 1, 5, 2), (1, 5, 4 + 2)),  # heads back into features
])
def test_gemm_outputs_are_laid_out_as_the_node_output(net, name, where, at):
    """One marked element of one group's result lands where the layout rules put it (written out here)."""
    qnet = quantize_network(net(), batch=2, seed=4)
    seen: list[str] = []
    run = forward_int(qnet, batch=2, seed=4, gemm_outputs=_mark(seen, name, *where))
    out = run[name].output
    assert out.dtype == np.int8 and np.count_nonzero(out) == 1 and out[at] == 1
    gemm_nodes = [n.layer.name for n in qnet.network.nodes if isinstance(n.layer, (Conv2d, Linear, MatMul))]
    assert seen == gemm_nodes


@pytest.mark.parametrize("net", [_grouped, encoder, lambda: __import__("accelsim").workload.zoo.lenet5()])
def test_gemm_outputs_feed_the_later_nodes(net):
    """Handing back the model's own results reproduces the pass; negated results are what the next nodes read."""
    qnet = quantize_network(net(), batch=2, seed=8)
    plain = forward_int(qnet, batch=2, seed=8, record=True)
    calls = []

    def same(lr):
        calls.append(lr)
        return lr.out

    run = forward_int(qnet, batch=2, seed=8, gemm_outputs=same)
    assert all(np.array_equal(a.output, b.output) for a, b in zip(run.layers, plain.layers, strict=True))
    for lr in calls:  # the hook sees what the recorded pass records
        ref = plain[lr.node.layer.name]
        assert all(np.array_equal(x, y) for x, y in zip(lr.acc, ref.acc, strict=True))
        assert all(np.array_equal(x, y) for x, y in zip(lr.out, ref.out, strict=True))
        assert [g.shape for g in lr.gemms] == [g.shape for g in ref.gemms]
    first = calls[0].node.layer.name
    neg = forward_int(qnet, batch=2, seed=8, gemm_outputs=lambda lr: [-o.astype(np.int64) for o in lr.out])
    assert np.array_equal(neg[first].output, -plain[first].output)
    nxt = next(n.layer.name for n in qnet.network.nodes if first in n.inputs)  # reads the first GEMM node
    after = forward_int(qnet, batch=2, seed=8, record=True, gemm_outputs=lambda lr: lr.out if lr.node.layer.name
                        != first else [-o.astype(np.int64) for o in lr.out])
    assert not np.array_equal(after[nxt].output, plain[nxt].output)
    assert np.array_equal(after[first].output, neg[first].output)


@pytest.mark.parametrize(("outputs", "match"), [
    (lambda lr: [], r"layer 'conv': gemm_outputs gave 0 results for 2 GEMMs"),
    (lambda lr: [o[:-1] for o in lr.out], r"layer 'conv': gemm_outputs' result 0 is not 60x3 int8 \(shape \(59, 3\)"),
    (lambda lr: [o.astype(np.int64) + 200 for o in lr.out], r"result 0 is not 60x3 int8"),
    (lambda lr: [o.astype(np.float32) for o in lr.out], r"result 0 is not 60x3 int8 \(shape \(60, 3\), float32\)"),
])
def test_bad_gemm_outputs_are_one_line_errors(outputs, match):
    qnet = quantize_network(_grouped(), batch=2)
    with pytest.raises(AccelsimError, match=match):
        forward_int(qnet, batch=2, gemm_outputs=outputs)
    with pytest.raises(ValueError, match="gemm_outputs needs the lowered path"):
        forward_int(qnet, batch=2, direct=True, gemm_outputs=lambda lr: lr.out)
