"""Zoo networks against the lecture tables and published figures, by independent routes."""

import math
from itertools import pairwise

import numpy as np
import pytest

from accelsim.workload import ZOO
from accelsim.workload.layers import Add, BatchNorm2d, Concat, Conv2d, LayerNorm, Linear, MatMul, _Pool2d
from accelsim.workload.network import INPUT
from accelsim.workload.profile import profile, totals
from accelsim.workload.zoo_modern import MODERN_ZOO


def test_alexnet_params_equal_lecture_table():
    df = profile(ZOO["alexnet"]())
    got = dict(zip(df["layer"], df["params"], strict=True))
    expected = {
        "conv1": 34_944, "conv2": 614_656, "conv3": 885_120, "conv4": 1_327_488, "conv5": 884_992,
        "fc1": 37_752_832, "fc2": 16_781_312, "fc3": 4_097_000,
    }
    assert {k: got[k] for k in expected} == expected
    assert df["params"].sum() == 62_378_344


def test_vgg16_params_and_conv1_1():
    df = profile(ZOO["vgg16"]())
    assert totals(df)["params"] == 138_357_544
    row = df.set_index("layer").loc["conv1_1"]
    assert row["output_shape"] == [64, 224, 224]
    assert row["output_elems"] == 224 * 224 * 64 == 3_211_264


@pytest.mark.parametrize(
    "name, params, macs",
    [
        ("lenet5", 61_706, None),
        ("lenet5-28", 61_706, None),
        ("alexnet-tv", 61_100_840, 714_188_480),  # torchvision's published 0.71 GMACs
        ("vgg11", 132_863_336, 7_609_090_048),
        ("vgg13", 133_047_848, 11_308_466_176),
        ("vgg16", 138_357_544, 15_470_264_320),
        ("vgg19", 143_667_240, 19_632_062_464),
    ],
)
def test_published_totals(name, params, macs):
    t = totals(profile(ZOO[name]()))
    assert t["params"] == params
    if macs is not None:
        assert t["macs"] == macs


def _starts(n, f, s, p, d=1, ceil_mode=False):
    """Window start positions along one axis; ceil mode (PyTorch) adds a last, partial window when it
    starts inside the input or its left padding."""
    span = d * (f - 1) + 1
    stop = min(n + p - span + s, n + p) if ceil_mode else n + p - span + 1
    return len(range(-p, stop, s))


@pytest.mark.parametrize("name", list(ZOO))
@pytest.mark.parametrize("batch", [1, 3])
def test_every_layer_by_an_independent_route(name, batch):
    net = ZOO[name]()
    df = profile(net, batch=batch, dtype="fp16").set_index("layer")
    for node in net:
        layer, row = node.layer, df.loc[node.layer.name]
        if isinstance(layer, Conv2d):
            c, h, w = node.input_shape
            (kh, kw), (sh, sw), (ph, pw), (dh, dw) = layer.kernel_size, layer.stride, layer.padding, layer.dilation
            oh, ow = _starts(h, kh, sh, ph, dh), _starts(w, kw, sw, pw, dw)
            weight = np.empty((layer.out_channels, c // layer.groups, kh, kw))
            bias = layer.out_channels if layer.bias else 0
            assert row["params"] == weight.size + bias
            assert list(row["output_shape"]) == [layer.out_channels, oh, ow]
            macs = sum(weight[o].size for o in range(layer.out_channels)) * oh * ow * batch
            assert row["macs"] == macs and row["flops"] == 2 * macs
            gemm = (row["gemm_m"], row["gemm_k"], row["gemm_n"], row["gemm_groups"])
            assert gemm == (oh * ow * batch, weight[0].size, layer.out_channels // layer.groups, layer.groups)
            assert row["weight_bytes"] == 2 * (weight.size + bias)
        elif isinstance(layer, Linear):
            tokens, features = node.input_shape if len(node.input_shape) == 2 else (1, math.prod(node.input_shape))
            bias = layer.out_features if layer.bias else 0
            assert row["params"] == np.empty((layer.out_features, layer.in_features)).size + bias
            assert row["macs"] == tokens * features * layer.out_features * batch
            gemm = (row["gemm_m"], row["gemm_k"], row["gemm_n"])
            assert gemm == (tokens * batch, features, layer.out_features)
        elif isinstance(layer, MatMul):  # A (T, H*d) or (H, T, T) times B (T, H*d), per head
            a, b = node.input_shapes
            m, k = (a[0], a[1] // layer.heads) if len(a) == 2 else a[1:]
            n = b[0] if layer.transpose_b else b[1] // layer.heads
            assert row["params"] == 0 and row["macs"] == layer.heads * m * k * n * batch
            # one GEMM per image and head (each image has its own B operand)
            assert (row["gemm_m"], row["gemm_k"], row["gemm_n"], row["gemm_groups"]) == (m, k, n, batch * layer.heads)
        else:
            features = {BatchNorm2d: "num_features", LayerNorm: "normalized_shape"}.get(type(layer))
            assert row["params"] == (2 * getattr(layer, features) if features else 0)
            assert row["macs"] == 0 and row["gemm_m"] == 0
            if isinstance(layer, _Pool2d):
                c, h, w = node.input_shape
                (kh, kw), (sh, sw), (ph, pw) = layer.kernel_size, layer.stride, layer.padding
                oh, ow = _starts(h, kh, sh, ph, 1, layer.ceil_mode), _starts(w, kw, sw, pw, 1, layer.ceil_mode)
                assert list(row["output_shape"]) == [c, oh, ow]
            if isinstance(layer, (Add, Concat)):
                assert len(node.input_shapes) >= 2
        assert row["input_bytes"] == 2 * batch * sum(math.prod(s) for s in node.input_shapes)
        assert row["output_bytes"] == 2 * batch * math.prod(node.output_shape)


def test_chaining_is_consistent():
    """Every node's input shapes are its producers' output shapes (the network input for "input")."""
    for build in ZOO.values():
        net = build()
        out = {INPUT: net.input_shape} | {n.layer.name: n.output_shape for n in net.nodes}
        for node in net.nodes:
            assert node.input_shapes == tuple(out[src] for src in node.inputs)
        assert net.is_chain == (net.name not in MODERN_ZOO)  # the modern zoo has branches and skips
        if net.is_chain:
            for a, b in pairwise(net.nodes):
                assert a.output_shape == b.input_shape
