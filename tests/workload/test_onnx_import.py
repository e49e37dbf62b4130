"""ONNX import: models built here with onnx.helper (seeded random weights), each supported op, the
exporters' habits (folded BN, shared initializers behind Identity, ReLU6 as Clip, ceil_mode pools)
and each failure mode as one line naming the file, the node and its op_type (exit code 2)."""

from __future__ import annotations

import json
import math

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from click.testing import CliRunner
from onnx import TensorProto, numpy_helper

from accelsim.cli import main
from accelsim.errors import AccelsimError
from accelsim.lowering import ops
from accelsim.workload import files, resolve
from accelsim.workload.layers import Conv2d, Linear
from tests.workload.onnx_models import Builder, cnn, encoder, mobilenet_v2, resnet18, save


def ort_run(model: onnx.ModelProto, x: np.ndarray) -> np.ndarray:
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, {session.get_inputs()[0].name: x})[0]


def onnx_shapes(model: onnx.ModelProto) -> dict[str, tuple[int, ...]]:
    """Per-image shapes of every tensor by ONNX's own shape inference (the second route)."""
    inferred = onnx.shape_inference.infer_shapes(model, strict_mode=True)
    out = {}
    for vi in (*inferred.graph.value_info, *inferred.graph.output):
        dims = tuple(d.dim_value for d in vi.type.tensor_type.shape.dim)[1:]
        out[vi.name] = (dims[0], 1, 1) if len(dims) == 1 else dims
    return out


def conv_linear_params(model: onnx.ModelProto, bn_adds_bias: bool = True) -> int:
    """Weight and bias elements of every Conv/Gemm/MatMul node read straight from the initializers
    (a shared one counts for each node; Identity followed), plus the bias a folded BN gives a bias-less
    conv and the bias an Add gives a MatMul."""
    g = model.graph
    inits = {t.name: numpy_helper.to_array(t) for t in g.initializer}
    for n in g.node:
        if n.op_type == "Identity" and n.input[0] in inits:
            inits[n.output[0]] = inits[n.input[0]]
    consumers = {i: n for n in g.node for i in n.input}
    total = 0
    for n in g.node:
        if n.op_type not in ("Conv", "Gemm", "MatMul") or n.input[1] not in inits:
            continue
        total += sum(inits[i].size for i in n.input[1:] if i in inits)
        nxt = consumers.get(n.output[0])
        out = inits[n.input[1]].shape[0] if n.op_type == "Conv" else inits[n.input[1]].shape[-1]
        if n.op_type == "Conv" and len(n.input) < 3 and nxt is not None and nxt.op_type == "BatchNormalization":
            total += out if bn_adds_bias else 0
        if n.op_type == "MatMul" and nxt is not None and nxt.op_type == "Add":
            total += out
    return total


def test_cnn_imports_every_cnn_op(tmp_path):
    model = cnn()
    net = resolve(str(save(model, tmp_path / "cnn.onnx")))
    kinds = {n.name: n.layer.kind for n in net.nodes}
    assert kinds == {
        "conv1": "conv2d", "relu1": "relu", "pool1": "maxpool2d", "conv2": "conv2d", "relu6": "relu6",
        "conv3": "conv2d", "add1": "add", "relu2": "relu", "branch1": "conv2d", "branch2": "conv2d", "dw": "conv2d",
        "cat": "concat", "pool2": "avgpool2d", "conv4": "conv2d", "gap": "global_avgpool2d", "flat": "flatten",
        "fc1": "linear", "relu3": "relu", "fc2": "linear", "softmax": "softmax",
    }  # BN folded, Constant/Identity/Transpose/Reshape no-ops
    assert net.input_shape == (3, 32, 32)
    assert net.node("add1").inputs == ("pool1", "conv3") and net.node("cat").inputs == ("branch1", "dw", "relu2")
    assert net.node("pool1").layer.ceil_mode and net.node("pool1").output_shape == (8, 8, 8)
    assert net.node("dw").layer.groups == 4
    shapes = onnx_shapes(model)
    for node in net.nodes:
        assert node.output_shape == shapes[node.name], node.name
    assert net.params == conv_linear_params(model) == 1889
    assert net.weights["branch1"]["weight"] is net.weights["branch2"]["weight"]  # shared, counted twice
    assert net.node("conv1").layer.bias and net.node("conv2").layer.bias  # BN folded in: a bias appears


def test_no_fold_bn_keeps_batchnorm(tmp_path):
    model = cnn()
    net = resolve(str(save(model, tmp_path / "cnn.onnx")), fold_bn=False)
    bn = net.node("bn1")
    assert bn.layer.kind == "batchnorm2d" and bn.inputs == ("conv1",) and bn.layer.params == 16
    assert not net.node("conv1").layer.bias
    assert set(net.weights["bn1"]) == {"weight", "bias", "running_mean", "running_var"}
    assert net.params == conv_linear_params(model, bn_adds_bias=False) + 2 * 8 + 2 * 8


def test_folded_bn_matches_onnxruntime(tmp_path):
    """The folded conv weights (BN in them) give onnxruntime's numbers for Conv + BatchNormalization."""
    b = Builder(3)
    y = b.conv("x", 3, 6, 3, "conv", bias=True, pads=[1, 1, 1, 1], strides=[2, 2])
    y = b.bn(y, 6, "bn")
    model = b.model([2, 3, 9, 9], y, [2, 6, 5, 5])
    net = resolve(str(save(model, tmp_path / "m.onnx")))
    assert [n.layer.kind for n in net.nodes] == ["conv2d"]
    x = np.random.default_rng(0).standard_normal((2, 3, 9, 9), dtype=np.float32)
    w = net.weights["conv"]
    got = ops.conv2d(x, w["weight"], w["bias"], (2, 2), (1, 1))
    ref = ort_run(model, x)
    assert np.max(np.abs(got - ref)) <= 1e-5 * np.max(np.abs(ref))


def test_gemm_alpha_beta_transb_match_onnxruntime(tmp_path):
    b = Builder(4)
    x = b.op("Flatten", ["x"], "flat")
    x = b.op("Gemm", [x, b.init("w", (12, 5)), b.init("c", (1, 5))], "fc", alpha=0.5, beta=3.0)
    x = b.op("Gemm", [x, b.init("w2", (4, 5)), b.init("c2", (4,))], "fc2", transB=1)
    model = b.model([2, 3, 2, 2], x, [2, 4])
    net = resolve(str(save(model, tmp_path / "g.onnx")))
    xin = np.random.default_rng(1).standard_normal((2, 3, 2, 2), dtype=np.float32)
    h = xin.reshape(2, -1)
    for name in ("fc", "fc2"):
        w = net.weights[name]
        h = ops.linear(h.reshape(2, -1, 1, 1), w["weight"], w["bias"]).reshape(2, -1)
    ref = ort_run(model, xin)
    assert np.max(np.abs(h - ref)) <= 1e-5 * np.max(np.abs(ref))


def test_encoder_imports(tmp_path):
    model = encoder()
    net = resolve(str(save(model, tmp_path / "enc.onnx")))
    assert net.input_shape == (6, 8)
    scores = net.node("scores")
    assert scores.layer.kind == "matmul" and scores.layer.transpose_b and scores.inputs == ("q_mm", "k_mm")
    assert scores.output_shape == (6, 6)
    ctx = net.node("context")
    assert not ctx.layer.transpose_b and ctx.inputs == ("attn", "v_mm") and ctx.output_shape == (6, 8)
    assert net.node("res1").inputs == ("input", "out_mm")
    assert net.node("gelu").layer.kind == "gelu" and net.node("ln2").layer.kind == "layernorm"
    assert all(isinstance(net.node(n).layer, Linear) and net.node(n).layer.bias
               for n in ("q_mm", "k_mm", "v_mm", "out_mm", "ffn1_mm", "ffn2_mm"))
    shapes = onnx_shapes(model)
    for node in net.nodes:  # a fused MatMul+Add ends at the Add's tensor, of the same shape
        assert node.output_shape == shapes[node.name], node.name
    assert net.params == conv_linear_params(model) + 2 * (8 + 8)  # the layernorms' scale and bias


def fvcore_macs(model: onnx.ModelProto) -> int:
    """Conv and Gemm multiply-accumulates from ONNX's inferred output shapes and the weight shapes
    (fvcore's count: output elements x weight elements per output channel)."""
    inferred = onnx.shape_inference.infer_shapes(model, strict_mode=True)
    shapes = {vi.name: [d.dim_value for d in vi.type.tensor_type.shape.dim]
              for vi in (*inferred.graph.value_info, *inferred.graph.output)}
    inits = {t.name: tuple(t.dims) for t in model.graph.initializer}
    total = 0
    for n in model.graph.node:
        if n.op_type in ("Conv", "Gemm"):
            per_output = math.prod(inits[n.input[1]][1:]) if n.op_type == "Conv" else shapes[n.input[0]][1]
            total += math.prod(shapes[n.output[0]]) * per_output
    return total


@pytest.mark.slow
@pytest.mark.parametrize("build, torchinfo_params, bn_channels", [
    (resnet18, 11_689_512, 4_800), (mobilenet_v2, 3_504_872, 17_056)], ids=["resnet18", "mobilenet_v2"])
def test_torchvision_shaped_exports(tmp_path, build, torchinfo_params, bn_channels):
    """ResNet-18 and MobileNet-v2 as torch.onnx writes them (BN nodes kept, ReLU6 as Clip): imported
    with BN they have torchinfo's parameter count; folded, that count less one weight per BN channel
    (its weight and bias go, the conv gains a bias); MACs are fvcore's conv+linear count."""
    from accelsim.workload.profile import profile

    model = build()
    path = str(save(model, tmp_path / "m.onnx"))
    kept, folded = resolve(path, fold_bn=False), resolve(path)
    bns = [n for n in kept.nodes if n.layer.kind == "batchnorm2d"]
    assert sum(n.layer.num_features for n in bns) == bn_channels
    assert kept.params == torchinfo_params
    assert folded.params == torchinfo_params - bn_channels == conv_linear_params(model)
    assert not any(n.layer.kind == "batchnorm2d" for n in folded.nodes)
    macs = fvcore_macs(model)
    assert int(profile(folded)["macs"].sum()) == int(profile(kept)["macs"].sum()) == macs
    assert macs == {"resnet18": 1_814_073_344, "mobilenet_v2": 300_774_272}[build.__name__]


def _unary(op: str, opset: int = 17, **attrs) -> onnx.ModelProto:
    b = Builder(5)
    y = b.op(op, ["x"], op.lower(), **attrs)
    return b.model([1, 4, 5, 5], y, [1, 4, 5, 5], opset=opset)


@pytest.mark.parametrize("op, kind, attrs", [
    ("Sigmoid", "sigmoid", {}), ("Tanh", "tanh", {}), ("HardSwish", "hardswish", {}),
    ("LRN", "lrn", {"size": 3}), ("Dropout", None, {}), ("Relu", "relu", {}),
])
def test_other_unary_ops(tmp_path, op, kind, attrs):
    model = _unary(op, **attrs)
    if kind is None:  # Dropout is an identity: nothing left to compute
        with pytest.raises(AccelsimError, match="is not computed by any supported layer"):
            resolve(str(save(model, tmp_path / "m.onnx")))
        return
    net = resolve(str(save(model, tmp_path / "m.onnx")))
    assert [n.layer.kind for n in net.nodes] == [kind]


def test_clip_forms(tmp_path):
    """Clip's bounds as attributes (opset 6-10) or constant inputs (opset >= 11): [0, 6] is relu6,
    [0, inf) relu, [-1, 1] a clip."""
    net = resolve(str(save(_unary("Clip", opset=10, min=0.0, max=6.0), tmp_path / "a.onnx")))
    assert net.nodes[0].layer.kind == "relu6"
    for lo, hi, kind in ((0.0, None, "relu"), (-1.0, 1.0, "clip")):
        b = Builder(6)
        ins = ["x", b.init("lo", None, value=np.array(lo, np.float32))]
        if hi is not None:
            ins.append(b.init("hi", None, value=np.array(hi, np.float32)))
        model = b.model([1, 4, 5, 5], b.op("Clip", ins, "clip"), [1, 4, 5, 5])
        layer = resolve(str(save(model, tmp_path / f"{kind}.onnx"))).nodes[0].layer
        assert layer.kind == kind
        if kind == "clip":
            assert (layer.min, layer.max) == (-1.0, 1.0)


def _pool_model(pads, ceil_mode=0, op="MaxPool", n=8, out=4, **attrs) -> onnx.ModelProto:
    b = Builder(7)
    y = b.op(op, ["x"], "pool", kernel_shape=[3, 3], strides=[2, 2], pads=pads, ceil_mode=ceil_mode, **attrs)
    return b.model([1, 2, n, n], y, [1, 2, out, out])


def test_pool_pads_unused_end_padding_is_accepted(tmp_path):
    """pads [0, 0, 1, 1] on 9x9 with a 3x3/2 window: no window reaches the extra end padding."""
    net = resolve(str(save(_pool_model([0, 0, 1, 1], n=9), tmp_path / "p.onnx")))
    assert net.nodes[0].layer.padding == (0, 0) and net.nodes[0].output_shape == (2, 4, 4)


def test_asymmetric_pads_are_refused(tmp_path):
    f = save(_pool_model([0, 0, 1, 1], n=8), tmp_path / "p.onnx")
    with pytest.raises(AccelsimError, match=r"node 'pool' \(MaxPool\): asymmetric pads \[0, 0, 1, 1\]"):
        resolve(str(f))


def test_avgpool_ceil_mode_and_count_include_pad(tmp_path):
    model = _pool_model([1, 1, 1, 1], 1, "AveragePool", out=5, count_include_pad=1)
    net = resolve(str(save(model, tmp_path / "a.onnx")))
    assert net.nodes[0].layer.ceil_mode and net.nodes[0].output_shape == (2, 5, 5)
    f = save(_pool_model([1, 1, 1, 1], 0, "AveragePool"), tmp_path / "b.onnx")
    with pytest.raises(AccelsimError, match=r"\(AveragePool\): count_include_pad=0 with padding"):
        resolve(str(f))


def _broken(case: str, tmp_path) -> tuple[str, str]:
    """(file, expected message part) of one failure mode."""
    f = tmp_path / f"{case}.onnx"
    if case == "unsupported op":
        b = Builder()
        y = b.op("Erf", ["x"], "erf1")
        save(b.model([1, 3, 8, 8], y, [1, 3, 8, 8]), f)
        return str(f), "node 'erf1' (Erf): unsupported operator"
    if case == "dynamic batch":
        b = Builder()
        y = b.op("Relu", ["x"], "r")
        save(b.model(["N", 3, 8, 8], y, ["N", 3, 8, 8]), f)
        return str(f), "input 'x': dynamic batch dimension 'N'"
    if case == "missing initializer":
        b = Builder()
        y = b.op("Conv", ["x", "conv.weight"], "conv", kernel_shape=[3, 3])
        save(b.model([1, 3, 8, 8], y, [1, 3, 6, 6]), f)
        return str(f), "node 'conv' (Conv): input 'conv.weight' is not an initializer"
    if case == "weight is an input":
        b = Builder()
        y = b.op("Relu", ["x"], "r")
        y = b.op("Conv", [y, "r"], "conv", kernel_shape=[3, 3])
        save(b.model([3, 3, 3, 3], y, [3, 3, 1, 1]), f)
        return str(f), "node 'conv' (Conv): weight 'r' must be an initializer"
    if case in ("rank 2 input", "rank 5 input"):
        shape = [1, 16] if case == "rank 2 input" else [1, 2, 3, 4, 5]
        b = Builder()
        y = b.op("Relu", ["x"], "r")
        save(b.model(shape, y, shape), f)
        return str(f), f"input 'x': shape {shape} is not [N, C, H, W] or [N, T, F]"
    if case in ("truncated", "garbage", "empty"):
        data = cnn().SerializeToString()
        f.write_bytes({"truncated": data[: len(data) // 2], "garbage": b"\xff\x00" * 50, "empty": b""}[case])
        return str(f), "not a valid ONNX model"
    if case == "too large":
        save(cnn(), f)
        return str(f), "larger than the 0.001 MB limit"
    if case == "unsupported reshape":
        b = Builder()
        y = b.op("Reshape", ["x", b.init("s", None, value=np.array([1, 3, 64], np.int64))], "rs")
        save(b.model([1, 3, 8, 8], y, [1, 3, 64]), f)
        return str(f), "node 'rs' (Reshape): a reshape from [1, 3, 8, 8] to [1, 3, 64] is not supported"
    if case == "transpose":
        b = Builder()
        y = b.op("Transpose", ["x"], "tr", perm=[0, 2, 3, 1])
        y = b.op("Relu", [y], "r")
        save(b.model([1, 3, 8, 8], y, [1, 8, 8, 3]), f)
        return str(f), "node 'tr' (Transpose): perm [0, 2, 3, 1] on a [1, 3, 8, 8] tensor is not a layout no-op"
    if case == "add constant":
        b = Builder()
        y = b.op("Relu", ["x"], "r")
        y = b.op("Add", [y, b.init("c", (1, 3, 1, 1))], "plus")
        save(b.model([1, 3, 8, 8], y, [1, 3, 8, 8]), f)
        return str(f), "node 'plus' (Add): adding the constant 'c'"
    if case == "add broadcast":
        b = Builder()
        y = b.op("GlobalAveragePool", ["x"], "gap")
        y = b.op("Add", ["x", y], "plus")
        save(b.model([1, 3, 8, 8], y, [1, 3, 8, 8]), f)
        return str(f), "node 'plus' (Add): inputs: shapes differ"
    if case == "softmax axis":
        b = Builder()
        y = b.op("Softmax", ["x"], "sm", axis=1)
        save(b.model([1, 3, 8, 8], y, [1, 3, 8, 8]), f)
        return str(f), "node 'sm' (Softmax): softmax along axis 1 of [1, 3, 8, 8] is not supported"
    raise AssertionError(case)


FAILURES = ["unsupported op", "dynamic batch", "missing initializer", "weight is an input", "rank 2 input",
            "rank 5 input", "truncated", "garbage", "empty", "too large", "unsupported reshape", "transpose",
            "add constant", "add broadcast", "softmax axis"]


@pytest.mark.parametrize("case", FAILURES)
def test_failure_is_one_line_exit_2(tmp_path, monkeypatch, case):
    path, message = _broken(case, tmp_path)
    if case == "too large":
        monkeypatch.setattr(files, "MAX_ONNX_BYTES", 1000)
    with pytest.raises(AccelsimError) as e:
        resolve(path)
    assert message in str(e.value) and str(e.value).startswith(path) and "\n" not in str(e.value)
    for command in ("profile", "simulate"):
        r = CliRunner().invoke(main, [command, path])
        assert r.exit_code == 2, r.output
        lines = r.output.strip().splitlines()
        assert len(lines) == 1 and message in lines[0] and "Traceback" not in r.output


def test_size_limit_is_checked_before_reading(tmp_path, monkeypatch):
    def no_read(*a, **k):
        raise AssertionError("read the file")

    f = save(cnn(), tmp_path / "m.onnx")
    monkeypatch.setattr(files, "MAX_ONNX_BYTES", 1000)
    monkeypatch.setattr("builtins.open", no_read)
    with pytest.raises(AccelsimError, match="larger than"):
        resolve(str(f))


def test_cli_profile_and_simulate_onnx(tmp_path):
    f = str(save(cnn(), tmp_path / "cnn.onnx"))
    r = CliRunner().invoke(main, ["profile", f, "--format", "json"])
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert doc["totals"]["params"] == 1889 and len(doc["layers"]) == 20
    r = CliRunner().invoke(main, ["simulate", f, "--array", "8x8"])
    assert r.exit_code == 0, r.output


def test_cli_fold_bn_flag(tmp_path):
    f = str(save(cnn(), tmp_path / "cnn.onnx"))
    folded = json.loads(CliRunner().invoke(main, ["profile", f, "--format", "json"]).stdout)
    kept = json.loads(CliRunner().invoke(main, ["profile", f, "--no-fold-bn", "--format", "json"]).stdout)
    assert {r["type"] for r in kept["layers"]} - {r["type"] for r in folded["layers"]} == {"batchnorm2d"}
    assert kept["totals"]["params"] - folded["totals"]["params"] == 2 * 8 + 2 * 8 - 8 - 8  # BN's 2C, less the biases
    assert folded["totals"]["batchnorm_folded"] == 2
    assert folded["totals"]["params_before_fold"] == kept["totals"]["params"]
    table = CliRunner().invoke(main, ["profile", f]).output
    assert "BN folded into the preceding conv: 2 batchnorm2d layer(s); params 1,905 -> 1,889" in table
    # --fold-bn also applies to zoo models and model files (workload.fold): LeNet-5 has no BN to fold
    r = CliRunner().invoke(main, ["profile", "lenet5", "--fold-bn"])
    assert r.exit_code == 0 and "BN folding: nothing to fold (no batchnorm2d layers)." in r.output


def test_conv_layer_fields_from_attributes(tmp_path):
    b = Builder(9)
    y = b.conv("x", 4, 6, 3, "c", strides=[2, 1], pads=[2, 1, 2, 1], dilations=[2, 1], groups=2)
    model = b.model([1, 4, 11, 9], y, [1, 6, 6, 9])
    layer = resolve(str(save(model, tmp_path / "c.onnx"))).nodes[0].layer
    assert isinstance(layer, Conv2d)
    assert (layer.stride, layer.padding, layer.dilation, layer.groups) == ((2, 1), (2, 1), (2, 1), 2)
    ref = ort_run(model, np.ones((1, 4, 11, 9), np.float32))
    assert resolve(str(tmp_path / "c.onnx")).nodes[0].output_shape == ref.shape[1:]


def test_model_with_external_data_is_refused(tmp_path):
    model = cnn()
    onnx.save_model(model, tmp_path / "ext.onnx", save_as_external_data=True, all_tensors_to_one_file=True,
                    location="ext.data", size_threshold=0)
    with pytest.raises(AccelsimError, match="external data file"):
        resolve(str(tmp_path / "ext.onnx"))


def test_float_input_required(tmp_path):
    b = Builder()
    y = b.op("Relu", ["x"], "r")
    save(b.model([1, 3, 8, 8], y, [1, 3, 8, 8], elem=TensorProto.INT64), tmp_path / "i.onnx")
    with pytest.raises(AccelsimError, match="input 'x': element type must be floating point"):
        resolve(str(tmp_path / "i.onnx"))



@pytest.mark.parametrize("fold_bn", [True, False], ids=["folded", "bn-kept"])
@pytest.mark.parametrize("build, shape", [(cnn, (1, 3, 32, 32)), (resnet18, (1, 3, 64, 64)),
                                          (mobilenet_v2, (1, 3, 64, 64))], ids=["cnn", "resnet18", "mobilenet_v2"])
def test_float_forward_equals_onnxruntime(tmp_path, build, shape, fold_bn):
    """accelsim's float forward on the imported weights (BN folded by the importer, or kept and run
    as batchnorm2d) gives onnxruntime's output: max abs error <= 1e-4 x max |output|."""
    import accelsim

    model = build(seed=11) if build is cnn else build(hw=shape[-1], classes=10, seed=11)
    net = resolve(str(save(model, tmp_path / "m.onnx")), fold_bn=fold_bn)
    x = np.random.default_rng(12).standard_normal(shape, dtype=np.float32)
    ref = ort_run(model, x)
    got = np.asarray(accelsim.forward(net, x))
    assert got.size == ref.size
    err = np.max(np.abs(got.reshape(ref.shape) - ref))
    assert err <= 1e-4 * np.max(np.abs(ref)), err


def test_simulate_check_runs_imported_weights_through_the_array(tmp_path):
    """--check: the int8 numbers of the imported model through the array equal the int8 forward bit
    for bit, on every dataflow."""
    f = str(save(cnn(seed=13), tmp_path / "cnn.onnx"))
    for dataflow in ("ws", "os", "is"):
        r = CliRunner().invoke(main, ["simulate", f, "--array", "8x8", "--dataflow", dataflow, "--check",
                                      "--no-progress"])
        assert r.exit_code == 0, r.output
