"""ONNX import of transformer graphs as exporters write them at opset 17: GELU element by element
(Erf or Tanh patterns), multi-head attention split into heads by Reshape/Transpose with its 1/sqrt(d)
scale, concatenation along token or feature axes. Every float forward equals onnxruntime's (max abs
error <= 1e-4 x max |output|); every refusal is one line naming the file, node and op_type, exit 2."""

from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from onnx import numpy_helper

import accelsim
from accelsim.cli import main
from accelsim.errors import AccelsimError
from accelsim.hardware.config import ArrayConfig
from accelsim.systolic.simulate import simulate
from accelsim.workload import resolve
from accelsim.workload.gemm import gemm_shape
from accelsim.workload.layers import GELU, Concat, MatMul
from accelsim.workload.network import Network
from accelsim.workload.profile import profile
from tests.workload.onnx_models import (
    ATTENTION_STYLES,
    GELU_FORMS,
    Builder,
    attention,
    gelu_mlp,
    gelu_pattern,
    save,
)


def ort_images(model: onnx.ModelProto, x: np.ndarray) -> np.ndarray:
    """onnxruntime's output for the batch ``x``, in chunks of the file's fixed batch."""
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    n = model.graph.input[0].type.tensor_type.shape.dim[0].dim_value
    return np.concatenate([sess.run(None, {"x": x[i:i + n]})[0] for i in range(0, len(x), n)])


def assert_matches_ort(model: onnx.ModelProto, path, batch: int = 3, seed: int = 1) -> Network:
    save(model, path)
    net = accelsim.load(str(path))
    x = np.random.default_rng(seed).standard_normal((batch, *net.input_shape)).astype(np.float32)
    ref = ort_images(model, x)
    y = accelsim.forward(net, x).reshape(ref.shape)
    assert np.abs(y - ref).max() <= 1e-4 * np.abs(ref).max()
    return net


def one_line_exit_2(path, message: str) -> None:
    with pytest.raises(AccelsimError) as e:
        resolve(str(path))
    assert str(e.value).startswith(str(path)) and message in str(e.value) and "\n" not in str(e.value), str(e.value)
    for command in ("profile", "simulate"):
        r = CliRunner().invoke(main, [command, str(path)])
        assert r.exit_code == 2, r.output
        lines = r.output.strip().splitlines()
        assert len(lines) == 1 and message in lines[0] and "Traceback" not in r.output, r.output


# ---- GELU written element by element ------------------------------------------------------------

@pytest.mark.parametrize("form", GELU_FORMS)
def test_gelu_pattern_imports_as_one_layer_and_matches_onnxruntime(tmp_path, form):
    model = gelu_mlp(form, seed=2)
    net = assert_matches_ort(model, tmp_path / "m.onnx")
    assert [n.layer.kind for n in net.nodes] == ["linear", "gelu", "linear"]
    gelu = net.nodes[1].layer
    assert isinstance(gelu, GELU) and gelu.approximate == ("tanh" if form.startswith("tanh") else "none")
    assert net.nodes[1].inputs == ("fc1_mm",)  # the linear is named after its MatMul
    # the other approximation differs by far more than the tolerance: the form was read, not guessed
    other = GELU(gelu.name, "none" if gelu.approximate == "tanh" else "tanh")
    wrong = Network.graph(net.name, net.input_shape,
                                   [(other if n.layer is gelu else n.layer, list(n.inputs)) for n in net.nodes])
    x = np.random.default_rng(1).standard_normal((3, *net.input_shape)).astype(np.float32) * 3
    ref = ort_images(model, x)
    bad = accelsim.forward(dataclasses.replace(wrong, weights=net.weights), x)
    good = accelsim.forward(net, x)
    assert np.abs(bad - ref).max() > 20 * np.abs(good - ref).max()


def _broken_gelu(b: Builder, x: str, how: str) -> str:
    k = lambda name, v: b.init(name, None, value=np.array(v, np.float32))  # noqa: E731
    e = b.op("Erf", [b.op("Div", [x, k("sqrt2", 2.0 if how == "wrong constant" else 1.4142135)], "div")], "erf")
    a = b.op("Add", [e, k("one", 1.0)], "add")
    y = b.op("Mul", [b.op("Mul", [x, a], "mul"), k("half", 0.5 if how != "wrong half" else 0.25)], "mul_1")
    if how == "intermediate reused":
        y = b.op("Add", [y, a], "reuse")  # 1 + erf read outside the pattern
    return y


@pytest.mark.parametrize("how", ["wrong constant", "wrong half", "intermediate reused", "lone"])
def test_erf_outside_the_pattern_is_an_unsupported_operator(tmp_path, how):
    b = Builder(0)
    h = b.op("MatMul", ["x", b.init("w", (16, 16))], "mm")
    y = b.op("Erf", [h], "erf") if how == "lone" else _broken_gelu(b, h, how)
    path = save(b.model([1, 8, 16], y, [1, 8, 16]), tmp_path / "m.onnx")
    one_line_exit_2(path, "node 'erf' (Erf): unsupported operator (supported: ")
    with pytest.raises(AccelsimError, match="Erf and Pow only inside GELU's pattern"):
        resolve(str(path))


def test_two_gelu_patterns_and_a_lone_tanh(tmp_path):
    b = Builder(4)
    h = gelu_pattern(b, "x", "dynamo", "g1")
    h = b.op("Tanh", [h], "plain_tanh")
    h = gelu_pattern(b, h, "tanh-torch", "g2")
    net = assert_matches_ort(b.model([1, 4, 6], h, [1, 4, 6]), tmp_path / "m.onnx")
    assert [(n.layer.kind, getattr(n.layer, "approximate", "")) for n in net.nodes] == [
        ("gelu", "none"), ("tanh", ""), ("gelu", "tanh")]


# ---- multi-head attention ----------------------------------------------------------------------

@pytest.mark.parametrize("style", ATTENTION_STYLES)
def test_multi_head_attention_imports_per_head_and_matches_onnxruntime(tmp_path, style):
    t, f, h = 8, 16, 2
    d = f // h
    model = attention(style, seed=3, t=t, f=f, heads=h)
    net = assert_matches_ort(model, tmp_path / "attn.onnx")
    assert [n.layer.kind for n in net.nodes] == ["linear"] * 3 + ["matmul", "softmax", "matmul", "linear"]
    scores, context = net.node("scores").layer, net.node("context").layer
    assert isinstance(scores, MatMul) and isinstance(context, MatMul)
    assert (scores.heads, scores.transpose_b, context.heads, context.transpose_b) == (h, True, h, False)
    assert math.isclose(scores.scale, 1 / math.sqrt(d), rel_tol=1e-6) and context.scale == 1
    assert net.node("scores").inputs == ("query_mm", "key_mm") and net.node("context").inputs == ("probs", "value_mm")
    assert net.node("scores").output_shape == (h, t, t) and net.node("context").output_shape == (t, f)
    # MACs: heads x T x T x D for each product (a second route: the shapes by hand), per image
    for name in ("scores", "context"):
        g = gemm_shape(net.node(name), batch=2)
        assert g.macs == 2 * h * t * t * d and g.count == 2 * h
    rows = profile(net).set_index("layer")
    assert rows.loc["scores", "macs"] == rows.loc["context", "macs"] == h * t * t * d
    assert rows["params"].sum() == 4 * (f * f + f)


def test_the_score_scale_is_honoured(tmp_path):
    """Dropping the imported 1/sqrt(d) changes the output far beyond the tolerance."""
    model = attention("bert", seed=5)
    net = assert_matches_ort(model, tmp_path / "attn.onnx")
    items = [(MatMul(n.name, n.layer.heads, n.layer.transpose_b) if n.name == "scores" else n.layer, list(n.inputs))
             for n in net.nodes]
    plain = Network.graph(net.name, net.input_shape, items)
    x = np.random.default_rng(1).standard_normal((2, *net.input_shape)).astype(np.float32) * 2
    ref = ort_images(model, x)
    bad = accelsim.forward(dataclasses.replace(plain, weights=net.weights), x)
    assert np.abs(bad - ref).max() > 1e-2 * np.abs(ref).max()


def test_file_exported_at_batch_2(tmp_path):
    net = assert_matches_ort(attention("bert", seed=6, batch=2), tmp_path / "b2.onnx", batch=4)
    assert net.input_shape == (8, 16)


@pytest.mark.parametrize("gelu", ["torch", "dynamo", "tanh-dynamo"])
def test_bert_encoder_layer_at_opset_17(tmp_path, gelu):
    model = attention("bert", seed=7, encoder_layer=True, gelu=gelu)
    assert model.opset_import[0].version == 17
    net = assert_matches_ort(model, tmp_path / "bert.onnx")
    assert [n.layer.kind for n in net.nodes].count("gelu") == 1
    x = np.random.default_rng(2).standard_normal((2, *net.input_shape)).astype(np.float32)
    ref = ort_images(model, x)
    y8 = accelsim.forward(net, x, dtype="int8")
    assert np.abs(y8 - ref).max() <= 0.1 * np.abs(ref).max()


def test_imported_attention_simulate_check_at_batch_2(tmp_path):
    path = save(attention("sdpa", seed=8, encoder_layer=True, gelu="hf"), tmp_path / "enc.onnx")
    net = accelsim.load(str(path))
    for df in ("os", "ws", "is"):
        sim = simulate(net, ArrayConfig(rows=4, cols=4, dataflow=df), batch=2, check=True)
        assert sim.mismatches == ()
        rows = sim.layers.set_index("layer")
        assert rows.loc["scores", "check"] == rows.loc["context", "check"] == "ok"
        assert rows.loc["scores", "gemm_groups"] == 4  # batch 2 x heads 2
    r = CliRunner().invoke(main, ["simulate", str(path), "--array", "4x4", "--batch", "2", "--check",
                                  "--format", "json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["totals"]["check_mismatches"] == 0


def _attention_broken(b: Builder, how: str) -> tuple[str, list[int], str]:
    split = b.init("split", None, value=np.array([1, 8, 2, 8], np.int64))
    q = b.op("Reshape", [b.op("MatMul", ["x", b.init("wq", (16, 16))], "q"), split], "q_view")
    if how == "softmax on heads":
        return b.op("Softmax", [q], "sm", axis=-1), [1, 8, 2, 8], "node 'sm' (Softmax): input 'q_view' [1, 8, 2, 8] " \
                                                                   "is split into 2 heads"
    if how == "odd perm":
        y = b.op("Transpose", [q], "odd", perm=[0, 3, 1, 2])
        return y, [1, 8, 8, 2], "node 'odd' (Transpose): perm [0, 3, 1, 2] of [1, 8, 2, 8] (split into heads)"
    if how == "heads output":
        return b.op("Transpose", [q], "qt", perm=[0, 2, 1, 3]), [1, 2, 8, 8], "output 'qt' is a Transpose or Reshape"
    if how == "product of activations":
        return b.op("Mul", ["x", "x"], "sq"), [1, 8, 16], "node 'sq' (Mul): only a product with one constant number"
    if how == "scaled then added":
        y = b.op("Div", ["x", b.init("c", None, value=np.array(2.0, np.float32))], "half")
        return b.op("Add", [y, "x"], "plus"), [1, 8, 16], "node 'plus' (Add): input 'half' is scaled by a constant"
    if how == "divide by a tensor":
        y = b.op("Div", ["x", b.init("c", (16,))], "div")
        return y, [1, 8, 16], "node 'div' (Div): the constant 'c' must be one finite, nonzero floating-point number"
    if how == "constant divided":
        y = b.op("Div", [b.init("c", None, value=np.array(2.0, np.float32)), "x"], "div")
        return y, [1, 8, 16], "node 'div' (Div): only a division by one constant number"
    raise AssertionError(how)


ATTENTION_FAILURES = ["softmax on heads", "odd perm", "heads output", "product of activations", "scaled then added",
                      "divide by a tensor", "constant divided"]


@pytest.mark.parametrize("how", ATTENTION_FAILURES)
def test_attention_refusals_are_one_line(tmp_path, how):
    b = Builder(0)
    y, shape, message = _attention_broken(b, how)
    path = save(b.model([1, 8, 16], y, shape), tmp_path / "m.onnx")
    one_line_exit_2(path, message)


# ---- concatenation along other axes -------------------------------------------------------------

@pytest.mark.parametrize(("x_shape", "axis"), [([1, 5, 6], 1), ([1, 5, 6], 2), ([1, 5, 6], -1), ([1, 3, 4, 5], 2),
                                               ([1, 3, 4, 5], 3), ([1, 3, 4, 5], 1)])
def test_concat_along_any_non_batch_axis_matches_onnxruntime(tmp_path, x_shape, axis):
    b = Builder(9)
    r = b.op("Relu", ["x"], "r")
    s = b.op("Sigmoid", ["x"], "s")
    y = b.op("Concat", [r, s, r], "cat", axis=axis)
    out = list(x_shape)
    out[axis] *= 3
    net = assert_matches_ort(b.model(x_shape, y, out), tmp_path / "m.onnx")
    cat = net.node("cat")
    assert isinstance(cat.layer, Concat) and cat.layer.axis == (axis % len(x_shape)) - 1
    assert cat.output_shape == tuple(out[1:])


def test_concat_of_token_streams_of_different_lengths(tmp_path):
    """[N, 5, F] and [N, 10, F] along the token axis (where a class token goes), then a linear per token."""
    b = Builder(10)
    proj = b.op("MatMul", ["x", b.init("w", (6, 6))], "proj")
    long = b.op("Concat", ["x", proj], "long", axis=1)
    y = b.op("Concat", [proj, long], "cat", axis=1)
    y = b.op("MatMul", [y, b.init("w2", (6, 4))], "head")
    net = assert_matches_ort(b.model([1, 5, 6], y, [1, 15, 4]), tmp_path / "m.onnx")
    assert net.node("long").output_shape == (10, 6) and net.node("cat").output_shape == (15, 6)


@pytest.mark.parametrize(("how", "message"), [
    ("constant", "node 'cat' (Concat): input 1 ('cls') is a constant (a learned class token?)"),
    ("batch", "node 'cat' (Concat): concatenation along the batch axis is not supported"),
])
def test_concat_refusals(tmp_path, how, message):
    b = Builder(0)
    if how == "constant":
        y = b.op("Concat", [b.init("cls", (1, 1, 6)), "x"], "cat", axis=1)
        out = [1, 6, 6]
    else:
        y = b.op("Concat", ["x", "x"], "cat", axis=0)
        out = [2, 5, 6]
    path = save(b.model([1, 5, 6], y, out), tmp_path / "m.onnx")
    one_line_exit_2(path, message)


def test_scale_on_a_linear_input_folds_into_its_weight(tmp_path):
    b = Builder(11)
    y = b.op("Mul", ["x", b.init("c", None, value=np.array(0.25, np.float32))], "quarter")
    y = b.op("MatMul", [y, b.init("w", (6, 4))], "fc")
    net = assert_matches_ort(b.model([1, 5, 6], y, [1, 5, 4]), tmp_path / "m.onnx")
    w = numpy_helper.to_array(b.inits[-1])
    assert np.allclose(net.weights["fc"]["weight"], 0.25 * w.T)


# ---- mutated graphs: imported and equal to onnxruntime, or one refusal line ----------------------

_BASES = [("attention", s, g) for s in ATTENTION_STYLES for g in ("torch", "tanh-dynamo")] + \
    [("mlp", f, "") for f in GELU_FORMS]


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(base=st.sampled_from(_BASES), data=st.data())
def test_mutated_transformer_graphs_import_exactly_or_refuse_in_one_line(tmp_path, base, data):
    """One random edit (a shuffled perm, a node reading an earlier tensor, another op type, another scalar
    constant) to an exported-style graph: the import either matches onnxruntime or is one line."""
    family, form, gelu = base
    model = attention(form, encoder_layer=True, gelu=gelu) if family == "attention" else gelu_mlp(form)
    nodes = model.graph.node
    i = data.draw(st.integers(0, len(nodes) - 1))
    node = nodes[i]
    kind = data.draw(st.sampled_from(["perm", "rewire", "op", "const"]))
    if kind == "perm":
        for a in node.attribute:
            if a.name == "perm":
                perm = data.draw(st.permutations(list(a.ints)))
                del a.ints[:]
                a.ints.extend(perm)
    elif kind == "rewire" and node.input:  # (a Constant node has no input)
        j = data.draw(st.integers(0, len(node.input) - 1))
        node.input[j] = data.draw(st.sampled_from(["x", *(o for n in nodes[:i] for o in n.output)]))
    elif kind == "op":
        node.op_type = data.draw(st.sampled_from(["Mul", "Add", "Div", "Erf", "Tanh", "Relu", "Softmax"]))
    elif kind == "const":
        value = data.draw(st.sampled_from([0.0, 0.5, 1.0, 2.0, 1.4142135, 0.044715, math.nan]))
        for t in model.graph.initializer:
            if t.name in node.input and not t.dims and t.data_type == onnx.TensorProto.FLOAT:
                t.CopyFrom(numpy_helper.from_array(np.array(value, np.float32), t.name))
    path = save(model, tmp_path / "mutant.onnx")
    try:
        net = accelsim.load(str(path))
    except AccelsimError as e:
        assert str(e).startswith(str(path)) and "\n" not in str(e)
        return
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])  # accepted: onnxruntime runs it too
    x = np.random.default_rng(0).standard_normal((1, *net.input_shape)).astype(np.float32)
    ref = sess.run(None, {"x": x})[0]
    y = accelsim.forward(net, x).reshape(ref.shape)
    assert np.abs(y - ref).max() <= 1e-4 * np.abs(ref).max()
