"""Zoo networks against the lecture tables and published figures, by independent routes."""

import math
from itertools import pairwise

import numpy as np
import pytest

from accelsim.workload import ZOO
from accelsim.workload.layers import Conv2d, Linear, _Pool2d
from accelsim.workload.profile import profile, totals


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


def _starts(n, f, s, p, d=1):
    span = d * (f - 1) + 1
    return len(range(-p, n + p - span + 1, s))


@pytest.mark.parametrize("name", list(ZOO))
@pytest.mark.parametrize("batch", [1, 3])
def test_every_layer_by_an_independent_route(name, batch):
    net = ZOO[name]()
    df = profile(net, batch=batch, dtype="fp16").set_index("layer")
    for node in net:
        layer, row = node.layer, df.loc[node.layer.name]
        c, h, w = node.input_shape
        if isinstance(layer, Conv2d):
            (kh, kw), (sh, sw), (ph, pw), (dh, dw) = layer.kernel_size, layer.stride, layer.padding, layer.dilation
            oh, ow = _starts(h, kh, sh, ph, dh), _starts(w, kw, sw, pw, dw)
            weight = np.empty((layer.out_channels, c // layer.groups, kh, kw))
            assert row["params"] == weight.size + layer.out_channels
            assert list(row["output_shape"]) == [layer.out_channels, oh, ow]
            macs = sum(weight[o].size for o in range(layer.out_channels)) * oh * ow * batch
            assert row["macs"] == macs and row["flops"] == 2 * macs
            gemm = (row["gemm_m"], row["gemm_k"], row["gemm_n"])
            assert gemm == (oh * ow * batch, weight[0].size, layer.out_channels)
            assert row["weight_bytes"] == 2 * (weight.size + layer.out_channels)
        elif isinstance(layer, Linear):
            assert row["params"] == np.empty((layer.out_features, layer.in_features)).size + layer.out_features
            assert row["macs"] == c * layer.out_features * batch
            assert (row["gemm_m"], row["gemm_k"], row["gemm_n"]) == (batch, c * h * w, layer.out_features)
        else:
            assert row["params"] == 0 and row["macs"] == 0 and row["gemm_m"] == 0
            if isinstance(layer, _Pool2d):
                (kh, kw), (sh, sw), (ph, pw) = layer.kernel_size, layer.stride, layer.padding
                assert list(row["output_shape"]) == [c, _starts(h, kh, sh, ph), _starts(w, kw, sw, pw)]
        assert row["input_bytes"] == 2 * batch * math.prod(node.input_shape)
        assert row["output_bytes"] == 2 * batch * math.prod(node.output_shape)


def test_chaining_is_consistent():
    for build in ZOO.values():
        net = build()
        for a, b in pairwise(net.nodes):
            assert a.output_shape == b.input_shape
