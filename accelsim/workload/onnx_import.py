"""ONNX import: an ``.onnx`` file as a ``Network`` with its weights (``Network.weights``).

The file is refused unread unless it is a regular file of at most ``files.MAX_ONNX_BYTES``; it is
parsed, shape-inferred by ONNX (every shape must come out static) and mapped node by node:

- Conv -> ``conv2d`` (pads must be symmetric, or asymmetric only where the extra end padding is
  never reached by a window); Gemm, and MatMul with a constant second operand -> ``linear``
  (per token on ``[N, T, F]``); MatMul of two activations -> ``matmul`` (a Transpose of the last
  two axes in front of its second operand becomes ``transpose_b``); Add of activations -> ``add``;
  Add of a constant is folded into the bias of the conv/linear before it; Concat along any axis
  but the batch -> ``concat`` with its per-image ``axis`` (tokens along T or F; constant inputs,
  e.g. a learned class token, are refused); Relu; Clip with constant min/max (inputs, or attributes before opset 11) ->
  ``relu6`` for [0, 6], ``relu`` for [0, inf), else ``clip``; MaxPool/AveragePool (ceil_mode,
  symmetric pads; AveragePool's padding must count in the divisor, count_include_pad=1) ->
  ``maxpool2d``/``avgpool2d``; GlobalAveragePool, and ReduceMean over H and W ->
  ``global_avgpool2d`` (plus ``flatten`` when keepdims=0); Flatten, and a
  Reshape to [N, features] -> ``flatten``; BatchNormalization -> folded into the conv before it
  (``fold_bn``, the default, when that conv feeds only the BN) or ``batchnorm2d``;
  LayerNormalization (last axis) -> ``layernorm``; Gelu -> ``gelu``; Softmax over the feature
  axis; Sigmoid, Tanh, LRN, HardSwish, Dropout; Identity, a Reshape that keeps the shape and a
  Transpose that only moves size-1 axes are no-ops; Constant and initializers are constants.
- Multi-head attention as exporters write Hugging Face's BertSelfAttention: a Reshape
  ``[N, T, F] -> [N, T, H, D]`` and Transposes to ``[N, H, T, D]`` / ``[N, H, D, T]`` are views of
  the token-major tensor (``_Act.view``), which a MatMul of two activations reads per head
  (``matmul`` with ``heads=H``; its [N, H, T, D] result is read back through a Transpose and a
  Reshape to ``[N, T, F]``). Mul/Div by one constant number is attention's scale: right after
  such a MatMul it becomes the matmul's ``scale``; on Q or K^T (torch's scaled_dot_product_attention)
  it waits on the tensor until the MatMul takes it (or is folded into a linear's weight); anywhere
  else it is refused. torch.nn.MultiheadAttention's export (one packed in-projection split by
  Gather, heads merged into the batch axis) is not mapped.
- GELU written element by element (before opset 20: ``x * 0.5 * (1 + Erf(x / sqrt(2)))`` and the
  tanh form) is recognised before the walk (``onnx_patterns.find_gelus``) and imports as one
  ``gelu``; an Erf or Pow outside that pattern is an unsupported operator.
- A per-channel scale and shift re-concatenated (``onnx_patterns.find_channel_affines``: Gather and
  Unsqueeze of each channel, Mul/Div/Add/Sub by numbers, Concat; torchvision GoogLeNet's
  ``transform_input``) imports as one ``batchnorm2d`` (mean 0, variance 1, eps 0); a Gather or
  Unsqueeze outside that pattern is an unsupported operator.
- The network input must be ``[N, C, H, W]`` or ``[N, T, F]`` with a fixed N (the batch is
  accelsim's ``--batch``: the imported shapes are per image).
- Parameters are what the layers hold: each conv/linear node's weight and bias elements (an
  initializer shared by two nodes counts for each), plus batchnorm2d/layernorm weight and bias.

Every refusal is one ``ModelFileError`` line naming the file and the node with its op_type. The
``onnx`` package is imported here only (lazily through ``resolve``), so start-up stays fast.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from accelsim.errors import AccelsimError, ModelFileError
from accelsim.workload import files
from accelsim.workload.fold import fold_affine
from accelsim.workload.layers import (
    GELU,
    Add,
    AvgPool2d,
    BatchNorm2d,
    Clip,
    Concat,
    Conv2d,
    Flatten,
    GlobalAvgPool2d,
    Hardswish,
    Layer,
    LayerError,
    LayerNorm,
    Linear,
    LocalResponseNorm,
    MatMul,
    MaxPool2d,
    ReLU,
    ReLU6,
    Sigmoid,
    Softmax,
    Tanh,
    name_problem,
)
from accelsim.workload.network import INPUT, Network
from accelsim.workload.onnx_patterns import ChannelAffine, Fused, find_channel_affines, find_gelus

INSTALL_HINT = "pip install 'accelsim[onnx]'"
SUPPORTED_OPS = (
    "Add", "AveragePool", "BatchNormalization", "Clip", "Concat", "Constant", "Conv", "Div", "Dropout", "Flatten",
    "Gelu", "Gemm", "GlobalAveragePool", "HardSwish", "Identity", "LRN", "LayerNormalization", "MatMul",
    "MaxPool", "Mul", "ReduceMean", "Relu", "Reshape", "Sigmoid", "Softmax", "Tanh", "Transpose",
)
PATTERN_NOTE = ("Erf and Pow only inside GELU's pattern x * 0.5 * (1 + Erf(x / sqrt(2))) or its tanh form; Gather "
                "and Unsqueeze only as a per-channel scale and shift re-concatenated, GoogLeNet's transform_input")
# The layouts of a [N, T, F] tensor split into heads, as permutations of the split [N, T, H, D]: what
# accelsim's matmul reads (token-major, split along the features) and writes.
SPLIT, HEADS, HEADS_T = (0, 1, 2, 3), (0, 2, 1, 3), (0, 2, 3, 1)  # [N, T, H, D], [N, H, T, D], [N, H, D, T]
_VIEW_READERS = ("Identity", "Dropout", "Reshape", "Transpose", "MatMul", "Mul", "Div")
_FLOAT_TYPES = (1, 10, 11, 16)  # TensorProto FLOAT, FLOAT16, DOUBLE, BFLOAT16


@dataclass(frozen=True)
class _Act:
    """An activation tensor: the accelsim node that produces it and its full ONNX shape (batch first).
    ``transposed``: the last two axes are swapped (only a MatMul's second operand may take it).
    ``view``: the node's token-major ``[N, T, H*D]`` output split into ``heads`` (Reshape) and
    permuted (Transpose): ``SPLIT``, ``HEADS`` or ``HEADS_T``. ``scale``: a constant factor not yet
    applied (Mul/Div), which the MatMul reading it takes into its own ``scale``."""

    node: str
    shape: tuple[int, ...]
    transposed: bool = False
    view: tuple[int, ...] | None = None
    heads: int = 1
    scale: float = 1.0


class _Refused(Exception):
    """A problem with the ONNX node being mapped (turned into one ModelFileError line)."""


def load_onnx(path: str | Path, strict: bool = False, fold_bn: bool = True) -> Network:
    """Read an ``.onnx`` file as a Network carrying its weights (module docstring)."""
    path = Path(path)
    try:
        data = files.read_bytes(path, files.MAX_ONNX_BYTES)
    except files.FileProblem as e:
        raise ModelFileError(path, e.line, None, e.problem) from None
    onnx = _onnx_module(path)
    model = _decode(onnx, data, path)
    to_array = onnx.numpy_helper.to_array
    fused: list[Fused | ChannelAffine] = [*find_gelus(model.graph, to_array),
                                          *find_channel_affines(model.graph, to_array)]
    _precheck(model, path, {i for f in fused for i in f.nodes})
    return _Importer(onnx, _checked(onnx, model, path), path, strict, fold_bn, fused).network()


def _onnx_module(path: Path) -> Any:
    try:
        import onnx
    except ImportError:
        raise AccelsimError(f"{path}: reading ONNX files needs the onnx package: {INSTALL_HINT}") from None
    return onnx


def _decode(onnx: Any, data: bytes, path: Path) -> Any:
    """The ModelProto in ``data``; a truncated or corrupt file is one line."""
    model = onnx.ModelProto()
    try:
        model.ParseFromString(data)
    except Exception as e:  # noqa: BLE001 - protobuf's DecodeError (or a C++ parser error): corrupt bytes
        raise ModelFileError(path, None, None,
                             f"not a valid ONNX model (truncated or corrupt: {_first_line(e)})") from None
    if not model.HasField("graph") or not model.graph.node:
        raise ModelFileError(path, None, None, "not a valid ONNX model (no graph nodes; truncated or corrupt?)")
    for t in model.graph.initializer:
        if t.data_location == onnx.TensorProto.EXTERNAL:
            raise ModelFileError(path, None, None, f"initializer '{t.name}' is stored in an external data file "
                                                   "(not supported: save the model with its weights inside)")
    return model


def _node_error(path: Path, node: Any, problem: str) -> ModelFileError:
    return ModelFileError(path, None, None, f"node '{node.name or node.output[0]}' ({node.op_type}): {problem}")


def _precheck(model: Any, path: Path, fused: set[int]) -> None:
    """Before ONNX's checker (whose messages name neither the problem nor the fix): every operator is
    one accelsim maps (or part of a recognised pattern, ``fused``), and every node input exists when
    the node runs."""
    graph = model.graph
    known = {t.name for t in graph.initializer} | {vi.name for vi in graph.input}
    for index, node in enumerate(graph.node):
        if node.domain not in ("", "ai.onnx"):
            raise _node_error(path, node, f"operator domain '{node.domain}' is not supported")
        if node.op_type not in SUPPORTED_OPS and index not in fused:
            raise _node_error(path, node, f"unsupported operator (supported: {', '.join(SUPPORTED_OPS)}; "
                                          f"{PATTERN_NOTE})")
        for name in node.input:
            if name and name not in known:
                raise _node_error(path, node, f"input '{name}' is not an initializer, a graph input or the output of "
                                              "an earlier node (missing initializer)")
        known.update(node.output)


def _checked(onnx: Any, model: Any, path: Path) -> Any:
    """``model`` after ONNX's checker, with ONNX's shape inference applied."""
    try:
        onnx.checker.check_model(model)
        return onnx.shape_inference.infer_shapes(model, check_type=True, strict_mode=True, data_prop=True)
    except (onnx.checker.ValidationError, onnx.shape_inference.InferenceError) as e:
        raise ModelFileError(path, None, None, f"invalid ONNX model: {_first_line(e)}") from None


def _first_line(e: BaseException) -> str:
    lines = [ln.strip() for ln in str(e).strip().splitlines() if ln.strip()]
    return lines[0] if lines else type(e).__name__


class _Importer:
    """One pass over the graph's nodes (ONNX keeps them in topological order)."""

    def __init__(self, onnx: Any, model: Any, path: Path, strict: bool, fold_bn: bool,
                 fused: list[Fused | ChannelAffine]):
        self.onnx, self.model, self.path, self.strict, self.fold_bn = onnx, model, path, strict, fold_bn
        self.fused_at = {f.at: f for f in fused}  # node index -> the pattern emitted there
        self.fused = {i for f in fused for i in f.nodes}
        graph = model.graph
        self.opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 1)
        self.consts: dict[str, np.ndarray] = {}
        for t in graph.initializer:
            self.consts[t.name] = self._array(t, f"initializer '{t.name}'")
        self.shapes: dict[str, tuple[int | None, ...]] = {}
        for vi in (*graph.input, *graph.value_info, *graph.output):
            self.shapes[vi.name] = self._dims(vi)
        self.uses = Counter(i for n in graph.node for i in n.input if i)
        self.uses.update(o.name for o in graph.output)
        self.acts: dict[str, _Act] = {}
        self.items: dict[str, tuple[Layer, list[str]]] = {}  # accelsim node name -> (layer, inputs), in order
        self.weights: dict[str, dict[str, np.ndarray]] = {}
        self.origin: dict[str, tuple[str, str]] = {}  # accelsim node name -> (ONNX node name, op_type)
        self.out_shapes: dict[str, tuple[int, ...]] = {}  # accelsim node name -> ONNX output shape
        self.input_shape = self._network_input(graph)

    # ---- helpers ------------------------------------------------------------------------------

    def _error(self, node: Any, problem: str) -> ModelFileError:
        return _node_error(self.path, node, problem)

    def _array(self, tensor: Any, what: str) -> np.ndarray:
        try:
            return np.asarray(self.onnx.numpy_helper.to_array(tensor))
        except Exception as e:  # noqa: BLE001 - any decoding failure of a corrupt tensor is one line
            raise ModelFileError(self.path, None, None, f"{what}: cannot read its data ({_first_line(e)})") from None

    @staticmethod
    def _dims(vi: Any) -> tuple[int | None, ...]:
        t = vi.type.tensor_type
        if not t.HasField("shape"):
            return ()
        return tuple(d.dim_value if d.HasField("dim_value") and d.dim_value > 0 else None for d in t.shape.dim)

    def _network_input(self, graph: Any) -> tuple[int, ...]:
        inputs = [vi for vi in graph.input if vi.name not in self.consts]
        if len(inputs) != 1:
            names = ", ".join(f"'{vi.name}'" for vi in inputs) or "none"
            raise ModelFileError(self.path, None, None, f"the graph must have exactly one input tensor, it has {names}")
        vi = inputs[0]
        where = f"input '{vi.name}'"
        t = vi.type.tensor_type
        if t.elem_type not in _FLOAT_TYPES:
            raise ModelFileError(self.path, None, None, f"{where}: element type must be floating point")
        dims = list(t.shape.dim) if t.HasField("shape") else []
        if len(dims) not in (3, 4):
            shown = [d.dim_value if d.HasField("dim_value") else (d.dim_param or "?") for d in dims]
            raise ModelFileError(self.path, None, None,
                                 f"{where}: shape {shown} is not [N, C, H, W] or [N, T, F]")
        for i, d in enumerate(dims):
            if not (d.HasField("dim_value") and d.dim_value > 0):
                what = "batch dimension" if i == 0 else f"dimension {i}"
                label = f" '{d.dim_param}'" if d.dim_param else ""
                raise ModelFileError(self.path, None, None,
                                     f"{where}: dynamic {what}{label}: export with a fixed input shape (batch 1)")
        shape = tuple(d.dim_value for d in dims)
        self.acts[vi.name] = _Act(INPUT, shape)
        return shape[1:]

    def _shape(self, node: Any, tensor: str) -> tuple[int, ...]:
        dims = self.shapes.get(tensor)
        if not dims or any(d is None for d in dims):
            raise _Refused(f"the shape of '{tensor}' is not static after ONNX shape inference")
        return tuple(d for d in dims if d is not None)

    def _act(self, node: Any, i: int) -> _Act:
        name = node.input[i] if i < len(node.input) else ""
        if not name:
            raise _Refused(f"input {i + 1} is missing")
        if name in self.acts:
            act = self.acts[name]
            if act.transposed and not (node.op_type == "MatMul" and i == 1):
                raise _Refused(f"input '{name}' is a Transpose that is not a layout no-op (only a MatMul's second "
                               "operand may be transposed)")
            if act.view is not None and node.op_type not in _VIEW_READERS:
                raise _Refused(f"input '{name}' {list(act.shape)} is split into {act.heads} heads: only a Transpose, "
                               "a Reshape back to [N, T, F], a MatMul of two activations or a scale may read it")
            if act.scale != 1 and node.op_type not in _VIEW_READERS:
                raise _Refused(f"input '{name}' is scaled by a constant (Mul/Div), which is supported only in front "
                               "of a MatMul (attention's score scale)")
            return act
        if name in self.consts:
            raise _Refused(f"input {i + 1} ('{name}') must be an activation, not a constant")
        raise _Refused(f"input '{name}' is not produced by any node, initializer or graph input (missing initializer)")

    def _const(self, node: Any, i: int, what: str, optional: bool = False) -> np.ndarray | None:
        name = node.input[i] if i < len(node.input) else ""
        if not name:
            if optional:
                return None
            raise _Refused(f"{what} (input {i + 1}) is missing")
        if name in self.consts:
            return self.consts[name]
        if name in self.acts:
            raise _Refused(f"{what} '{name}' must be an initializer or Constant, not computed at run time")
        raise _Refused(f"{what} '{name}' is not an initializer (missing initializer)")

    def _weight(self, node: Any, i: int, what: str, shape: tuple[int, ...] | None = None,
                optional: bool = False) -> np.ndarray | None:
        arr = self._const(node, i, what, optional)
        if arr is None:
            return None
        if arr.dtype.kind != "f":
            raise _Refused(f"{what} '{node.input[i]}' has element type {arr.dtype}, not floating point")
        if shape is not None and arr.shape != shape:
            raise _Refused(f"{what} '{node.input[i]}' has shape {list(arr.shape)}, expected {list(shape)}")
        return arr.astype(np.float32, copy=False)

    def _attrs(self, node: Any) -> dict[str, Any]:
        return {a.name: self.onnx.helper.get_attribute_value(a) for a in node.attribute}

    def _emit(self, node: Any, layer: Layer, inputs: list[str], weights: dict[str, np.ndarray] | None = None,
              heads: int | None = None) -> None:
        """Add ``layer``; with ``heads`` its token-major output is read as the node's [N, H, T, D] (``HEADS``)."""
        self.items[layer.name] = (layer, inputs)
        self.origin[layer.name] = (node.name or node.output[0], node.op_type)
        if weights:
            self.weights[layer.name] = weights
        shape = self._shape(node, node.output[0])
        if heads is None:
            self.out_shapes[layer.name] = shape
            self.acts[node.output[0]] = _Act(layer.name, shape)
        else:
            n, h, t, d = shape
            self.out_shapes[layer.name] = (n, t, h * d)
            self.acts[node.output[0]] = _Act(layer.name, shape, view=HEADS, heads=heads)

    def _alias(self, node: Any, act: _Act, transposed: bool | None = None, **changes: Any) -> None:
        flag = act.transposed if transposed is None else transposed
        self.acts[node.output[0]] = dataclasses.replace(act, shape=self._shape(node, node.output[0]), transposed=flag,
                                                        **changes)

    def _layer_name(self, node: Any, index: int) -> str:
        name = node.name or node.output[0]
        if name_problem(name) or name == INPUT or name in self.items:
            name = self._unique(f"{node.op_type.lower()}_{index}")
        return name

    def _unique(self, name: str) -> str:
        """``name``, with ``_`` appended until no layer has it."""
        while name in self.items:
            name += "_"
        return name

    def _gemm_producer(self, act: _Act, tensor: str) -> tuple[Conv2d | Linear, list[str]] | None:
        """The conv/linear layer producing ``tensor`` when ``tensor`` has no other use (so it may absorb
        what follows: a BN, a bias)."""
        if act.node == INPUT or act.transposed or self.uses[tensor] != 1:
            return None
        layer, inputs = self.items[act.node]
        return (layer, inputs) if isinstance(layer, (Conv2d, Linear)) else None

    # ---- the walk ------------------------------------------------------------------------------

    def network(self) -> Network:
        graph = self.model.graph
        for index, node in enumerate(graph.node):
            if index in self.fused and index not in self.fused_at:
                continue  # inside a recognised pattern, emitted at its last node
            handler = (functools.partial(self._fused, self.fused_at[index]) if index in self.fused_at
                       else getattr(self, f"_op_{node.op_type}"))
            try:
                handler(node, self._layer_name(node, index), self._attrs(node))
            except _Refused as e:
                raise self._error(node, str(e)) from None
            except LayerError as e:
                raise self._error(node, f"{e.field}: {e.problem}") from None
        return self._assemble()

    def _assemble(self) -> Network:
        outputs = list(self.model.graph.output)
        if len(outputs) != 1:
            raise ModelFileError(self.path, None, None,
                                 f"the graph must have exactly one output, it has {len(outputs)}")
        out = outputs[0].name
        act = self.acts.get(out)
        if act is None or act.node == INPUT:
            raise ModelFileError(self.path, None, None, f"output '{out}' is not computed by any supported layer")
        if act.transposed or act.view is not None:
            raise ModelFileError(self.path, None, None, f"output '{out}' is a Transpose or Reshape that is not a "
                                                        "layout no-op")
        if act.scale != 1:
            raise ModelFileError(self.path, None, None, f"output '{out}' is scaled by a constant (Mul/Div): "
                                                        "supported only in front of a MatMul")
        keep = self._ancestors(act.node)
        items = [(layer, inputs) for name, (layer, inputs) in self.items.items() if name in keep]
        try:
            net = Network.graph(self.path.stem or "onnx", self.input_shape, items, self.strict)
        except LayerError as e:
            onnx_name, op = self.origin.get(e.layer, (e.layer, "?"))
            raise ModelFileError(self.path, None, None, f"node '{onnx_name}' ({op}): {e.field}: {e.problem}") from None
        for node in net.nodes:  # accelsim's shape inference must agree with ONNX's
            onnx_name, op = self.origin[node.name]
            expected = self._per_image(self.out_shapes[node.name])
            if tuple(node.output_shape) != expected:
                raise ModelFileError(self.path, None, None,
                                     f"node '{onnx_name}' ({op}): output shape {list(node.output_shape)} differs "
                                     f"from ONNX's {list(expected)}")
        weights = {name: w for name, w in self.weights.items() if name in keep}
        return dataclasses.replace(net, weights=weights)

    @staticmethod
    def _per_image(shape: tuple[int, ...]) -> tuple[int, ...]:
        """An ONNX shape (batch first) as accelsim's per-image shape: a vector [N, F] is (F, 1, 1)."""
        rest = tuple(shape[1:])
        return (rest[0], 1, 1) if len(rest) == 1 else rest

    def _ancestors(self, name: str) -> set[str]:
        keep, todo = set(), [name]
        while todo:
            n = todo.pop()
            if n == INPUT or n in keep:
                continue
            keep.add(n)
            todo.extend(self.items[n][1])
        return keep

    # ---- operators -----------------------------------------------------------------------------

    def _fused(self, f: Fused | ChannelAffine, node, name, attrs) -> None:
        """The last node of a recognised pattern (``onnx_patterns``): one ``gelu`` layer, or a per-channel affine."""
        if isinstance(f, ChannelAffine):
            self._channel_affine(f, node, name)
            return
        x = self.acts.get(f.x)
        if x is None:
            raise _Refused(f"the input '{f.x}' of its GELU pattern must be an activation")
        if x.transposed or x.view is not None or x.scale != 1:
            raise _Refused(f"the input '{f.x}' of its GELU pattern is a transposed, split or scaled view")
        self._emit(node, GELU(name, f.approximate), [x.node])

    def _channel_affine(self, f: ChannelAffine, node, name) -> None:
        """A per-channel scale and shift re-concatenated (``onnx_patterns.ChannelAffine``, GoogLeNet's
        transform_input): a ``batchnorm2d`` with mean 0, variance 1 and eps 0, so y = x * scale + shift
        exactly. Not folded into the conv after it: that conv's zero padding would then see shifted zeros."""
        x = self.acts.get(f.x)
        c = len(f.scale)
        if x is None:
            raise _Refused(f"the channels it concatenates must be picked from an activation, not '{f.x}'")
        if x.transposed or x.view is not None or x.scale != 1 or len(x.shape) != 4 or x.shape[1] != c:
            raise _Refused(f"it rescales {c} channels of '{f.x}' {list(x.shape)}: only every channel of an "
                           "[N, C, H, W] activation, in order, is supported")
        self._emit(node, BatchNorm2d(name, c, eps=0.0), [x.node],
                   {"weight": np.asarray(f.scale, np.float32), "bias": np.asarray(f.shift, np.float32),
                    "running_mean": np.zeros(c, np.float32), "running_var": np.ones(c, np.float32)})

    def _op_Mul(self, node, name, attrs) -> None:
        self._scale(node, divide=False)

    def _op_Div(self, node, name, attrs) -> None:
        self._scale(node, divide=True)

    def _scale(self, node, divide: bool) -> None:
        """A product with (or a division by) one constant number: attention's score scale. Right after a
        MatMul of two activations read by nothing else it becomes that matmul's ``scale``; before one
        (on Q or K) the activation carries it until a MatMul takes it."""
        names = list(node.input)
        consts = [i for i, n in enumerate(names) if n in self.consts]
        what = "a division by" if divide else "a product with"
        if len(names) != 2 or len(consts) != 1 or (divide and consts != [1]):
            raise _Refused(f"only {what} one constant number is supported (attention's score scale; an element-wise "
                           "product of activations is not)")
        c = self.consts[names[consts[0]]]
        value = float(c.reshape(-1)[0]) if c.size == 1 and c.dtype.kind == "f" else math.nan
        if not math.isfinite(value) or value == 0:
            raise _Refused(f"the constant '{names[consts[0]]}' must be one finite, nonzero floating-point number "
                           f"(shape {list(c.shape)})")
        factor = 1 / value if divide else value
        i = 1 - consts[0]
        x = self._act(node, i)
        layer, inputs = self.items.get(x.node, (None, None))
        if isinstance(layer, MatMul) and inputs is not None and self._readers(x.node) == 1:
            self.items[layer.name] = (dataclasses.replace(layer, scale=layer.scale * factor), inputs)
            self._alias(node, x)
        else:
            self._alias(node, x, scale=x.scale * factor)

    def _readers(self, node_name: str) -> int:
        """How many node inputs (and graph outputs) read the accelsim node's value, under any alias."""
        return sum(self.uses[t] for t, a in self.acts.items() if a.node == node_name)

    def _op_Identity(self, node, name, attrs) -> None:
        src = node.input[0]
        if src in self.consts:
            self.consts[node.output[0]] = self.consts[src]  # the same array: a shared initializer
        else:
            self.acts[node.output[0]] = self._act(node, 0)

    def _op_Constant(self, node, name, attrs) -> None:
        if len(node.attribute) != 1:
            raise _Refused("expected exactly one value attribute")
        key, value = node.attribute[0].name, attrs[node.attribute[0].name]
        if key == "value":
            self.consts[node.output[0]] = self._array(node.attribute[0].t, f"node '{name}' (Constant)")
            return
        if key in ("value_float", "value_int", "value_floats", "value_ints"):
            self.consts[node.output[0]] = np.asarray(value, np.float32 if "float" in key else np.int64)
            return
        raise _Refused(f"attribute '{key}' is not supported (a dense tensor or numbers only)")

    def _op_Dropout(self, node, name, attrs) -> None:
        if len(node.output) > 1 and node.output[1] and self.uses[node.output[1]]:
            raise _Refused("its mask output is used (training form)")
        if len(node.input) > 2 and node.input[2]:
            mode = self._const(node, 2, "training_mode")
            if mode is not None and bool(np.asarray(mode).any()):
                raise _Refused("training_mode is true")
        self._alias(node, self._act(node, 0))

    def _op_Conv(self, node, name, attrs) -> None:
        x = self._act(node, 0)
        if len(x.shape) != 4:
            raise _Refused(f"input shape {list(x.shape)} is not [N, C, H, W]")
        w = self._weight(node, 1, "weight")
        assert w is not None
        if w.ndim != 4:
            raise _Refused(f"weight '{node.input[1]}' has shape {list(w.shape)}; only 2-D convolutions are supported")
        group = attrs.get("group", 1)
        out_c, _, kh, kw = w.shape
        b = self._weight(node, 2, "bias", (out_c,), optional=True)
        kernel = tuple(attrs.get("kernel_shape", (kh, kw)))
        if kernel != (kh, kw):
            raise _Refused(f"kernel_shape {list(kernel)} differs from the weight's {[kh, kw]}")
        strides = tuple(attrs.get("strides", (1, 1)))
        dilations = tuple(attrs.get("dilations", (1, 1)))
        padding = self._padding(node, attrs, x.shape, (kh, kw), strides, dilations, ceil_mode=False)
        layer = Conv2d(name, x.shape[1], out_c, (kh, kw), stride=strides, padding=padding, dilation=dilations,
                       groups=group, bias=b is not None)
        if w.shape[1] != x.shape[1] // group:
            raise _Refused(f"weight '{node.input[1]}' has shape {list(w.shape)}: expected {x.shape[1] // group} "
                           f"input channels per group")
        self._emit(node, layer, [x.node], {"weight": w, **({"bias": b} if b is not None else {})})

    def _padding(self, node, attrs, shape, kernel, strides, dilations, ceil_mode: bool) -> tuple[int, int]:
        """Symmetric (pad_h, pad_w) equivalent to the node's pads, or refused."""
        auto = attrs.get("auto_pad", b"NOTSET")
        auto = auto.decode() if isinstance(auto, bytes) else str(auto)
        spatial = shape[2:]
        if auto in ("SAME_UPPER", "SAME_LOWER"):
            pads = []
            for n, k, s, d in zip(spatial, kernel, strides, dilations, strict=True):
                total = max(0, (math.ceil(n / s) - 1) * s + d * (k - 1) + 1 - n)
                small, large = total // 2, total - total // 2
                pads.append((small, large) if auto == "SAME_UPPER" else (large, small))
            begins, ends = [p[0] for p in pads], [p[1] for p in pads]
        elif auto == "VALID":
            begins, ends = [0, 0], [0, 0]
        elif auto == "NOTSET":
            p = list(attrs.get("pads", (0, 0, 0, 0)))
            if len(p) != 4:
                raise _Refused(f"pads {p} must have four values for a 2-D window")
            begins, ends = p[:2], p[2:]
        else:
            raise _Refused(f"auto_pad '{auto}' is not supported")
        out = []
        for axis, n, k, s, d, b, e in zip(("height", "width"), spatial, kernel, strides, dilations, begins, ends,
                                          strict=True):
            if b != e and not self._end_pad_unused(n, k, s, d, b, e, ceil_mode):
                raise _Refused(f"asymmetric pads {begins + ends} along {axis} (begin {b}, end {e}) are not supported")
            out.append(b)
        return out[0], out[1]

    @staticmethod
    def _end_pad_unused(n: int, k: int, s: int, d: int, b: int, e: int, ceil_mode: bool) -> bool:
        """An end pad larger than the begin pad that no window reaches (the output is the same with b on both sides)."""
        if e < b:
            return False
        span = d * (k - 1) + 1

        def windows(p_end: int) -> int:
            total = n + b + p_end - span
            if total < 0:
                return 0
            if not ceil_mode:
                return total // s + 1
            o = -(-total // s) + 1
            return o - 1 if (o - 1) * s >= n + b else o

        return windows(b) == windows(e)

    def _pool(self, node, name, attrs, cls) -> None:
        x = self._act(node, 0)
        if len(x.shape) != 4:
            raise _Refused(f"input shape {list(x.shape)} is not [N, C, H, W]")
        kernel = tuple(attrs.get("kernel_shape", ()))
        if len(kernel) != 2:
            raise _Refused(f"kernel_shape {list(kernel)} must have two values")
        strides = tuple(attrs.get("strides", (1, 1)))
        dilations = tuple(attrs.get("dilations", (1, 1)))
        if dilations != (1, 1):
            raise _Refused(f"dilations {list(dilations)} are not supported for pooling")
        ceil_mode = bool(attrs.get("ceil_mode", 0))
        padding = self._padding(node, attrs, x.shape, kernel, strides, dilations, ceil_mode)
        if cls is AvgPool2d and any(padding) and not attrs.get("count_include_pad", 0):
            raise _Refused("count_include_pad=0 with padding is not supported (accelsim's avgpool2d counts padded "
                           "zeros in the divisor, PyTorch's default)")
        if cls is MaxPool2d and len(node.output) > 1 and node.output[1] and self.uses[node.output[1]]:
            raise _Refused("its Indices output is used")
        self._emit(node, cls(name, kernel, strides, padding, ceil_mode), [x.node])

    def _op_MaxPool(self, node, name, attrs) -> None:
        self._pool(node, name, attrs, MaxPool2d)

    def _op_AveragePool(self, node, name, attrs) -> None:
        self._pool(node, name, attrs, AvgPool2d)

    def _op_GlobalAveragePool(self, node, name, attrs) -> None:
        x = self._act(node, 0)
        if len(x.shape) != 4:
            raise _Refused(f"input shape {list(x.shape)} is not [N, C, H, W]")
        self._emit(node, GlobalAvgPool2d(name), [x.node])

    def _op_ReduceMean(self, node, name, attrs) -> None:
        """A mean over both spatial axes (torch.onnx's dynamo exporter writes adaptive_avg_pool2d to
        1x1 this way): ``global_avgpool2d``, then ``flatten`` when the axes are not kept."""
        x = self._act(node, 0)
        if self.opset >= 18:
            axes = self._const(node, 1, "axes", optional=True)
        else:
            axes = np.asarray(attrs["axes"]) if "axes" in attrs else None
        rank = len(x.shape)
        listed = [] if axes is None else [int(a) + rank if a < 0 else int(a) for a in np.asarray(axes).reshape(-1)]
        if rank != 4 or sorted(listed) != [2, 3]:
            shown = "none" if axes is None else [int(a) for a in np.asarray(axes).reshape(-1)]
            raise _Refused(f"only a mean over the spatial axes of [N, C, H, W] is supported (input {list(x.shape)}, "
                           f"axes {shown})")
        if attrs.get("keepdims", 1):
            self._emit(node, GlobalAvgPool2d(name), [x.node])
            return
        pooled = self._unique(f"{name}_pool")
        self.items[pooled] = (GlobalAvgPool2d(pooled), [x.node])
        self.origin[pooled] = (node.name or node.output[0], node.op_type)
        self.out_shapes[pooled] = (*x.shape[:2], 1, 1)
        self._emit(node, Flatten(name), [pooled])

    def _gemm_input(self, x: _Act) -> None:
        if len(x.shape) not in (2, 3):
            raise _Refused(f"input shape {list(x.shape)} is not [N, F] or [N, T, F]")

    def _op_Gemm(self, node, name, attrs) -> None:
        x = self._act(node, 0)
        if len(x.shape) != 2:
            raise _Refused(f"input shape {list(x.shape)} is not [N, F]")
        if attrs.get("transA", 0):
            raise _Refused("transA=1 is not supported")
        b = self._weight(node, 1, "weight")
        assert b is not None
        if b.ndim != 2:
            raise _Refused(f"weight '{node.input[1]}' has shape {list(b.shape)}, not 2-D")
        w = b if attrs.get("transB", 0) else b.T  # (out, in)
        alpha, beta = float(attrs.get("alpha", 1.0)), float(attrs.get("beta", 1.0))
        if alpha != 1.0:
            w = w * np.float32(alpha)
        out_f, in_f = w.shape
        if in_f != x.shape[1]:
            raise _Refused(f"weight '{node.input[1]}' takes {in_f} features but the input has {x.shape[1]}")
        c = self._weight(node, 2, "bias", optional=True)
        bias = None
        if c is not None:
            try:
                bias = np.broadcast_to(c, (1, out_f))[0] * np.float32(beta)
            except ValueError:
                raise _Refused(f"bias '{node.input[2]}' of shape {list(c.shape)} is not per output feature") from None
        self._emit(node, Linear(name, in_f, out_f, bias=bias is not None), [x.node],
                   {"weight": np.ascontiguousarray(w, np.float32),
                    **({"bias": np.ascontiguousarray(bias, np.float32)} if bias is not None else {})})

    def _op_MatMul(self, node, name, attrs) -> None:
        x = self._act(node, 0)
        second = node.input[1]
        if second in self.consts:
            if x.view is not None:
                raise _Refused(f"input '{node.input[0]}' is split into heads: a MatMul with a weight needs [N, F] or "
                               "[N, T, F]")
            self._gemm_input(x)
            w = self._weight(node, 1, "weight")
            assert w is not None
            if w.ndim != 2 or w.shape[0] != x.shape[-1]:
                raise _Refused(f"weight '{second}' has shape {list(w.shape)}; expected [{x.shape[-1]}, out_features]")
            w = w * np.float32(x.scale) if x.scale != 1 else w  # (s x) W = x (s W)
            self._emit(node, Linear(name, w.shape[0], w.shape[1], bias=False), [x.node],
                       {"weight": np.ascontiguousarray(w.T, np.float32)})
            return
        y = self._act(node, 1)
        scale = x.scale * y.scale
        if len(x.shape) == 4 or len(y.shape) == 4:
            self._head_matmul(node, name, x, y, scale)
            return
        if len(x.shape) != 3 or len(y.shape) != 3:
            raise _Refused(f"a product of activations needs two [N, T, F] inputs, got {list(x.shape)} and "
                           f"{list(y.shape)}")
        self._emit(node, MatMul(name, transpose_b=y.transposed, scale=scale), [x.node, y.node])

    def _head_matmul(self, node, name, x: _Act, y: _Act, scale: float) -> None:
        """Attention per head: Q [N, H, T, D] (or the scores [N, H, T, T]) times K^T [N, H, D, T] or V
        [N, H, T, D], the [N, T, H*D] tensors split into heads by Reshape and Transpose."""
        if y.view not in (HEADS, HEADS_T):
            raise _Refused(f"input 2 '{node.input[1]}' {list(y.shape)} must be a [N, T, F] tensor split into heads by "
                           "a Reshape to [N, T, H, D] and a Transpose to [N, H, T, D] or [N, H, D, T]")
        h = y.heads
        if x.view == HEADS and x.heads == h:
            token_major = True
        elif x.view is None and len(x.shape) == 4 and x.shape[1] == h:
            token_major = False  # per-head scores [N, H, T, T]
        else:
            raise _Refused(f"input 1 '{node.input[0]}' {list(x.shape)} must be split into the {h} heads of input 2 "
                           "([N, H, T, D] by a Reshape and a Transpose) or be per-head scores [N, H, T, T]")
        layer = MatMul(name, heads=h, transpose_b=y.view == HEADS_T, scale=scale)
        # accelsim keeps per-head scores (H, T, T) for a token-major A with several heads, else merges the
        # heads back token-major (T, H*D): read as [N, H, T, D]
        merged = not token_major or h == 1
        self._emit(node, layer, [x.node, y.node], heads=h if merged else None)

    def _op_Add(self, node, name, attrs) -> None:
        names = list(node.input)
        consts = [i for i, n in enumerate(names) if n in self.consts]
        if not consts:
            acts = [self._act(node, i) for i in range(len(names))]
            self._emit(node, Add(name), [a.node for a in acts])
            return
        if len(names) != 2 or len(consts) != 1:
            raise _Refused("an Add of constants only is not supported")
        i = 1 - consts[0]
        x = self._act(node, i)
        producer = self._gemm_producer(x, names[i])
        if producer is None:
            raise _Refused(f"adding the constant '{names[consts[0]]}' is supported only as the bias of a Conv, Gemm or "
                           "MatMul whose output feeds only this Add")
        layer, inputs = producer
        c = self.consts[names[consts[0]]]
        out = layer.out_channels if isinstance(layer, Conv2d) else layer.out_features
        axis = 1 if isinstance(layer, Conv2d) or len(x.shape) == 2 else len(x.shape) - 1
        extra = self._bias_vector(c, x.shape, axis, out)
        if extra is None:
            raise _Refused(f"the constant '{names[consts[0]]}' of shape {list(c.shape)} is not a per-channel bias of "
                           f"'{layer.name}'")
        w = self.weights[layer.name]
        bias = extra if "bias" not in w else w["bias"] + extra
        self._replace(layer, inputs, dataclasses.replace(layer, bias=True), {**w, "bias": bias}, node, x)

    @staticmethod
    def _bias_vector(c: np.ndarray, shape: tuple[int, ...], axis: int, out: int) -> np.ndarray | None:
        """``c`` as a per-channel (axis ``axis`` of ``shape``) vector of ``out`` floats, or None."""
        if c.dtype.kind != "f" or c.ndim > len(shape):
            return None
        dims = (1,) * (len(shape) - c.ndim) + c.shape
        if any(d != 1 for i, d in enumerate(dims) if i != axis) or dims[axis] not in (1, out):
            return None
        return np.broadcast_to(c.reshape(-1), (out,)).astype(np.float32)

    def _replace(self, layer: Layer, inputs: list[str], new: Layer, weights: dict[str, np.ndarray], node: Any,
                 x: _Act) -> None:
        """Put ``new`` (same name) in ``layer``'s place; ``node``'s output is now that layer's output."""
        self.items[layer.name] = (new, inputs)
        self.weights[layer.name] = weights
        self.acts[node.output[0]] = dataclasses.replace(x, shape=self._shape(node, node.output[0]))

    def _op_BatchNormalization(self, node, name, attrs) -> None:
        x = self._act(node, 0)
        if len(x.shape) != 4:
            raise _Refused(f"input shape {list(x.shape)} is not [N, C, H, W]")
        if attrs.get("training_mode", 0) or any(o and self.uses[o] for o in node.output[1:]):
            raise _Refused("training mode (running statistics as outputs) is not supported")
        c = x.shape[1]
        scale, shift, mean, var = (self._weight(node, i, what, (c,)) for i, what in
                                   enumerate(("scale", "B", "input_mean", "input_var"), start=1))
        assert scale is not None and shift is not None and mean is not None and var is not None
        eps = float(attrs.get("epsilon", 1e-5))
        producer = self._gemm_producer(x, node.input[0]) if self.fold_bn else None
        if producer is not None and isinstance(producer[0], Conv2d):
            conv, inputs = producer
            w = self.weights[conv.name]
            weight, bias = fold_affine(w["weight"], w.get("bias"), scale, shift, mean, var, eps)
            weight, bias = weight.astype(np.float32), bias.astype(np.float32)
            self._replace(conv, inputs, dataclasses.replace(conv, bias=True), {"weight": weight, "bias": bias}, node, x)
            return
        self._emit(node, BatchNorm2d(name, c, eps), [x.node],
                   {"weight": scale, "bias": shift, "running_mean": mean, "running_var": var})

    def _op_Relu(self, node, name, attrs) -> None:
        self._emit(node, ReLU(name), [self._act(node, 0).node])

    def _op_Sigmoid(self, node, name, attrs) -> None:
        self._emit(node, Sigmoid(name), [self._act(node, 0).node])

    def _op_Tanh(self, node, name, attrs) -> None:
        self._emit(node, Tanh(name), [self._act(node, 0).node])

    def _op_HardSwish(self, node, name, attrs) -> None:
        self._emit(node, Hardswish(name), [self._act(node, 0).node])

    def _op_Gelu(self, node, name, attrs) -> None:
        approximate = attrs.get("approximate", b"none")
        approximate = approximate.decode() if isinstance(approximate, bytes) else str(approximate)
        self._emit(node, GELU(name, approximate), [self._act(node, 0).node])

    def _op_LRN(self, node, name, attrs) -> None:
        x = self._act(node, 0)
        if len(x.shape) != 4:
            raise _Refused(f"input shape {list(x.shape)} is not [N, C, H, W]")
        self._emit(node, LocalResponseNorm(name, attrs["size"], float(attrs.get("alpha", 1e-4)),
                                           float(attrs.get("beta", 0.75)), float(attrs.get("bias", 1.0))), [x.node])

    def _op_Clip(self, node, name, attrs) -> None:
        x = self._act(node, 0)
        if self.opset < 11:
            lo, hi = attrs.get("min", -math.inf), attrs.get("max", math.inf)
        else:
            bounds = []
            for i, what in ((1, "min"), (2, "max")):
                v = self._const(node, i, what, optional=True)
                if v is not None and v.size != 1:
                    raise _Refused(f"{what} '{node.input[i]}' must be a scalar")
                bounds.append(None if v is None else float(v.reshape(-1)[0]))
            lo = -math.inf if bounds[0] is None else bounds[0]
            hi = math.inf if bounds[1] is None else bounds[1]
        if lo == 0 and hi == 6:
            layer: Layer = ReLU6(name)
        elif lo == 0 and hi == math.inf:
            layer = ReLU(name)
        elif math.isinf(lo) or math.isinf(hi):
            raise _Refused(f"a one-sided clip [{lo}, {hi}] is supported only as [0, inf) (ReLU)")
        else:
            layer = Clip(name, lo, hi)
        self._emit(node, layer, [x.node])

    def _op_Concat(self, node, name, attrs) -> None:
        for i, t in enumerate(node.input):
            if t in self.consts:
                raise _Refused(f"input {i + 1} ('{t}') is a constant (a learned class token?): only activations can be "
                               "concatenated")
        acts = [self._act(node, i) for i in range(len(node.input))]
        rank = len(acts[0].shape)
        axis = attrs.get("axis", 1)
        axis = axis + rank if axis < 0 else axis
        if axis == 0:
            raise _Refused("concatenation along the batch axis is not supported")
        # any other axis: the per-image axis after the batch ([N, F] is the vector (F, 1, 1))
        self._emit(node, Concat(name, axis=axis - 1), [a.node for a in acts])

    def _op_Flatten(self, node, name, attrs) -> None:
        x = self._act(node, 0)
        axis = attrs.get("axis", 1)
        axis = axis + len(x.shape) if axis < 0 else axis
        if axis != 1:
            raise _Refused(f"axis {attrs.get('axis')} is not supported (only 1: [N, ...] -> [N, features])")
        self._flatten(node, name, x)

    def _flatten(self, node, name, x: _Act) -> None:
        if len(x.shape) == 2:
            self._alias(node, x)  # already [N, F]
        else:
            self._emit(node, Flatten(name), [x.node])

    def _op_Reshape(self, node, name, attrs) -> None:
        x = self._act(node, 0)
        self._const(node, 1, "shape")  # a run-time shape is refused
        out = self._shape(node, node.output[0])
        if out == x.shape:
            self._alias(node, x)
        elif x.view is None and len(x.shape) == 3 and len(out) == 4 and out[:2] == x.shape[:2]:
            self._alias(node, x, view=SPLIT, heads=out[2])  # [N, T, F] -> [N, T, H, D]: into heads
        elif x.view == SPLIT and len(out) == 3 and out[:2] == x.shape[:2]:
            self._alias(node, x, view=None, heads=1)  # [N, T, H, D] -> [N, T, F]: the heads merged back
        elif x.view is None and x.scale == 1 and len(out) == 2 and out[0] == x.shape[0]:
            self._flatten(node, name, x)
        else:
            raise _Refused(f"a reshape from {list(x.shape)} to {list(out)} is not supported (only to [N, features], "
                           "and [N, T, F] into heads [N, T, H, D] and back)")

    def _op_Transpose(self, node, name, attrs) -> None:
        x = self._act(node, 0)
        rank = len(x.shape)
        perm = list(attrs.get("perm", range(rank - 1, -1, -1)))
        if x.view is not None:
            view = tuple(x.view[a] for a in perm) if sorted(perm) == list(range(4)) else None
            if view not in (SPLIT, HEADS, HEADS_T):
                raise _Refused(f"perm {perm} of {list(x.shape)} (split into heads) gives a layout other than [N, T, H, "
                               "D], [N, H, T, D] or [N, H, D, T]")
            self._alias(node, x, view=view)
            return
        moved = [a for a in perm if x.shape[a] != 1]
        if moved == sorted(moved):
            self._alias(node, x)  # only size-1 axes move: the elements keep their order
        elif rank == 3 and perm == [0, 2, 1]:
            self._alias(node, x, transposed=not x.transposed)
        else:
            raise _Refused(f"perm {perm} on a {list(x.shape)} tensor is not a layout no-op")

    def _op_Softmax(self, node, name, attrs) -> None:
        x = self._act(node, 0)
        rank = len(x.shape)
        default = -1 if self.opset >= 13 else 1
        axis = attrs.get("axis", default)
        axis = axis + rank if axis < 0 else axis
        if self.opset < 13 and axis != rank - 1:
            raise _Refused(f"axis {axis} flattens the trailing axes (opset < 13): only the last axis is supported")
        per_image = x.shape[1:]
        feature = 1 if rank == 2 or (rank == 4 and per_image[1:] == (1, 1)) else rank - 1
        if axis != feature:
            raise _Refused(f"softmax along axis {axis} of {list(x.shape)} is not supported (only the feature axis)")
        self._emit(node, Softmax(name), [x.node])

    def _op_LayerNormalization(self, node, name, attrs) -> None:
        x = self._act(node, 0)
        axis = attrs.get("axis", -1)
        if len(x.shape) != 3 or axis not in (-1, 2):
            raise _Refused(f"only normalization over the last axis of [N, T, F] is supported (input {list(x.shape)}, "
                           f"axis {axis})")
        if any(o and self.uses[o] for o in node.output[1:]):
            raise _Refused("its Mean/InvStdDev outputs are used")
        f = x.shape[-1]
        scale = self._weight(node, 1, "scale", (f,))
        assert scale is not None
        bias = self._weight(node, 2, "bias", (f,), optional=True)
        bias = np.zeros(f, np.float32) if bias is None else bias
        self._emit(node, LayerNorm(name, f, float(attrs.get("epsilon", 1e-5))), [x.node],
                   {"weight": scale, "bias": bias})
