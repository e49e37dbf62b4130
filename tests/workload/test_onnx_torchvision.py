"""ONNX files as torch.onnx writes torchvision's SqueezeNet 1.1 and GoogLeNet, built here with onnx.helper
(no torch): the legacy exporter's form (GlobalAveragePool + Flatten, Dropout, ceil_mode pools, BN kept
as torch.onnx writes it without constant folding) and the dynamo exporter's (opset 18, the pooled head
as ReduceMean over H and W + Reshape), GoogLeNet's transform_input (Gather/Unsqueeze/Mul/Add/Concat per
input channel). Counts against torchinfo's and fvcore's, the float forward against onnxruntime.
benchmarks/torchvision_onnx_check.py does the same on real torch exports."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from click.testing import CliRunner
from onnx import numpy_helper

import accelsim
from accelsim.cli import main
from accelsim.errors import AccelsimError
from accelsim.workload import resolve
from accelsim.workload.profile import profile
from tests.workload.onnx_models import Builder, save
from tests.workload.test_onnx_import import conv_linear_params, fvcore_macs, ort_run

FIRES = ((64, 16, 64, 64), (128, 16, 64, 64), "pool", (128, 32, 128, 128), (256, 32, 128, 128), "pool",
         (256, 48, 192, 192), (384, 48, 192, 192), (384, 64, 256, 256), (512, 64, 256, 256))
INCEPTIONS = {  # name: in, 1x1, 3x3 reduce, 3x3, "5x5" reduce, "5x5" (a 3x3 in torchvision), pool proj
    "3a": (192, 64, 96, 128, 16, 32, 32), "3b": (256, 128, 128, 192, 32, 96, 64), "pool3": None,
    "4a": (480, 192, 96, 208, 16, 48, 64), "4b": (512, 160, 112, 224, 24, 64, 64),
    "4c": (512, 128, 128, 256, 24, 64, 64), "4d": (512, 112, 144, 288, 32, 64, 64),
    "4e": (528, 256, 160, 320, 32, 128, 128), "pool4": None,
    "5a": (832, 256, 160, 320, 32, 128, 128), "5b": (832, 384, 192, 384, 48, 128, 128),
}
# GoogLeNet's transform_input: x[:, c] * (std_c / 0.5) + (mean_c - 0.5) / 0.5 with ImageNet's mean and std
TRANSFORM = ((0.229 / 0.5, (0.485 - 0.5) / 0.5), (0.224 / 0.5, (0.456 - 0.5) / 0.5), (0.225 / 0.5, (0.406 - 0.5) / 0.5))


def _head(b: Builder, x: str, channels: int, dynamo: bool) -> str:
    """adaptive_avg_pool2d to 1x1 and flatten: GlobalAveragePool + Flatten (legacy exporter) or
    ReduceMean over [-1, -2] with keepdims and a Reshape to [1, C] (dynamo exporter, opset 18)."""
    if not dynamo:
        return b.op("Flatten", [b.op("GlobalAveragePool", [x], "avgpool")], "flatten", axis=1)
    axes = b.init("mean_axes", None, value=np.array([-1, -2], np.int64))
    x = b.op("ReduceMean", [x, axes], "node_mean", keepdims=1, noop_with_empty_axes=0)
    return b.op("Reshape", [x, b.init("view_shape", None, value=np.array([1, channels], np.int64))], "view")


def _opset(dynamo: bool) -> int:
    return 18 if dynamo else 17


def squeezenet1_1(hw: int = 224, classes: int = 1000, seed: int = 0, dynamo: bool = False) -> onnx.ModelProto:
    """torchvision's SqueezeNet 1.1 (1,235,496 parameters; every conv has a bias, no BN)."""
    b = Builder(seed)
    x = b.op("Relu", [b.conv("x", 3, 64, 3, "features.0", strides=[2, 2])], "features.1")
    pools = 0

    def pool(x: str) -> str:
        nonlocal pools
        pools += 1
        return b.op("MaxPool", [x], f"pool{pools}", kernel_shape=[3, 3], strides=[2, 2], ceil_mode=1)

    x = pool(x)
    for i, fire in enumerate(FIRES):
        if fire == "pool":
            x = pool(x)
            continue
        cin, sq, e1, e3 = fire
        p = f"fire{i}"
        s = b.op("Relu", [b.conv(x, cin, sq, 1, f"{p}.squeeze")], f"{p}.squeeze_act")
        one = b.op("Relu", [b.conv(s, sq, e1, 1, f"{p}.expand1x1")], f"{p}.expand1x1_act")
        three = b.op("Relu", [b.conv(s, sq, e3, 3, f"{p}.expand3x3", pads=[1, 1, 1, 1])], f"{p}.expand3x3_act")
        x = b.op("Concat", [one, three], f"{p}.cat", axis=1)
    if not dynamo:
        x = b.op("Dropout", [x], "classifier.0")
    x = b.op("Relu", [b.conv(x, 512, classes, 1, "classifier.1")], "classifier.2")
    return b.model([1, 3, hw, hw], _head(b, x, classes, dynamo), [1, classes], opset=_opset(dynamo))


def googlenet(hw: int = 224, classes: int = 1000, seed: int = 0, dynamo: bool = False, bn: bool = True,
              transform_input: bool = False) -> onnx.ModelProto:
    """torchvision's GoogLeNet without auxiliary heads (6,624,904 parameters with its BN layers): each
    BasicConv2d a bias-less conv + BatchNormalization (eps 0.001) + Relu when ``bn``, else a conv with the
    folded bias; ceil_mode max pools; transform_input as torch.onnx writes it."""
    b = Builder(seed)

    def basic(x: str, cin: int, cout: int, k: int, name: str, **attrs) -> str:
        y = b.conv(x, cin, cout, k, f"{name}.conv", bias=not bn, **attrs)
        if bn:
            ins = [y, b.init(f"{name}.bn.scale", None, value=b.rng.uniform(0.5, 1.5, cout).astype(np.float32)),
                   b.init(f"{name}.bn.shift", (cout,), 0.1), b.init(f"{name}.bn.mean", (cout,), 0.1),
                   b.init(f"{name}.bn.var", None, value=b.rng.uniform(0.5, 2.0, cout).astype(np.float32))]
            y = b.op("BatchNormalization", ins, f"{name}.bn", epsilon=1e-3)
        return b.op("Relu", [y], f"{name}.relu")

    def pool(x: str, name: str, k: int = 3, stride: int = 2, pad: int = 0) -> str:
        return b.op("MaxPool", [x], name, kernel_shape=[k, k], strides=[stride, stride], pads=[pad] * 4, ceil_mode=1)

    x = "x"
    if transform_input:
        channels = []
        for c, (scale, shift) in enumerate(TRANSFORM):
            index = b.op("Constant", [], f"idx{c}", value=numpy_helper.from_array(np.array(c, np.int64)))
            t = b.op("Gather", [x, index], f"select{c}", axis=1)
            t = b.op("Unsqueeze", [t, b.init(f"axes{c}", None, value=np.array([1], np.int64))], f"unsqueeze{c}")
            t = b.op("Mul", [t, b.init(f"scale{c}", None, value=np.array(scale, np.float32))], f"mul{c}")
            channels.append(b.op("Add", [t, b.init(f"shift{c}", None, value=np.array(shift, np.float32))], f"add{c}"))
        x = b.op("Concat", channels, "transform_input", axis=1)
    x = basic(x, 3, 64, 7, "conv1", strides=[2, 2], pads=[3, 3, 3, 3])
    x = pool(x, "maxpool1")
    x = basic(x, 64, 64, 1, "conv2")
    x = basic(x, 64, 192, 3, "conv3", pads=[1, 1, 1, 1])
    x = pool(x, "maxpool2")
    for name, spec in INCEPTIONS.items():
        if spec is None:
            x = pool(x, name, *((2, 2) if name == "pool4" else (3, 2)))
            continue
        cin, c1, r3, c3, r5, c5, proj = spec
        p = f"inception{name}"
        one = basic(x, cin, c1, 1, f"{p}.branch1")
        three = basic(basic(x, cin, r3, 1, f"{p}.branch2.0"), r3, c3, 3, f"{p}.branch2.1", pads=[1, 1, 1, 1])
        five = basic(basic(x, cin, r5, 1, f"{p}.branch3.0"), r5, c5, 3, f"{p}.branch3.1", pads=[1, 1, 1, 1])
        proj_in = pool(x, f"{p}.branch4.0", 3, 1, 1)
        x = b.op("Concat", [one, three, five, basic(proj_in, cin, proj, 1, f"{p}.branch4.1")], f"{p}.cat", axis=1)
    x = _head(b, x, 1024, dynamo)
    if not dynamo:
        x = b.op("Dropout", [x], "dropout")
    x = b.op("Gemm", [x, b.init("fc.weight", (classes, 1024), 0.05), b.init("fc.bias", (classes,))], "fc", transB=1)
    return b.model([1, 3, hw, hw], x, [1, classes], opset=_opset(dynamo))


@pytest.mark.slow
@pytest.mark.parametrize("build, torchinfo_params, bn_channels, macs", [
    (squeezenet1_1, 1_235_496, 0, 349_151_936), (googlenet, 6_624_904, 7_280, 1_498_376_192)],
    ids=["squeezenet1_1", "googlenet"])
@pytest.mark.parametrize("dynamo", [False, True], ids=["legacy", "dynamo"])
def test_torchvision_counts(tmp_path, build, torchinfo_params, bn_channels, macs, dynamo):
    """At 224x224: torchinfo's parameter count with BN kept, less one per BN channel folded (the
    exported conv/linear weights and biases), and fvcore's conv+linear MACs (numbers measured with
    torchinfo 1.8.0 and fvcore on torchvision 0.29)."""
    model = build(dynamo=dynamo)
    path = str(save(model, tmp_path / "m.onnx"))
    kept, folded = resolve(path, fold_bn=False), resolve(path)
    assert kept.params == torchinfo_params
    assert folded.params == torchinfo_params - bn_channels == conv_linear_params(model)
    assert int(profile(folded)["macs"].sum()) == fvcore_macs(model) == macs


def _check_forward(model: onnx.ModelProto, tmp_path, hw: int) -> None:
    net = resolve(str(save(model, tmp_path / "m.onnx")))
    x = np.random.default_rng(5).standard_normal((1, 3, hw, hw), dtype=np.float32)
    ref = ort_run(model, x)
    got = np.asarray(accelsim.forward(net, x)).reshape(ref.shape)
    assert np.abs(got - ref).max() <= 1e-4 * np.abs(ref).max()


@pytest.mark.parametrize("dynamo", [False, True], ids=["legacy", "dynamo"])
def test_squeezenet_forward_equals_onnxruntime(tmp_path, dynamo):
    """64x64: the ceil_mode pools round up (31 -> 15 -> 7 -> 3)."""
    _check_forward(squeezenet1_1(hw=64, classes=10, seed=3, dynamo=dynamo), tmp_path, 64)


@pytest.mark.parametrize("dynamo, bn, transform_input", [(False, True, False), (True, False, True)],
                         ids=["legacy-bn", "dynamo-folded-transform_input"])
def test_googlenet_forward_equals_onnxruntime(tmp_path, dynamo, bn, transform_input):
    """56x56: every ceil_mode pool rounds up (28 -> 14 -> 7 -> 3 -> 2), the inception branches concatenate."""
    model = googlenet(hw=56, classes=10, seed=4, dynamo=dynamo, bn=bn, transform_input=transform_input)
    _check_forward(model, tmp_path, 56)


# ---- ReduceMean (the dynamo exporter's pooled head) --------------------------------------------

def _reduce_mean(axes, keepdims: int, opset: int) -> onnx.ModelProto:
    b = Builder(8)
    x = b.op("Relu", [b.conv("x", 3, 6, 3, "conv", pads=[1, 1, 1, 1])], "relu")
    if opset >= 18:
        x = b.op("ReduceMean", [x, b.init("axes", None, value=np.array(axes, np.int64))], "mean", keepdims=keepdims)
    else:
        x = b.op("ReduceMean", [x], "mean", axes=list(axes), keepdims=keepdims)
    full = [1, 6, 7, 7]
    reduced = {a % 4 for a in axes}
    out = [1 if i in reduced else d for i, d in enumerate(full) if keepdims or i not in reduced]
    return b.model([1, 3, 7, 7], x, out, opset=opset)


@pytest.mark.parametrize("axes, keepdims, opset, kinds", [
    ([-1, -2], 1, 18, ["conv2d", "relu", "global_avgpool2d"]),
    ([2, 3], 0, 18, ["conv2d", "relu", "global_avgpool2d", "flatten"]),
    ([3, 2], 0, 17, ["conv2d", "relu", "global_avgpool2d", "flatten"]),
])
def test_reduce_mean_over_space_is_global_avgpool(tmp_path, axes, keepdims, opset, kinds):
    model = _reduce_mean(axes, keepdims, opset)
    net = resolve(str(save(model, tmp_path / "m.onnx")))
    assert [n.layer.kind for n in net.nodes] == kinds
    x = np.random.default_rng(9).standard_normal((1, 3, 7, 7), dtype=np.float32)
    ref = ort_run(model, x)
    got = np.asarray(accelsim.forward(net, x)).reshape(ref.shape)
    assert np.abs(got - ref).max() <= 1e-5 * np.abs(ref).max()


@pytest.mark.parametrize("axes", [[1], [2], [1, 2, 3]])
def test_reduce_mean_over_other_axes_is_refused(tmp_path, axes):
    model = _reduce_mean(axes, 1, 18)
    with pytest.raises(AccelsimError, match=r"node 'mean' \(ReduceMean\): only a mean over the spatial axes of "
                                            r"\[N, C, H, W\] is supported"):
        resolve(str(save(model, tmp_path / "m.onnx")))


# ---- a per-channel affine re-concatenated (GoogLeNet's transform_input) ------------------------

def _affine(order=(0, 1, 2), ops=("Mul", "Add"), channels: int = 3, extra_use: bool = False,
            opset: int = 17) -> onnx.ModelProto:
    """Conv(Concat(x[:, k] op a_k op b_k for k in order)) + head; ``ops`` in order (Sub/Div: x - c, x / c)."""
    b = Builder(10)
    parts = []
    for k in order:
        t = b.op("Gather", ["x", b.init(f"i{k}", None, value=np.array(k, np.int64))], f"select{k}", axis=1)
        if opset >= 13:
            t = b.op("Unsqueeze", [t, b.init(f"ax{k}", None, value=np.array([1], np.int64))], f"unsq{k}")
        else:
            t = b.op("Unsqueeze", [t], f"unsq{k}", axes=[1])
        for j, op in enumerate(ops):
            c = b.init(f"c{k}_{j}", None, value=np.array(b.rng.uniform(0.3, 2.0), np.float32))
            t = b.op(op, [t, c], f"{op.lower()}{k}_{j}")
        parts.append(t)
    x = b.op("Concat", parts, "transform", axis=1)
    x = b.op("Relu", [b.conv(x, len(order), 4, 3, "conv", pads=[1, 1, 1, 1])], "relu")
    if extra_use:
        x = b.op("Add", [x, b.op("Relu", [parts[0]], "other")], "sum")
    x = b.op("Flatten", [b.op("GlobalAveragePool", [x], "gap")], "flat")
    x = b.op("Gemm", [x, b.init("fc.weight", (5, 4)), b.init("fc.bias", (5,))], "fc", transB=1)
    return b.model([1, channels, 8, 8], x, [1, 5], opset=opset)


@pytest.mark.parametrize("ops, opset", [(("Mul", "Add"), 17), (("Sub", "Div"), 17), (("Add", "Mul", "Sub"), 11)])
def test_channel_affine_is_a_batchnorm(tmp_path, ops, opset):
    """Gather/Unsqueeze/(Mul, Add, Sub, Div by numbers)/Concat of every channel in order imports as one
    batchnorm2d (mean 0, variance 1, eps 0: y = x * scale + shift) that is not folded into the conv
    after it (whose zero padding would then see shifted zeros); float equals onnxruntime."""
    model = _affine(ops=ops, opset=opset)
    net = resolve(str(save(model, tmp_path / "m.onnx")))
    assert [n.layer.kind for n in net.nodes][:2] == ["batchnorm2d", "conv2d"]
    assert net.nodes[0].layer.eps == 0 and net.params == conv_linear_params(model) + 2 * 3
    x = np.random.default_rng(11).standard_normal((2, 3, 8, 8), dtype=np.float32)
    ref = np.concatenate([ort_run(model, x[i:i + 1]) for i in range(2)])
    got = np.asarray(accelsim.forward(net, x)).reshape(ref.shape)
    assert np.abs(got - ref).max() <= 1e-5 * np.abs(ref).max()
    got8 = np.asarray(accelsim.forward(net, x, dtype="int8")).reshape(ref.shape)
    assert np.abs(got8 - ref).max() <= 0.05 * np.abs(ref).max()


def test_channel_affine_through_the_array(tmp_path):
    """simulate --check with the input batchnorm2d: int8 through the array bit-exact, every dataflow."""
    f = str(save(_affine(), tmp_path / "m.onnx"))
    for dataflow in ("os", "ws", "is"):
        r = CliRunner().invoke(main, ["simulate", f, "--array", "4x4", "--dataflow", dataflow, "--check",
                                      "--no-progress"])
        assert r.exit_code == 0, r.output


@pytest.mark.parametrize("kwargs, message", [
    ({"order": (1, 0, 2)}, "(Gather): unsupported operator"),
    ({"extra_use": True}, "(Gather): unsupported operator"),
    ({"order": (0, 1), "channels": 3}, "node 'transform' (Concat): it rescales 2 channels of 'x' [1, 3, 8, 8]: only "
                                       "every channel of an [N, C, H, W] activation, in order, is supported"),
], ids=["out of order", "a slice read elsewhere", "a channel missing"])
def test_other_channel_picking_is_refused(tmp_path, kwargs, message):
    """Anything but every channel in order, each read only by its chain, is one line naming the node, exit 2:
    the Gather stays an unsupported operator (the message names the pattern it may be part of)."""
    f = str(save(_affine(**kwargs), tmp_path / "m.onnx"))
    r = CliRunner().invoke(main, ["profile", f])
    assert r.exit_code == 2
    lines = r.output.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], lines
    assert "Gather" not in message or "transform_input" in lines[0]


def test_channel_pattern_on_a_cyclic_graph_ends(tmp_path):
    """The pattern search runs before ONNX's checker: with a node reading its own output the pattern is
    not recognised and the Gather is refused in one line."""
    model = _affine()
    mul = next(n for n in model.graph.node if n.name == "mul0_0")
    mul.input[0] = mul.output[0]
    with pytest.raises(AccelsimError, match=r"node 'select0' \(Gather\): unsupported operator"):
        resolve(str(save(model, tmp_path / "m.onnx")))
