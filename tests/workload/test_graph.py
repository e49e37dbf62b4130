"""The layer graph and the graph-era layer types: shape inference checked by a second route (hand
computation, PyTorch's formulas written out independently), counts, and one-line errors."""

import json
import math
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from accelsim.errors import AccelsimError
from accelsim.workload import Network
from accelsim.workload.counts import vector_ops
from accelsim.workload.gemm import GemmShape, gemm_shape
from accelsim.workload.layers import (
    GELU,
    AdaptiveAvgPool2d,
    Add,
    AvgPool2d,
    BatchNorm2d,
    Clip,
    Concat,
    Conv2d,
    Dropout,
    Flatten,
    GlobalAvgPool2d,
    Hardswish,
    LayerError,
    LayerNorm,
    Linear,
    MatMul,
    MaxPool2d,
    ReLU,
    ReLU6,
    Softmax,
)
from accelsim.workload.profile import profile

GRAPH_YAML = """\
name: resblock
input_shape: [8, 16, 16]
layers:
  - {type: conv2d, name: c1, in_channels: 8, out_channels: 8, kernel_size: 3, padding: 1, bias: false}
  - {type: batchnorm2d, name: bn1, num_features: 8}
  - {type: relu, name: r1}
  - {type: conv2d, name: c2, in_channels: 8, out_channels: 8, kernel_size: 3, padding: 1, bias: false}
  - {type: add, name: res, inputs: [c2, input]}
  - {type: conv2d, name: b1, in_channels: 8, out_channels: 4, kernel_size: 1, inputs: [res]}
  - {type: maxpool2d, name: b2, kernel_size: 3, stride: 1, padding: 1, inputs: [res]}
  - {type: concat, name: cat, inputs: [b1, b2]}
  - {type: global_avgpool2d, name: gap}
  - {type: flatten, name: fl}
  - {type: linear, name: fc, in_features: 12, out_features: 10}
"""


def run(*args):
    return subprocess.run([sys.executable, "-m", "accelsim.cli", *args], capture_output=True, text=True, check=False)


def basic_block(c=8, hw=16):
    return Network.graph("block", (c, hw, hw), [
        (Conv2d("c1", c, c, 3, padding=1, bias=False), None),
        (BatchNorm2d("bn1", c), None),
        (ReLU("r1"), None),
        (Conv2d("c2", c, c, 3, padding=1, bias=False), None),
        (BatchNorm2d("bn2", c), None),
        (Add("res"), ["bn2", "input"]),
        (ReLU("r2"), None),
    ])


def test_sequential_is_a_chain_with_named_inputs():
    net = Network.sequential("n", (3, 8, 8), [Conv2d("c", 3, 4, 3), ReLU("r"), Flatten("f")])
    assert net.is_chain and [n.inputs for n in net] == [("input",), ("c",), ("r",)]
    assert net.node("r").input_shapes == ((4, 6, 6),) and net.input_shape == (3, 8, 8)
    assert net.with_strict(False) == net


def test_residual_block_shapes_and_counts_by_hand():
    net = basic_block()
    res = net.node("res")
    assert res.inputs == ("bn2", "input") and res.input_shapes == ((8, 16, 16), (8, 16, 16))
    assert net.output_shape == (8, 16, 16) and not net.is_chain
    # BN: weight and bias per channel; the convs 8*8*9 weights each
    assert net.params == 2 * 8 * 8 * 9 + 2 * 2 * 8
    assert vector_ops(res) == 8 * 16 * 16  # one add per element for two inputs
    assert vector_ops(net.node("bn1")) == 2 * 8 * 16 * 16
    df = profile(net)
    assert df.loc[df["layer"] == "res", "input_elems"].item() == 2 * 8 * 16 * 16  # reads both inputs


def test_nodes_come_in_topological_order():
    # written consumer-first: the graph sorts it
    net = Network.graph("t", (4, 8, 8), [
        (Add("sum"), ["a", "b"]),
        (ReLU("a"), ["input"]),
        (ReLU("b"), ["a"]),
    ])
    assert [n.name for n in net] == ["a", "b", "sum"]
    assert net.output_shape == (4, 8, 8)


def test_inception_like_concat():
    net = Network.graph("inc", (16, 28, 28), [
        (Conv2d("b1", 16, 8, 1), ["input"]),
        (Conv2d("b2", 16, 12, 3, padding=1), ["input"]),
        (MaxPool2d("p", 3, 1, 1), ["input"]),
        (Concat("cat"), ["b1", "b2", "p"]),
    ])
    assert net.output_shape == (8 + 12 + 16, 28, 28)
    assert vector_ops(net.node("cat")) == 0


def test_attention_shapes_and_gemms_by_hand():
    t, h, d = 128, 12, 64
    f = h * d
    net = Network.graph("attn", (t, f), [
        (LayerNorm("ln", f), None),
        (Linear("q", f, f), ["ln"]),
        (Linear("k", f, f), ["ln"]),
        (Linear("v", f, f), ["ln"]),
        (MatMul("qk", heads=h, transpose_b=True), ["q", "k"]),
        (Softmax("sm"), None),
        (MatMul("av", heads=h), ["sm", "v"]),
        (Linear("o", f, f), None),
        (Add("res"), ["o", "input"]),
        (Dropout("drop", 0.1), None),
        (GELU("g"), None),
    ])
    assert net.node("qk").output_shape == (h, t, t) and net.node("av").output_shape == (t, f)
    # one GEMM per image and head: each image has its own B operand (its keys, its values)
    assert gemm_shape(net.node("qk"), batch=2) == GemmShape(t, d, t, 2 * h)
    assert gemm_shape(net.node("av"), batch=2) == GemmShape(t, t, d, 2 * h)
    assert gemm_shape(net.node("q"), batch=2) == GemmShape(2 * t, f, f, 1)  # per token: M = batch x T
    assert gemm_shape(net.node("qk")).macs == h * t * t * d
    assert net.node("ln").layer.params == 2 * f
    assert vector_ops(net.node("ln")) == 8 * t * f + t
    assert vector_ops(net.node("sm")) == 3 * h * t * t
    assert net.output_shape == (t, f)
    df = profile(net, batch=2)
    assert df.loc[df["layer"] == "q", "bias_adds"].item() == 2 * t * f


def test_single_head_matmul_keeps_two_dims():
    net = Network.graph("m", (10, 6), [(Linear("a", 6, 6), None), (MatMul("s", transpose_b=True), ["a", "input"]),
                                       (MatMul("o"), ["s", "input"])])
    assert net.node("s").output_shape == (10, 10) and net.output_shape == (10, 6)
    assert gemm_shape(net.node("o")) == GemmShape(10, 10, 6, 1)


@pytest.mark.parametrize("layer, shape, out, ops_per_elem", [
    (ReLU6("x"), (4, 5, 5), (4, 5, 5), 2),
    (Clip("x", -1.0, 1.0), (4, 5, 5), (4, 5, 5), 2),
    (Hardswish("x"), (4, 5, 5), (4, 5, 5), 5),
    (GELU("x"), (7, 9), (7, 9), 5),
    (Dropout("x", 0.5), (7, 9), (7, 9), 0),
    (GlobalAvgPool2d("x"), (4, 5, 6), (4, 1, 1), 30),
])
def test_elementwise_and_global_layers(layer, shape, out, ops_per_elem):
    net = Network.sequential("n", shape, [layer])
    assert net.output_shape == out and net.params == 0
    assert vector_ops(net.nodes[0]) == ops_per_elem * math.prod(out)


def test_adaptive_avgpool_windows_by_pytorch_rule():
    # H = 7 to 3 rows: windows [0,3), [2,5), [4,7) -> 3 rows each; W = 10 to 4: [0,3),[2,5),[5,8),[7,10)
    net = Network.sequential("n", (2, 7, 10), [AdaptiveAvgPool2d("a", (3, 4))])
    assert net.output_shape == (2, 3, 4)
    assert vector_ops(net.nodes[0]) == 2 * (3 + 3 + 3) * (3 + 3 + 3 + 3)


def _ceil_windows(n, k, s, p):
    """Windows of a ceil_mode pool counted one by one: window i (start i*s in padded coordinates) is
    kept when it starts inside the input or the left padding (i*s < n + p) and the windows before it
    did not already reach the end of the padded input; the first is always kept."""
    count, i = 0, 0
    while True:
        start = i * s
        if i > 0 and ((i - 1) * s + k >= n + 2 * p or start >= n + p):
            return count
        count, i = count + 1, i + 1


def _floor_windows(n, k, s, p):
    return sum(1 for start in range(n + 2 * p) if start % s == 0 and start + k <= n + 2 * p)


@settings(max_examples=300, deadline=None)
@given(n=st.integers(1, 40), k=st.integers(1, 7), s=st.integers(1, 5), p=st.integers(0, 3), ceil=st.booleans())
def test_pool_output_size_matches_enumeration(n, k, s, p, ceil):
    if 2 * p > k or k > n + 2 * p:
        return
    for cls in (MaxPool2d, AvgPool2d):
        net = Network.sequential("n", (1, n, n), [cls("p", k, s, p, ceil_mode=ceil)])
        want = _ceil_windows(n, k, s, p) if ceil else _floor_windows(n, k, s, p)
        assert net.output_shape == (1, want, want)


def test_ceil_mode_known_cases():
    # GoogLeNet's maxpool 3/2 ceil on 112 -> 56, on 14 (pad 0) -> 7; the last-window rule: 5, k2 s2 p1 -> 3
    assert Network.sequential("n", (1, 112, 112), [MaxPool2d("p", 3, 2, ceil_mode=True)]).output_shape == (1, 56, 56)
    assert Network.sequential("n", (1, 14, 14), [MaxPool2d("p", 3, 2, ceil_mode=True)]).output_shape == (1, 7, 7)
    assert Network.sequential("n", (1, 4, 4), [MaxPool2d("p", 2, 2, 1, ceil_mode=True)]).output_shape == (1, 3, 3)
    assert Network.sequential("n", (1, 5, 5), [MaxPool2d("p", 2, 2, 1, ceil_mode=True)]).output_shape == (1, 3, 3)


@pytest.mark.parametrize("items, shape, field, text", [
    ([(ReLU("a"), ["b"]), (ReLU("b"), ["a"])], (1, 4, 4), "inputs", "cycle"),
    ([(ReLU("a"), ["a"])], (1, 4, 4), "inputs", "cycle"),
    ([(ReLU("a"), ["nowhere"])], (1, 4, 4), "inputs", "'nowhere' is not a node"),
    ([(Conv2d("a", 1, 2, 1), None), (Add("s"), ["a", "input"])], (1, 4, 4), "inputs", "shapes differ"),
    ([(Add("s"), ["input"])], (1, 4, 4), "inputs", "two or more"),
    ([(MaxPool2d("a", 2), None), (Concat("c"), ["a", "input"])], (1, 4, 4), "inputs", "non-channel"),
    ([(ReLU("a"), ["input", "input"])], (1, 4, 4), "inputs", "takes one input"),
    ([(ReLU("input"), None)], (1, 4, 4), "name", "reserved"),
    ([(Conv2d("a", 3, 2, 1), None)], (5, 3), "inputs", "needs an image"),
    ([(BatchNorm2d("a", 4), None)], (3, 4, 4), "num_features", "3 channels"),
    ([(LayerNorm("a", 4), None)], (3, 5), "normalized_shape", "has 5"),
    ([(MatMul("m", heads=2), ["input", "input"])], (3, 5), "heads", "does not divide"),
    ([(MatMul("m"), ["input", "input"])], (3, 5), "inputs", "inner dimensions"),
])
def test_graph_validation_names_node_and_field(items, shape, field, text):
    with pytest.raises(LayerError) as e:
        Network.graph("g", shape, items)
    assert e.value.field == field and text in str(e.value) and "\n" not in str(e.value)


@pytest.mark.parametrize("make, field", [
    (lambda: BatchNorm2d("b", 0), "num_features"),
    (lambda: Clip("c", 2.0, 1.0), "max"),
    (lambda: GELU("g", "fast"), "approximate"),
    (lambda: Dropout("d", 1.0), "p"),
    (lambda: AdaptiveAvgPool2d("a", 0), "output_size"),
    (lambda: MatMul("m", heads=0), "heads"),
    (lambda: MatMul("m", scale=0), "scale"),
    (lambda: MatMul("m", scale=float("nan")), "scale"),
    (lambda: Concat("c", axis=-1), "axis"),
    (lambda: MaxPool2d("p", 2, ceil_mode=1), "ceil_mode"),
    (lambda: LayerNorm("l", 4, eps=-1.0), "eps"),
])
def test_new_layer_fields_are_validated(make, field):
    with pytest.raises(AccelsimError, match=rf"layer '\w': {field}:"):
        make()


BAD_GRAPHS = [
    ("cycle", "  - {type: relu, name: a, inputs: [b]}\n  - {type: relu, name: b, inputs: [a]}\n", 3, "cycle"),
    ("dangling", "  - {type: relu, name: a, inputs: [ghost]}\n", 3, "'ghost' is not a node"),
    ("add", "  - {type: maxpool2d, name: p, kernel_size: 2}\n  - {type: add, name: s, inputs: [p, input]}\n", 4,
     "shapes differ"),
    ("concat", "  - {type: maxpool2d, name: p, kernel_size: 2}\n  - {type: concat, name: c, inputs: [p, input]}\n",
     4, "non-channel dimensions differ"),
    ("inputs-type", "  - {type: relu, name: a, inputs: a}\n", 3, "non-empty list"),
    ("inputs-empty", "  - {type: relu, name: a, inputs: []}\n", 3, "non-empty list"),
    ("one-input-add", "  - {type: add, name: s, inputs: [input]}\n", 3, "two or more"),
]


@pytest.mark.parametrize("label, layers, line, text", BAD_GRAPHS, ids=[b[0] for b in BAD_GRAPHS])
@pytest.mark.parametrize("command", ["profile", "simulate"])
def test_bad_graph_file_is_one_line_exit_2(tmp_path, label, layers, line, text, command):
    path = tmp_path / "g.yaml"
    path.write_text("input_shape: [2, 8, 8]\nlayers:\n" + layers)
    r = run(command, str(path))
    assert r.returncode == 2, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in r.stderr, r.stderr
    assert f"g.yaml:{line}:" in lines[0] and "field 'inputs'" in lines[0] and text in lines[0], lines[0]


def test_yaml_graph_through_profile_and_simulate(tmp_path):
    path = tmp_path / "resblock.yaml"
    path.write_text(GRAPH_YAML)
    r = run("profile", str(path), "--format", "json")
    assert r.returncode == 0, r.stderr
    rows = {row["layer"]: row for row in json.loads(r.stdout)["layers"]}
    # by hand: 3x3 convs 16*16 positions x 8 outputs x 72; the 1x1 branch 256 x 4 x 8; fc 12 x 10
    assert rows["c1"]["macs"] == rows["c2"]["macs"] == 256 * 8 * 72
    assert rows["b1"]["macs"] == 256 * 4 * 8 and rows["fc"]["macs"] == 120
    assert rows["cat"]["output_shape"] == [12, 16, 16] and rows["gap"]["output_shape"] == [12, 1, 1]
    assert rows["res"]["vector_ops"] == 8 * 256 and rows["res"]["input_elems"] == 2 * 8 * 256
    assert rows["bn1"]["params"] == 16 and json.loads(r.stdout)["totals"]["params"] == 2 * 576 + 16 + 36 + 130

    r = run("simulate", str(path), "--array", "8x8", "--format", "json", "--no-on-chip")  # the DRAM-only model
    assert r.returncode == 0, r.stderr
    sim = {row["layer"]: row for row in json.loads(r.stdout)["layers"]}
    assert sim["c1"]["unit"] == "array" and sim["c1"]["macs"] == 256 * 8 * 72
    assert sim["res"]["unit"] == "vector" and sim["res"]["dram_read_bytes"] == 2 * 8 * 256  # int8: both inputs
    assert sim["cat"]["unit"] == "vector" and sim["cat"]["vector_ops"] == 0
    assert sim["cat"]["dram_read_bytes"] == 12 * 256 and sim["cat"]["cycles"] == 12 * 256 // 16
    assert sim["fl"]["unit"] == "none" and sim["fl"]["cycles"] == 0
    assert sim["bn1"]["vector_ops"] == 2 * 8 * 256


def test_yaml_token_graph_with_concat_axes_and_a_scaled_matmul(tmp_path):
    path = tmp_path / "tok.yaml"
    path.write_text("input_shape: [4, 6]\nlayers:\n"
                    "  - {type: linear, name: a, in_features: 6, out_features: 2}\n"
                    "  - {type: concat, name: wide, axis: 1, inputs: [input, a]}\n"
                    "  - {type: concat, name: long, inputs: [wide, wide]}\n"
                    "  - {type: matmul, name: s, transpose_b: true, scale: 0.5, inputs: [long, long]}\n")
    r = run("profile", str(path), "--format", "json")
    assert r.returncode == 0, r.stderr
    rows = {row["layer"]: row for row in json.loads(r.stdout)["layers"]}
    assert rows["wide"]["output_shape"] == [4, 8] and rows["long"]["output_shape"] == [8, 8]
    assert rows["s"]["output_shape"] == [8, 8] and rows["s"]["macs"] == 8 * 8 * 8
    bad = tmp_path / "bad.yaml"
    bad.write_text("input_shape: [4, 6]\nlayers:\n  - {type: concat, name: c, axis: 2, inputs: [input, input]}\n")
    r = run("profile", str(bad))
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1
    assert "bad.yaml:3:" in r.stderr and "axis" in r.stderr and "2 is not an axis" in r.stderr, r.stderr


def test_graph_round_trips_through_the_sweep_spec():
    from accelsim.dse.spec import network_from_spec, network_spec

    net = basic_block()
    assert network_from_spec(json.loads(json.dumps(network_spec(net)))) == net
