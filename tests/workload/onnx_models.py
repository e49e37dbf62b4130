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
        w = self.init(f"{name}.weight", (cout, cin // groups, k, k))
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
