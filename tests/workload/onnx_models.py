"""Small ONNX models built in the tests with onnx.helper (seeded random weights), written the way
exporters write them: BN after conv or already folded into the conv bias, initializers shared
behind Identity nodes, ReLU6 as Clip with constant min/max inputs, pools with ceil_mode."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 17


class Builder:
    """An ONNX graph under construction: ``op`` adds a node, ``init`` an initializer (seeded)."""

    def __init__(self, seed: int = 0):
        self.rng = np.random.default_rng(seed)
        self.nodes: list[onnx.NodeProto] = []
        self.inits: list[onnx.TensorProto] = []
        self.count = 0

    def init(self, name: str, shape, scale: float = 0.5, value=None) -> str:
        arr = self.rng.uniform(-scale, scale, shape).astype(np.float32) if value is None else np.asarray(value)
        self.inits.append(numpy_helper.from_array(arr, name))
        return name

    def op(self, op_type: str, inputs, name: str | None = None, outputs: int = 1, **attrs) -> str:
        self.count += 1
        name = name or f"{op_type.lower()}{self.count}"
        outs = [name if i == 0 else f"{name}_out{i}" for i in range(outputs)]
        self.nodes.append(helper.make_node(op_type, list(inputs), outs, name=name, **attrs))
        return outs[0]

    def conv(self, x: str, cin: int, cout: int, k: int, name: str, bias: bool = True, groups: int = 1,
             **attrs) -> str:
        w = self.init(f"{name}.weight", (cout, cin // groups, k, k), (3 * groups / (cin * k * k)) ** 0.5)
        ins = [x, w] + ([self.init(f"{name}.bias", (cout,))] if bias else [])
        return self.op("Conv", ins, name, kernel_shape=[k, k], group=groups, **attrs)

    def bn(self, x: str, c: int, name: str) -> str:
        ins = [x, self.init(f"{name}.scale", (c,), value=self.rng.uniform(0.5, 1.5, c).astype(np.float32)),
               self.init(f"{name}.shift", (c,)),
               self.init(f"{name}.mean", (c,)),
               self.init(f"{name}.var", (c,), value=self.rng.uniform(0.5, 2.0, c).astype(np.float32))]
        return self.op("BatchNormalization", ins, name, epsilon=1e-5)

    def model(self, x_shape, out: str, out_shape=None, opset: int = OPSET, x_name: str = "x",
              elem=TensorProto.FLOAT) -> onnx.ModelProto:
        graph = helper.make_graph(
            self.nodes, "test", [helper.make_tensor_value_info(x_name, elem, x_shape)],
            [helper.make_tensor_value_info(out, elem, out_shape)], self.inits)
        return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)],
                                 producer_name="accelsim-tests")


def cnn(seed: int = 0) -> onnx.ModelProto:
    """A small CNN with every supported CNN op: Conv (+BN, bias folded or not), Relu, Clip as ReLU6
    (min/max as Constant inputs), MaxPool with ceil_mode, a residual Add, Concat, AveragePool (pads,
    count_include_pad), GlobalAveragePool, a shared initializer behind two Identity nodes, a
    layout no-op Transpose, Flatten, Reshape, Gemm (transB) and Softmax."""
    b = Builder(seed)
    x = b.conv("x", 3, 8, 3, "conv1", bias=False, pads=[1, 1, 1, 1], strides=[2, 2])
    x = b.bn(x, 8, "bn1")
    x = b.op("Relu", [x], "relu1")
    x = b.op("MaxPool", [x], "pool1", kernel_shape=[3, 3], strides=[2, 2], ceil_mode=1)
    # a residual block: conv-bn-clip(0, 6), conv-bn, add, relu
    lo = b.op("Constant", [], "c_min", value=numpy_helper.from_array(np.array(0, np.float32), "c_min"))
    hi = b.op("Constant", [], "c_max", value=numpy_helper.from_array(np.array(6, np.float32), "c_max"))
    y = b.conv(x, 8, 8, 3, "conv2", bias=False, pads=[1, 1, 1, 1])
    y = b.bn(y, 8, "bn2")
    y = b.op("Clip", [y, lo, hi], "relu6")
    y = b.conv(y, 8, 8, 3, "conv3", pads=[1, 1, 1, 1])  # BN already folded into this bias
    x = b.op("Add", [x, y], "add1")
    x = b.op("Relu", [x], "relu2")
    # two branches sharing one initializer through Identity nodes, concatenated
    shared = b.init("shared.weight", (4, 8, 1, 1))
    w1 = b.op("Identity", [shared], "ident_w1")
    w2 = b.op("Identity", [shared], "ident_w2")
    p = b.op("Conv", [x, w1], "branch1", kernel_shape=[1, 1])
    q = b.op("Conv", [x, w2, b.init("branch2.bias", (4,))], "branch2", kernel_shape=[1, 1])
    q = b.conv(q, 4, 4, 3, "dw", groups=4, pads=[1, 1, 1, 1])  # depthwise
    x = b.op("Concat", [p, q, x], "cat", axis=1)
    x = b.op("AveragePool", [x], "pool2", kernel_shape=[3, 3], strides=[1, 1], pads=[1, 1, 1, 1],
             count_include_pad=1)
    x = b.conv(x, 16, 12, 1, "conv4")
    x = b.op("GlobalAveragePool", [x], "gap")
    x = b.op("Transpose", [x], "layout", perm=[0, 1, 3, 2])  # [N, C, 1, 1]: a no-op
    x = b.op("Flatten", [x], "flat", axis=1)
    x = b.op("Gemm", [x, b.init("fc1.weight", (10, 12)), b.init("fc1.bias", (10,))], "fc1", transB=1)
    x = b.op("Relu", [x], "relu3")
    x = b.op("Reshape", [x, b.init("shape", None, value=np.array([1, -1], np.int64))], "reshape")
    x = b.op("Gemm", [x, b.init("fc2.weight", (10, 5)), b.init("fc2.bias", (5,))], "fc2", alpha=0.5, beta=2.0)
    x = b.op("Softmax", [x], "softmax", axis=1)
    return b.model([1, 3, 32, 32], x, [1, 5])


def encoder(seed: int = 0, t: int = 6, f: int = 8, hidden: int = 16) -> onnx.ModelProto:
    """One single-head transformer encoder layer on [N, T, F]: per-token MatMul+Add linears, QK^T
    and AV as MatMul of two activations (K transposed), Softmax, residual Adds, LayerNormalization,
    Gelu (opset 20)."""
    b = Builder(seed)

    def linear(x: str, fin: int, fout: int, name: str) -> str:
        y = b.op("MatMul", [x, b.init(f"{name}.weight", (fin, fout))], f"{name}_mm")
        return b.op("Add", [y, b.init(f"{name}.bias", (fout,))], name)

    q = linear("x", f, f, "q")
    k = linear("x", f, f, "k")
    v = linear("x", f, f, "v")
    kt = b.op("Transpose", [k], "kt", perm=[0, 2, 1])
    s = b.op("MatMul", [q, kt], "scores")
    s = b.op("Softmax", [s], "attn", axis=-1)
    a = b.op("MatMul", [s, v], "context")
    o = linear(a, f, f, "out")
    x = b.op("Add", ["x", o], "res1")
    x = b.op("LayerNormalization", [x, b.init("ln1.scale", (f,)), b.init("ln1.bias", (f,))], "ln1", axis=-1,
             epsilon=1e-5)
    h = linear(x, f, hidden, "ffn1")
    h = b.op("Gelu", [h], "gelu")
    h = linear(h, hidden, f, "ffn2")
    x = b.op("Add", [x, h], "res2")
    x = b.op("LayerNormalization", [x, b.init("ln2.scale", (f,)), b.init("ln2.bias", (f,))], "ln2", axis=-1,
             epsilon=1e-5)
    return b.model([1, t, f], x, [1, t, f], opset=20)


def save(model: onnx.ModelProto, path: Path) -> Path:
    path.write_bytes(model.SerializeToString())
    return path


def _clip6(b: Builder, x: str, name: str) -> str:
    lo = b.init(f"{name}.min", None, value=np.array(0, np.float32))
    hi = b.init(f"{name}.max", None, value=np.array(6, np.float32))
    return b.op("Clip", [x, lo, hi], name)


def resnet18(hw: int = 224, classes: int = 1000, seed: int = 0) -> onnx.ModelProto:
    """torchvision's ResNet-18 as torch.onnx writes it with BN kept (bias-less convs, then
    BatchNormalization), on 1x3xHWxHW: 11,689,512 parameters by torchinfo's count."""
    b = Builder(seed)
    x = b.conv("x", 3, 64, 7, "conv1", bias=False, strides=[2, 2], pads=[3, 3, 3, 3])
    x = b.op("Relu", [b.bn(x, 64, "bn1")], "relu")
    x = b.op("MaxPool", [x], "maxpool", kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])
    cin = 64
    for stage, (planes, stride) in enumerate(((64, 1), (128, 2), (256, 2), (512, 2)), start=1):
        for block in range(2):
            s = stride if block == 0 else 1
            p = f"layer{stage}.{block}"
            y = b.conv(x, cin, planes, 3, f"{p}.conv1", bias=False, strides=[s, s], pads=[1, 1, 1, 1])
            y = b.op("Relu", [b.bn(y, planes, f"{p}.bn1")], f"{p}.relu1")
            y = b.bn(b.conv(y, planes, planes, 3, f"{p}.conv2", bias=False, pads=[1, 1, 1, 1]), planes, f"{p}.bn2")
            if s != 1 or cin != planes:
                x = b.bn(b.conv(x, cin, planes, 1, f"{p}.downsample.0", bias=False, strides=[s, s]), planes,
                         f"{p}.downsample.1")
            x = b.op("Relu", [b.op("Add", [y, x], f"{p}.add")], f"{p}.relu2")
            cin = planes
    x = b.op("Flatten", [b.op("GlobalAveragePool", [x], "avgpool")], "flatten")
    x = b.op("Gemm", [x, b.init("fc.weight", (classes, 512), 0.05), b.init("fc.bias", (classes,))], "fc", transB=1)
    return b.model([1, 3, hw, hw], x, [1, classes])


def mobilenet_v2(hw: int = 224, classes: int = 1000, seed: int = 0) -> onnx.ModelProto:
    """torchvision's MobileNet-v2 (width 1.0) as torch.onnx writes it with BN kept, ReLU6 as Clip with
    constant bounds, on 1x3xHWxHW: 3,504,872 parameters by torchinfo's count."""
    b = Builder(seed)

    def conv_bn(x: str, cin: int, cout: int, k: int, name: str, stride: int = 1, groups: int = 1,
                act: bool = True) -> str:
        pad = (k - 1) // 2
        y = b.conv(x, cin, cout, k, f"{name}.0", bias=False, strides=[stride, stride], pads=[pad] * 4, groups=groups)
        y = b.bn(y, cout, f"{name}.1")
        return _clip6(b, y, f"{name}.2") if act else y

    x = conv_bn("x", 3, 32, 3, "features.0", 2)
    cin, index = 32, 1
    for t, c, n, s in ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2),
                       (6, 320, 1, 1)):
        for i in range(n):
            stride = s if i == 0 else 1
            hidden, p = cin * t, f"features.{index}.conv"
            y, j = x, 0
            if t != 1:
                y, j = conv_bn(y, cin, hidden, 1, f"{p}.0"), 1
            y = conv_bn(y, hidden, hidden, 3, f"{p}.{j}", stride, groups=hidden)
            y = b.bn(b.conv(y, hidden, c, 1, f"{p}.{j + 1}", bias=False), c, f"{p}.{j + 2}")
            x = b.op("Add", [x, y], f"features.{index}.add") if stride == 1 and cin == c else y
            cin, index = c, index + 1
    x = conv_bn(x, cin, 1280, 1, "features.18")
    x = b.op("Flatten", [b.op("GlobalAveragePool", [x], "pool")], "flatten")
    x = b.op("Gemm", [x, b.init("classifier.1.weight", (classes, 1280), 0.05),
                      b.init("classifier.1.bias", (classes,))], "classifier.1", transB=1)
    return b.model([1, 3, hw, hw], x, [1, classes])


def _scalar(b: Builder, name: str, value: float, as_constant: bool) -> str:
    """A scalar constant as a Constant node (torch's TorchScript exporter) or an initializer (its dynamo one)."""
    arr = np.array(value, np.float32)
    if as_constant:
        return b.op("Constant", [], name, value=numpy_helper.from_array(arr, name))
    return b.init(name, None, value=arr)


def _token_linear(b: Builder, x: str, fin: int, fout: int, name: str) -> str:
    y = b.op("MatMul", [x, b.init(f"{name}.weight", (fin, fout), (3 / fin) ** 0.5)], f"{name}_mm")
    return b.op("Add", [y, b.init(f"{name}.bias", (fout,), 0.1)], name)


GELU_FORMS = ("torch", "dynamo", "hf", "tanh-torch", "tanh-dynamo")


def gelu_pattern(b: Builder, x: str, form: str, prefix: str = "g") -> str:
    """GELU element by element, as the exporters write it before opset 20 (``GELU_FORMS``):
    torch's TorchScript exporter ``Mul(Mul(x, 1 + erf(x / 1.414)), 0.5)`` with Constant nodes, its
    dynamo exporter ``Mul(x, Mul(0.5, 1 + erf))`` with initializers, Hugging Face's code
    ``Mul(Mul(x, 0.5), 1 + erf(x * 0.7071))``; the tanh form with x*x*x or Pow(x, 3)."""
    c = form in ("torch", "tanh-torch")

    def k(name: str, v: float) -> str:
        return _scalar(b, f"{prefix}.{name}", v, c)

    if form == "torch":
        e = b.op("Erf", [b.op("Div", [x, k("sqrt2", 1.4142135)], f"{prefix}/Div")], f"{prefix}/Erf")
        a = b.op("Add", [e, k("one", 1.0)], f"{prefix}/Add")
        return b.op("Mul", [b.op("Mul", [x, a], f"{prefix}/Mul"), k("half", 0.5)], f"{prefix}/Mul_1")
    if form == "dynamo":
        e = b.op("Erf", [b.op("Div", [x, k("sqrt2", 1.4142135)], f"{prefix}_div")], f"{prefix}_erf")
        a = b.op("Add", [e, k("one", 1.0)], f"{prefix}_add")
        return b.op("Mul", [x, b.op("Mul", [k("half", 0.5), a], f"{prefix}_mul")], f"{prefix}_gelu")
    if form == "hf":
        h = b.op("Mul", [x, k("half", 0.5)], f"{prefix}_half")
        e = b.op("Erf", [b.op("Mul", [k("rsqrt2", 0.70710678), x], f"{prefix}_scale")], f"{prefix}_erf")
        a = b.op("Add", [k("one", 1.0), e], f"{prefix}_add")
        return b.op("Mul", [h, a], f"{prefix}_gelu")
    if form == "tanh-torch":
        cube = b.op("Mul", [x, b.op("Mul", [x, x], f"{prefix}/Mul")], f"{prefix}/Mul_1")
        inner = b.op("Add", [x, b.op("Mul", [k("c", 0.044715), cube], f"{prefix}/Mul_2")], f"{prefix}/Add")
        t = b.op("Tanh", [b.op("Mul", [k("s", 0.7978846), inner], f"{prefix}/Mul_3")], f"{prefix}/Tanh")
        a = b.op("Add", [k("one", 1.0), t], f"{prefix}/Add_1")
        return b.op("Mul", [k("half", 0.5), b.op("Mul", [x, a], f"{prefix}/Mul_4")], f"{prefix}/Mul_5")
    assert form == "tanh-dynamo"
    cube = b.op("Pow", [x, k("three", 3.0)], f"{prefix}_pow")
    inner = b.op("Add", [x, b.op("Mul", [k("c", 0.044715), cube], f"{prefix}_mul")], f"{prefix}_add")
    t = b.op("Tanh", [b.op("Mul", [k("s", 0.7978846), inner], f"{prefix}_mul_1")], f"{prefix}_tanh")
    a = b.op("Add", [t, k("one", 1.0)], f"{prefix}_add_1")
    return b.op("Mul", [x, b.op("Mul", [k("half", 0.5), a], f"{prefix}_mul_2")], f"{prefix}_gelu")


def gelu_mlp(form: str, seed: int = 0, t: int = 8, f: int = 16, hidden: int = 32) -> onnx.ModelProto:
    """Linear, GELU written element by element (``gelu_pattern``), linear on [1, T, F] at opset 17."""
    b = Builder(seed)
    h = _token_linear(b, "x", f, hidden, "fc1")
    h = gelu_pattern(b, h, form)
    y = _token_linear(b, h, hidden, f, "fc2")
    return b.model([1, t, f], y, [1, t, f])


ATTENTION_STYLES = ("bert", "sdpa", "kt-twice")


def attention(style: str = "bert", seed: int = 0, t: int = 8, f: int = 16, heads: int = 2, batch: int = 1,
              encoder_layer: bool = False, gelu: str = "torch") -> onnx.ModelProto:
    """Multi-head self-attention as exporters write Hugging Face's BertSelfAttention at opset 17:
    Q/K/V linears (MatMul + Add), Reshape [N, T, F] -> [N, T, H, D], Transpose to [N, H, T, D], Q K^T,
    the 1/sqrt(D) scale, Softmax, times V, Transpose back, Reshape to [N, T, F], the output linear.

    ``style``: "bert" (K transposed by perm [0, 2, 3, 1], the scores divided by sqrt(D));
    "sdpa" (torch's scaled_dot_product_attention: Q and K^T each multiplied by D^-1/4 before the
    product); "kt-twice" (K to [N, H, T, D], then its last two axes swapped; the scores multiplied by
    1/sqrt(D)). ``encoder_layer`` adds BERT's residual, LayerNormalization and FFN with ``gelu``."""
    b = Builder(seed)
    d = f // heads
    split = b.init("split_shape", None, value=np.array([batch, t, heads, d], np.int64))
    merge = b.init("merge_shape", None, value=np.array([batch, t, f], np.int64))

    def into_heads(y: str, name: str, perm) -> str:
        return b.op("Transpose", [b.op("Reshape", [y, split], f"{name}_view")], f"{name}_permute", perm=perm)

    q = into_heads(_token_linear(b, "x", f, f, "query"), "q", [0, 2, 1, 3])
    v = into_heads(_token_linear(b, "x", f, f, "value"), "v", [0, 2, 1, 3])
    k = _token_linear(b, "x", f, f, "key")
    if style == "kt-twice":
        k = b.op("Transpose", [into_heads(k, "k", [0, 2, 1, 3])], "k_t", perm=[0, 1, 3, 2])
    else:
        k = into_heads(k, "k", [0, 2, 3, 1])
    if style == "sdpa":
        root = b.init("sdpa_scale", (1,), value=np.array([d ** -0.25], np.float32))
        q = b.op("Mul", [q, root], "q_scaled")
        k = b.op("Mul", [k, root], "k_scaled")
    s = b.op("MatMul", [q, k], "scores")
    if style == "bert":
        s = b.op("Div", [s, _scalar(b, "sqrt_d", float(np.sqrt(d)), True)], "scores_div")
    elif style == "kt-twice":
        s = b.op("Mul", [_scalar(b, "rsqrt_d", float(1 / np.sqrt(d)), False), s], "scores_mul")
    p = b.op("Softmax", [s], "probs", axis=-1)
    c = b.op("MatMul", [p, v], "context")
    c = b.op("Transpose", [c], "context_permute", perm=[0, 2, 1, 3])
    c = b.op("Reshape", [c, merge], "context_view")
    y = _token_linear(b, c, f, f, "output")
    if encoder_layer:
        y = b.op("Add", [y, "x"], "residual1")
        y = b.op("LayerNormalization", [y, b.init("ln1.scale", (f,)), b.init("ln1.bias", (f,))], "ln1", axis=-1,
                 epsilon=1e-12)
        h = gelu_pattern(b, _token_linear(b, y, f, 2 * f, "intermediate"), gelu)
        h = _token_linear(b, h, 2 * f, f, "ffn_out")
        y = b.op("Add", [h, y], "residual2")
        y = b.op("LayerNormalization", [y, b.init("ln2.scale", (f,)), b.init("ln2.bias", (f,))], "ln2", axis=-1,
                 epsilon=1e-12)
    return b.model([batch, t, f], y, [batch, t, f])
