"""Network forward passes through the lowering, in float32 and in bit-exact int8.

Generic over ``Network``: a connected network (``sequential`` or ``graph``) runs its nodes in
topological order, each on its inputs' outputs by name (``"input"``: the network input), and
frees a result as soon as no later node needs it (``keep=False`` keeps only the network output);
an independent one (``chained=False``, a SCALE-Sim topology) runs every node on its own input.
Tensors carry the batch first: (N, C, H, W) images, (N, T, F) token sequences, (N, H, T, T)
per-head scores, (N, F, 1, 1) vectors.

Parameters (``init_params``) and inputs (``random_inputs``) are deterministic in ``seed``
(numpy's PCG64 streams, keyed per layer): weights are He-uniform, U(+-sqrt(6 / fan_in)) with
He's variance 2 / fan_in (drawing uniforms is several times faster than normals, which matters
for VGG's 138M weights); biases U(+-1/sqrt(fan_in)) (PyTorch's default); batch norm weight
U(0.5, 1.5), bias U(+-0.25), running mean U(+-0.25), running variance U(0.5, 1.5); layer norm
weight U(0.5, 1.5), bias U(+-0.25); inputs standard normal. A network that carries its own
``weights`` (an imported model) runs on those instead (``params_for``).

Integer mode (``quantize_network`` then ``forward_int``), with the rules of ``quant.py``:

- scales are fixed by calibration, one float32 forward on the calibration input (by default the
  same seeded input): the network input and each node's output get ``scale_for(max |float
  activation|)`` unless a rule below says otherwise; conv/linear weights ``scale_for(max |W|)``.
- conv/linear (also per token): int8 operands, ``acc = A @ B`` exact int32 per group, then the
  array's output stage (``requant``, docs/microarchitecture.md): plus the int32 bias
  ``rint(b / (s_in*s_w))`` (wrapping), requantized by the integer multiplier and shift of
  ``m = (s_in*s_w) / s_out`` (TFLite's rounding), clamped by its fused activation.
- fused activations: a ReLU, ReLU6 or Clip(0, 6) whose only input is a conv/linear (or a batch
  norm folded into one) read by nothing else runs in that conv's output stage (clamp [0, 127], or
  [0, round(6 / s_out)]) and passes the result through; a fused ReLU6's calibrated output scale
  becomes the conv's (TFLite's fused activations), a fused ReLU keeps the conv's (exact either way).
- batchnorm2d whose only input is a conv used by nothing else: folded into that conv before
  quantization (``ops.fold_batchnorm``: ``w*g``, ``(b - mean)*g + beta``); the conv's output scale
  is the batch norm's, and the batch norm node passes the conv's int8 output through. Any other
  batch norm: dequantize, float64 batch norm, quantize.
- matmul of two activations: per head (and image) ``acc = A @ B`` exact int32, requantized with
  ``m = (s_a*s_b*scale) / s_out`` (the layer's ``scale``, attention's 1/sqrt(d); float32: ``y*scale``).
- add: each input rescaled to the output scale, ``t_i = rint(float64(q_i) * (s_i/s_out))`` (int64,
  not clipped), then ``clip(sum t_i, -127, 127)``.
- concat (along any per-image axis): output scale ``max(s_i)``; each input ``requantize(q_i,
  s_i/s_out)`` (exact passthrough for the inputs at that scale), then concatenated.
- ReLU, max pooling, flatten, dropout: exact on int8, scale unchanged.
- average pooling (also ceil_mode), global and adaptive average pooling: ``rint(sum(q) / count)``
  (half to even; ``count`` the window's divisor), scale unchanged.
- tanh, sigmoid: a 256-entry table of ``quantize(f(q*s_in), 1/127)``; relu6, clip, hardswish,
  GELU: the same table with the calibrated output scale (dequantize -> float op -> requantize).
- LRN, layernorm, softmax: dequantize to float64, compute, quantize (softmax to scale 1/127).

Only the transcendental layers (tanh, sigmoid, GELU, LRN, layernorm, softmax) depend on the
platform's libm; the GEMM accumulators are exact everywhere. With ``record=True`` every
conv/linear/matmul ``LayerRun`` carries its Gemms (int8 ``a``, ``b``), per-group accumulators
(int32, bias not added), which is what the systolic model must reproduce (a matmul records one
Gemm per image and head, image-major), and per group the output stage and its int8 result.
``direct=True`` runs conv, linear, matmul and pooling through the golden loops instead (use it on
LeNet-5-sized networks) for cross-checking.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np

from accelsim.errors import AccelsimError
from accelsim.lowering import golden, ops, quant, requant
from accelsim.lowering._args import integer
from accelsim.lowering.gemm import Gemm, gemms_to_nchw, lower_conv, lower_linear, lower_matmul
from accelsim.progress import ProgressCallback
from accelsim.workload.fold import bn_folds
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
    Layer,
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
    as_pair,
)
from accelsim.workload.network import INPUT, Network, Node

_PARAMS, _INPUTS = 0, 1
_GEMM_LAYERS = (Conv2d, Linear)
_STATS = ("running_mean", "running_var")


@dataclass(frozen=True, eq=False)
class Params:
    """One layer's parameters: OIHW (conv) or (out, in) (linear) ``weight`` and optional ``bias``;
    per channel ``weight``, ``bias`` and the running statistics for a batch norm, per feature
    ``weight`` and ``bias`` for a layer norm."""

    weight: np.ndarray
    bias: np.ndarray | None
    running_mean: np.ndarray | None = None
    running_var: np.ndarray | None = None


@dataclass(frozen=True, eq=False)
class LayerRun:
    """One node's result. ``output`` is float32, or int8 in integer mode (real = output * scale);
    None when the pass ran with ``keep=False`` and this is not the network output. ``max_abs`` is
    the output's largest magnitude (what calibration needs).

    ``gemms`` and ``acc`` (per-group ``a @ b``, int32 in integer mode, without bias) are filled
    for conv/linear/matmul nodes when the pass ran with ``record=True`` on the lowered path; in
    integer mode also each group's output stage (``stages``, bias cut to the group's channels) and
    its int8 result ``out`` (M x N, what the layer's output is assembled from).
    """

    node: Node
    output: np.ndarray | None
    scale: float | None = None
    gemms: tuple[Gemm, ...] = ()
    acc: tuple[np.ndarray, ...] = ()
    max_abs: float = 0.0
    stages: tuple[requant.OutputStage, ...] = ()
    out: tuple[np.ndarray, ...] = ()


@dataclass(frozen=True, eq=False)
class Run:
    """A forward pass: one LayerRun per node, in the network's (topological) order."""

    network: Network
    layers: tuple[LayerRun, ...]

    @property
    def output(self) -> np.ndarray:
        """The network output: the last node's."""
        out = self.layers[-1].output
        assert out is not None  # the last node's output is always kept
        return out

    def __getitem__(self, name: str) -> LayerRun:
        for run in self.layers:
            if run.node.layer.name == name:
                return run
        raise KeyError(name)


@dataclass(frozen=True, eq=False)
class QLayer:
    """A node's integer parameters: real input i = q * in_scales[i], real output = q * out_scale.

    ``in_scale`` is the first input's. Conv/linear nodes also have an int8 ``weight`` (scale
    ``weight_scale``), an int32 ``bias`` at scale ``in_scale * weight_scale`` and the ``activation``
    fused into their output stage; ``folded`` marks a batch norm folded into its conv or an
    activation fused into it (it passes the conv's output through); ``norm`` holds an unfolded
    batch norm's or a layer norm's float parameters.
    """

    in_scale: float
    out_scale: float
    weight: np.ndarray | None = None
    weight_scale: float | None = None
    bias: np.ndarray | None = None
    in_scales: tuple[float, ...] = ()
    folded: bool = False
    norm: Params | None = None  # a batch/layer norm's float parameters (its rule runs in float64)
    activation: str = "none"  # a conv/linear's fused activation (requant.ACTIVATIONS)

    def __post_init__(self):
        if not self.in_scales:
            object.__setattr__(self, "in_scales", (self.in_scale,))

    @property
    def multiplier(self) -> float:
        """Requantization multiplier ``(in_scale * weight_scale) / out_scale`` of a conv/linear node."""
        if self.weight_scale is None:
            raise ValueError("multiplier: only a conv/linear layer has a weight scale")
        return self.in_scale * self.weight_scale / self.out_scale

    def output_stage(self) -> requant.OutputStage:
        """A conv/linear node's output stage: its bias, integer multiplier and fused activation."""
        return requant.OutputStage.from_scales(self.multiplier, self.out_scale, self.bias, self.activation)


@dataclass(frozen=True, eq=False)
class QuantizedNetwork:
    """A network with fixed int8 parameters and scales, one QLayer per node."""

    network: Network
    layers: tuple[QLayer, ...]

    def __getitem__(self, name: str) -> QLayer:
        for node, q in zip(self.network.nodes, self.layers, strict=True):
            if node.layer.name == name:
                return q
        raise KeyError(name)


def _rng(seed: int, stream: int, index: int) -> np.random.Generator:
    return np.random.default_rng([integer("forward", "seed", seed, 0), stream, index])


def _uniform(rng: np.random.Generator, lo: float, hi: float, n: int) -> np.ndarray:
    return rng.uniform(lo, hi, n).astype(np.float32)


def init_params(network: Network, seed: int = 0) -> dict[str, Params]:
    """Deterministic float32 parameters for every conv/linear/batchnorm/layernorm node, by layer name."""
    params = {}
    for i, node in enumerate(network.nodes):
        layer = node.layer
        rng = _rng(seed, _PARAMS, i)
        if isinstance(layer, BatchNorm2d):
            c = layer.num_features
            params[layer.name] = Params(_uniform(rng, 0.5, 1.5, c), _uniform(rng, -0.25, 0.25, c),
                                        _uniform(rng, -0.25, 0.25, c), _uniform(rng, 0.5, 1.5, c))
            continue
        if isinstance(layer, LayerNorm):
            f = layer.normalized_shape
            params[layer.name] = Params(_uniform(rng, 0.5, 1.5, f), _uniform(rng, -0.25, 0.25, f))
            continue
        if isinstance(layer, Conv2d):
            kh, kw = as_pair(layer.kernel_size)
            shape: tuple[int, ...] = (layer.out_channels, layer.in_channels // layer.groups, kh, kw)
        elif isinstance(layer, Linear):
            shape = (layer.out_features, layer.in_features)
        else:
            continue
        fan_in = math.prod(shape[1:])
        bound = math.sqrt(6 / fan_in)
        weight = rng.random(shape, dtype=np.float32)
        weight *= np.float32(2 * bound)
        weight -= np.float32(bound)
        bias_bound = 1 / math.sqrt(fan_in)
        bias = rng.uniform(-bias_bound, bias_bound, shape[0]).astype(np.float32) if layer.bias else None
        params[layer.name] = Params(weight, bias)
    return params


def _expected(layer: Layer) -> dict[str, tuple[int, ...]] | None:
    """The parameter arrays a layer needs (``/work``'s forward-api: PyTorch's names), or None."""
    out: dict[str, tuple[int, ...]]
    if isinstance(layer, Conv2d):
        kh, kw = as_pair(layer.kernel_size)
        out = {"weight": (layer.out_channels, layer.in_channels // layer.groups, kh, kw)}
        return {**out, "bias": (layer.out_channels,)} if layer.bias else out
    if isinstance(layer, Linear):
        out = {"weight": (layer.out_features, layer.in_features)}
        return {**out, "bias": (layer.out_features,)} if layer.bias else out
    if isinstance(layer, BatchNorm2d):
        c = (layer.num_features,)
        return {"weight": c, "bias": c, "running_mean": c, "running_var": c}
    if isinstance(layer, LayerNorm):
        return {"weight": (layer.normalized_shape,), "bias": (layer.normalized_shape,)}
    return None


def params_for(network: Network, seed: int = 0) -> dict[str, Params]:
    """The parameters a forward pass uses by default: the network's own ``weights`` (checked against
    each layer: every array present, of its shape, finite) or else ``init_params(network, seed)``."""
    if network.weights is None:
        return init_params(network, seed)
    params = {}
    for node in network.nodes:
        want = _expected(node.layer)
        if want is None:
            continue
        name = node.layer.name
        got = network.weights.get(name)
        if not isinstance(got, Mapping):
            raise AccelsimError(f"forward: weights: no parameters for layer '{name}' ({node.layer.kind})")
        arrays: dict[str, np.ndarray] = {}
        for key, shape in want.items():
            if key not in got:
                raise AccelsimError(f"forward: weights: layer '{name}': '{key}' is missing")
            a = np.asarray(got[key], dtype=np.float32)
            if a.shape != shape:
                raise AccelsimError(f"forward: weights: layer '{name}': '{key}' has shape {a.shape}, "
                                    f"expected {shape}")
            if not np.isfinite(a).all():
                raise AccelsimError(f"forward: weights: layer '{name}': '{key}' is not finite")
            arrays[key] = a
        params[name] = Params(arrays["weight"], arrays.get("bias"), arrays.get("running_mean"),
                              arrays.get("running_var"))
    return params


def random_inputs(network: Network, batch: int = 1, seed: int = 0) -> list[np.ndarray]:
    """Standard-normal float32 inputs (batch first): one for a connected network, one per node otherwise."""
    batch = integer("forward", "batch", batch, 1)
    shapes = [network.input_shape] if network.chained else [n.input_shape for n in network.nodes]
    return [_rng(seed, _INPUTS, i).standard_normal((batch, *s), dtype=np.float32) for i, s in enumerate(shapes)]


def _inputs(network: Network, x, batch: int, seed: int) -> list[np.ndarray]:
    if x is None:
        return random_inputs(network, batch, seed)
    if network.chained:
        xs, shapes = [x], [network.input_shape]
    else:
        if isinstance(x, np.ndarray) or not isinstance(x, Sequence) or len(x) != len(network.nodes):
            raise AccelsimError(f"forward: x: network '{network.name}' has independent layers: "
                                f"expected a list of {len(network.nodes)} inputs, one per layer")
        xs, shapes = list(x), [n.input_shape for n in network.nodes]
    out = []
    for xi, shape in zip(xs, shapes, strict=True):
        try:
            xi = np.asarray(xi, dtype=np.float32)
        except (TypeError, ValueError):
            raise AccelsimError(f"forward: x: expected a numeric array of shape (N, {', '.join(map(str, shape))})") \
                from None
        if xi.ndim != len(shape) + 1 or xi.shape[1:] != tuple(shape) or xi.shape[0] < 1:
            raise AccelsimError(f"forward: x: expected shape (N, {', '.join(map(str, shape))}), got {xi.shape}")
        if not np.isfinite(xi).all():
            raise AccelsimError("forward: x: contains NaN or infinity")
        out.append(xi)
    return out


def _params_of(params: Mapping[str, Params], layer: Layer) -> Params:
    try:
        return params[layer.name]
    except KeyError:
        raise AccelsimError(f"forward: params: no parameters for layer '{layer.name}'") from None


Assemble = Callable[[Sequence[np.ndarray]], np.ndarray]  # a node's per-group M x N results -> its output tensor


def _gemm_layer(
    layer: Layer, x: np.ndarray, weight: np.ndarray, direct: bool
) -> tuple[np.ndarray, tuple[Gemm, ...], tuple[np.ndarray, ...], Assemble | None]:
    """A conv/linear node without bias: (output, its Gemms, their products, how per-group results are laid
    out as the output; None when ``direct``)."""
    if isinstance(layer, Conv2d):
        args = (layer.stride, layer.padding, layer.dilation, layer.groups)
        if direct:
            return golden.conv2d(x, weight, None, *args), (), (), None
        gemms, w = lower_conv(f"layer '{layer.name}'", x, weight, *args)

        def assemble(results: Sequence[np.ndarray]) -> np.ndarray:
            return gemms_to_nchw(results, x.shape[0], w.out)
    else:
        if direct:
            return golden.linear(x, weight), (), (), None
        gemms = (lower_linear(f"layer '{layer.name}'", x, weight),)

        def assemble(results: Sequence[np.ndarray]) -> np.ndarray:
            r = results[0]
            return r.reshape(*x.shape[:2], -1) if x.ndim == 3 else r.reshape(*r.shape, 1, 1)
    acc = tuple(g.compute() for g in gemms)
    return assemble(acc), gemms, acc, assemble


def _add_bias(y: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """Per output channel (images, vectors) or per output feature (tokens, last axis)."""
    return y + (bias.reshape(1, 1, -1) if y.ndim == 3 else bias.reshape(1, -1, 1, 1))


def _matmul_operands(layer: MatMul, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``layer``'s operands as (N, heads, M, K) and (N, heads, K, N') views (``MatMul``'s layouts)."""
    h = layer.heads
    if a.ndim == 3:  # token-major (N, M, heads*K): split the features into heads
        a = a.reshape(a.shape[0], a.shape[1], h, -1).transpose(0, 2, 1, 3)
    if layer.transpose_b:  # (N, N', heads*K) used as its transpose
        b = b.reshape(b.shape[0], b.shape[1], h, -1).transpose(0, 2, 3, 1)
    else:  # (N, K, heads*N')
        b = b.reshape(b.shape[0], b.shape[1], h, -1).transpose(0, 2, 1, 3)
    return a, b


def _matmul(layer: MatMul, a: np.ndarray, b: np.ndarray, direct: bool, token_major: bool
            ) -> tuple[np.ndarray, tuple[Gemm, ...], tuple[np.ndarray, ...], Assemble | None]:
    """(output, its Gemms (one per image and head), their products, their layout; see ``_gemm_layer``)."""
    a4, b4 = _matmul_operands(layer, a, b)

    def heads(y: np.ndarray) -> np.ndarray:
        if token_major and layer.heads > 1:
            return y  # per-head scores (N, heads, M, N')
        return y.transpose(0, 2, 1, 3).reshape(y.shape[0], y.shape[2], -1)

    if direct:
        return heads(golden.matmul(a4, b4)), (), (), None

    def assemble(results: Sequence[np.ndarray]) -> np.ndarray:
        return heads(np.stack(results).reshape(*a4.shape[:3], b4.shape[-1]))

    gemms = lower_matmul(f"layer '{layer.name}'", a4, b4)
    acc = tuple(g.compute() for g in gemms)
    return assemble(acc), gemms, acc, assemble


def _pool(layer: Layer, x: np.ndarray, direct: bool) -> np.ndarray:
    impl = golden if direct else ops
    if isinstance(layer, MaxPool2d):
        return impl.max_pool2d(x, layer.kernel_size, layer.stride, layer.padding, ceil_mode=layer.ceil_mode)
    if isinstance(layer, AvgPool2d):
        return impl.avg_pool2d(x, layer.kernel_size, layer.stride, layer.padding, ceil_mode=layer.ceil_mode)
    if isinstance(layer, GlobalAvgPool2d):
        return impl.global_avg_pool2d(x)
    assert isinstance(layer, AdaptiveAvgPool2d)
    return impl.adaptive_avg_pool2d(x, layer.output_size)


_POOLS = (MaxPool2d, AvgPool2d, GlobalAvgPool2d, AdaptiveAvgPool2d)


def _softmax_axis(x: np.ndarray) -> int:
    """The feature axis: a vector's (N, F, 1, 1) first, else the last (tokens, score rows)."""
    return 1 if x.ndim == 4 and x.shape[2:] == (1, 1) else -1


def _pointwise(layer: Layer) -> Callable[[np.ndarray], np.ndarray] | None:
    """The float function of a one-input layer without parameters or windows (None if it has them)."""
    if isinstance(layer, LocalResponseNorm):
        return lambda v: ops.local_response_norm(v, layer.size, layer.alpha, layer.beta, layer.k)
    if isinstance(layer, Clip):
        return lambda v: ops.clip(v, layer.min, layer.max)
    if isinstance(layer, GELU):
        return lambda v: ops.gelu(v, layer.approximate)
    if isinstance(layer, Softmax):
        return lambda v: ops.softmax(v, _softmax_axis(v))
    return {ReLU: ops.relu, Tanh: ops.tanh, Sigmoid: ops.sigmoid, Flatten: ops.flatten, ReLU6: ops.relu6,
            Hardswish: ops.hardswish, Dropout: ops.dropout}.get(type(layer))


def _unsupported(layer: Layer) -> AccelsimError:
    return AccelsimError(f"layer '{layer.name}': type: '{layer.kind}' has no lowering")


class _Values:
    """Node outputs by name during a pass, each freed once its last consumer has run."""

    def __init__(self, network: Network, inputs: list[np.ndarray]):
        self.network, self.inputs = network, inputs
        self.values: dict[str, np.ndarray] = {}
        self.uses: dict[str, int] = {}
        if network.chained:
            self.values[INPUT] = inputs[0]
            for node in network.nodes:
                for src in node.inputs:
                    self.uses[src] = self.uses.get(src, 0) + 1

    def args(self, i: int, node: Node) -> list[np.ndarray]:
        """Node ``i``'s inputs, releasing the ones no later node reads."""
        if not self.network.chained:
            return [self.inputs[i]]
        out = [self.values[src] for src in node.inputs]
        for src in node.inputs:
            self.uses[src] -= 1
            if self.uses[src] == 0:
                del self.values[src]
        return out

    def put(self, node: Node, y: np.ndarray) -> None:
        if self.network.chained and self.uses.get(node.layer.name, 0):
            self.values[node.layer.name] = y


def _max_abs(y: np.ndarray) -> float:
    return float(np.max(np.abs(y))) if y.size else 0.0


def forward(network: Network, params: Mapping[str, Params] | None = None, x=None, *, batch: int = 1,
            seed: int = 0, record: bool = False, direct: bool = False, keep: bool = True,
            progress: ProgressCallback | None = None) -> Run:
    """float32 forward pass; ``x`` defaults to ``random_inputs(network, batch, seed)``.

    ``params`` defaults to ``params_for(network, seed)``. For independent networks ``x`` is a
    list with one input per node. ``keep=False`` keeps only the network output (the last node's).
    ``progress(done, total)`` is called after each layer.
    """
    params = params_for(network, seed) if params is None else params
    values = _Values(network, _inputs(network, x, batch, seed))
    runs = []
    last = len(network.nodes) - 1
    for i, node in enumerate(network.nodes):
        layer = node.layer
        xs = values.args(i, node)
        x0 = xs[0]
        gemms: tuple[Gemm, ...] = ()
        acc: tuple[np.ndarray, ...] = ()
        if isinstance(layer, _GEMM_LAYERS):
            p = _params_of(params, layer)
            y, gemms, acc, _ = _gemm_layer(layer, x0, p.weight, direct)
            if p.bias is not None:
                y = _add_bias(y, p.bias)
        elif isinstance(layer, MatMul):
            y, gemms, acc, _ = _matmul(layer, x0, xs[1], direct, len(node.input_shapes[0]) == 2)
            if layer.scale != 1:
                y = y * np.float32(layer.scale)
        elif isinstance(layer, _POOLS):
            y = _pool(layer, x0, direct)
        elif isinstance(layer, Add):
            y = ops.add(*xs)
        elif isinstance(layer, Concat):
            y = ops.concat(*xs, axis=1 + layer.axis)
        elif isinstance(layer, BatchNorm2d):
            p = _params_of(params, layer)
            y = ops.batchnorm2d(x0, p.weight, p.bias, p.running_mean, p.running_var, layer.eps)
        elif isinstance(layer, LayerNorm):
            p = _params_of(params, layer)
            y = ops.layernorm(x0, p.weight, p.bias, layer.eps)
        elif (fn := _pointwise(layer)) is not None:
            y = fn(x0)
        else:
            raise _unsupported(layer)
        y = np.asarray(y, dtype=np.float32)
        values.put(node, y)
        runs.append(LayerRun(node, y if keep or i == last else None, None,
                             *((gemms, acc) if record else ((), ())), max_abs=_max_abs(y)))
        if progress is not None:
            progress(i + 1, len(network.nodes))
    return Run(network, tuple(runs))


_TABLES = (Tanh, Sigmoid, ReLU6, Clip, Hardswish, GELU)


def _activation(layer: Layer) -> str | None:
    """The output-stage activation a layer is (``requant.ACTIVATIONS``), or None."""
    if isinstance(layer, ReLU):
        return "relu"
    if isinstance(layer, ReLU6) or (isinstance(layer, Clip) and layer.min == 0 and layer.max == 6):
        return "relu6"
    return None


def fused_activations(network: Network) -> dict[str, tuple[str, str]]:
    """Activation node -> (the conv/linear whose output stage runs it, activation): its only input is
    that conv/linear, or a batch norm folded into it (``bn_folds``), read by nothing else."""
    if not network.chained:
        return {}
    folds = bn_folds(network)
    uses: dict[str, int] = {}
    for node in network.nodes:
        for src in node.inputs:
            uses[src] = uses.get(src, 0) + 1
    gemms = {n.layer.name for n in network.nodes if isinstance(n.layer, _GEMM_LAYERS)}
    out = {}
    for node in network.nodes:
        act = _activation(node.layer)
        if act is None or len(node.inputs) != 1 or uses[node.inputs[0]] != 1:
            continue
        src = folds.get(node.inputs[0], node.inputs[0])
        if src in gemms:
            out[node.layer.name] = (src, act)
    return out
_SCALE_KEPT = (ReLU, MaxPool2d, AvgPool2d, GlobalAvgPool2d, AdaptiveAvgPool2d, Flatten, Dropout)


def quantize_network(network: Network, params: Mapping[str, Params] | None = None, x=None, *, batch: int = 1,
                     seed: int = 0, progress: ProgressCallback | None = None) -> QuantizedNetwork:
    """Quantize ``params`` to int8 with scales calibrated by a float forward on ``x``.

    ``x`` defaults to ``random_inputs(network, batch, seed)``, the same input ``forward_int``
    draws by default. ``progress(done, total)`` follows the float pass layer by layer.
    """
    params = params_for(network, seed) if params is None else params
    inputs = _inputs(network, x, batch, seed)
    calib = forward(network, params, inputs[0] if network.chained else inputs, keep=False, progress=progress)
    folds = bn_folds(network)
    folded_into = {conv: bn for bn, conv in folds.items()}
    fused = fused_activations(network)
    fused_into = {gemm: (act_node, act) for act_node, (gemm, act) in fused.items()}
    seen = {run.node.layer.name: run.max_abs for run in calib.layers}
    scales: dict[str, float] = {INPUT: quant.tensor_scale(inputs[0])} if network.chained else {}
    layers = []
    for i, (node, run) in enumerate(zip(network.nodes, calib.layers, strict=True)):
        layer = node.layer
        s_ins = tuple(scales[src] for src in node.inputs) if network.chained else (quant.tensor_scale(inputs[i]),)
        s_in = s_ins[0]
        calibrated = quant.scale_for(run.max_abs)
        if isinstance(layer, _GEMM_LAYERS):
            p = _params_of(params, layer)
            weight, bias = p.weight, p.bias
            if layer.name in folded_into:
                bn_layer = network.node(folded_into[layer.name]).layer
                assert isinstance(bn_layer, BatchNorm2d)
                bn = _params_of(params, bn_layer)
                weight, bias = ops.fold_batchnorm(weight, bias, bn.weight, bn.bias, bn.running_mean, bn.running_var,
                                                  bn_layer.eps)
                calibrated = quant.scale_for(seen[bn_layer.name])
            activation = "none"
            if layer.name in fused_into:
                act_node, activation = fused_into[layer.name]
                if activation == "relu6":  # the clamp's scale: the activation's calibrated output
                    calibrated = quant.scale_for(seen[act_node])
            s_w = quant.tensor_scale(weight)
            qbias = None if bias is None else quant.quantize_bias(bias, s_in * s_w)
            q = QLayer(s_in, calibrated, quant.quantize(weight, s_w), s_w, qbias, s_ins, activation=activation)
        elif layer.name in folds or layer.name in fused:
            q = QLayer(s_in, s_in, in_scales=s_ins, folded=True)
        elif isinstance(layer, (Tanh, Sigmoid, Softmax)):
            q = QLayer(s_in, 1 / quant.QMAX, in_scales=s_ins)
        elif isinstance(layer, Concat):
            q = QLayer(s_in, max(s_ins), in_scales=s_ins)
        elif isinstance(layer, _SCALE_KEPT):
            q = QLayer(s_in, s_in, in_scales=s_ins)
        elif isinstance(layer, (BatchNorm2d, LayerNorm)):
            q = QLayer(s_in, calibrated, in_scales=s_ins, norm=_params_of(params, layer))
        else:  # LRN, add, matmul, the table activations: calibrated
            q = QLayer(s_in, calibrated, in_scales=s_ins)
        layers.append(q)
        scales[layer.name] = q.out_scale
    return QuantizedNetwork(network, tuple(layers))


def _rescale_add(qs: list[np.ndarray], in_scales: tuple[float, ...], out_scale: float) -> np.ndarray:
    """The int8 add rule: ``clip(sum rint(q_i * (s_i/s_out)), -127, 127)``."""
    total = np.zeros(qs[0].shape, dtype=np.int64)
    for q, s in zip(qs, in_scales, strict=True):
        total += np.rint(np.multiply(q, s / out_scale, dtype=np.float64)).astype(np.int64)
    return np.clip(total, -quant.QMAX, quant.QMAX).astype(np.int8)


# Computes a conv/linear/matmul node's int8 output elsewhere (the RTL): given the node's recorded LayerRun
# (its Gemms, int32 accumulators, per-group output stages and the model's int8 results ``out``), one
# M x N int8 array per group.
GemmOutputs = Callable[[LayerRun], Sequence[np.ndarray]]


def forward_int(qnet: QuantizedNetwork, x=None, *, batch: int = 1, seed: int = 0, record: bool = False,
                direct: bool = False, keep: bool = True, progress: ProgressCallback | None = None,
                gemm_outputs: GemmOutputs | None = None) -> Run:
    """Bit-exact int8 forward pass of ``qnet`` (rules in the module docstring).

    ``x`` is the real-valued input (quantized with the input's scale) and defaults to
    ``random_inputs(network, batch, seed)``. ``keep=False`` keeps only the network output.
    ``progress(done, total)`` is called after each layer. ``gemm_outputs`` (lowered path only): each
    conv/linear/matmul node's int8 output is assembled from what it returns instead of the model's
    output stage, and the later nodes compute on that (a pass through the RTL).
    """
    return Run(qnet.network, tuple(iter_forward_int(qnet, x, batch=batch, seed=seed, record=record, direct=direct,
                                                    keep=keep, progress=progress, gemm_outputs=gemm_outputs)))


def _given_outputs(gemm_outputs: GemmOutputs, node: Node, out_scale: float, gemms: tuple[Gemm, ...],
                   acc: tuple[np.ndarray, ...], stages: tuple[requant.OutputStage, ...],
                   assemble: Assemble | None) -> np.ndarray:
    """A GEMM node's output assembled from ``gemm_outputs``' per-group results, each checked to be the shape
    and integer range of the model's own."""
    where = f"forward_int: layer '{node.layer.name}'"
    if assemble is None:
        raise ValueError(f"{where}: gemm_outputs needs the lowered path (direct=False)")
    outs = tuple(st.apply(a) for st, a in zip(stages, acc, strict=True))
    given = [np.asarray(r) for r in gemm_outputs(LayerRun(node, None, out_scale, gemms, acc, stages=stages,
                                                          out=outs))]
    if len(given) != len(outs):
        raise AccelsimError(f"{where}: gemm_outputs gave {len(given)} results for {len(outs)} GEMMs")
    for g, (r, o) in enumerate(zip(given, outs, strict=True)):
        info = np.iinfo(o.dtype)
        if r.shape != o.shape or not np.issubdtype(r.dtype, np.integer) or (
                r.size and (r.min() < info.min or r.max() > info.max)):
            raise AccelsimError(f"{where}: gemm_outputs' result {g} is not {o.shape[0]}x{o.shape[1]} {o.dtype} "
                                f"(shape {r.shape}, {r.dtype})")
    return assemble([r.astype(o.dtype) for r, o in zip(given, outs, strict=True)])


def iter_forward_int(qnet: QuantizedNetwork, x=None, *, batch: int = 1, seed: int = 0, record: bool = False,
                     direct: bool = False, keep: bool = True, progress: ProgressCallback | None = None,
                     gemm_outputs: GemmOutputs | None = None) -> Iterator[LayerRun]:
    """``forward_int`` one node at a time: each node's ``LayerRun`` as soon as it is computed, so a caller
    that drops them (``record=True, keep=False``) holds one layer's GEMMs at a time, not the network's."""
    network = qnet.network
    inputs = _inputs(network, x, batch, seed)
    first = qnet.layers[0]
    if network.chained:
        inputs = [quant.quantize(inputs[0], first.in_scale)]  # the first node reads only the input
    else:
        inputs = [quant.quantize(xi, ql.in_scale) for xi, ql in zip(inputs, qnet.layers, strict=True)]
    values = _Values(network, inputs)
    last = len(network.nodes) - 1
    for i, (node, ql) in enumerate(zip(network.nodes, qnet.layers, strict=True)):
        layer = node.layer
        qs = values.args(i, node)
        q = qs[0]
        gemms: tuple[Gemm, ...] = ()
        acc: tuple[np.ndarray, ...] = ()
        stages: tuple[requant.OutputStage, ...] = ()
        if isinstance(layer, _GEMM_LAYERS):
            if ql.weight is None:
                raise AccelsimError(f"forward_int: layer '{layer.name}': quantized without its weights")
            y, gemms, acc, assemble = _gemm_layer(layer, q, ql.weight, direct)
            acc = tuple(quant.to_int32(a) for a in acc)
            stage = ql.output_stage()
            stages = tuple(stage.group(g, a.shape[1]) for g, a in enumerate(acc))
            q = (stage.apply(y, -1 if y.ndim == 3 else 1) if gemm_outputs is None else
                 _given_outputs(gemm_outputs, node, ql.out_scale, gemms, acc, stages, assemble))
        elif isinstance(layer, MatMul):
            y, gemms, acc, assemble = _matmul(layer, q, qs[1], direct, len(node.input_shapes[0]) == 2)
            acc = tuple(quant.to_int32(a) for a in acc)
            stage = requant.OutputStage.from_scales(ql.in_scales[0] * ql.in_scales[1] * layer.scale / ql.out_scale,
                                                    ql.out_scale)
            stages = (stage,) * len(acc)
            q = (stage.apply(y) if gemm_outputs is None else
                 _given_outputs(gemm_outputs, node, ql.out_scale, gemms, acc, stages, assemble))
        elif ql.folded or isinstance(layer, (ReLU, Flatten, Dropout)):
            q = ops.flatten(q) if isinstance(layer, Flatten) else (ops.relu(q) if isinstance(layer, ReLU) else q)
        elif isinstance(layer, MaxPool2d):
            q = _pool(layer, q, direct)
        elif isinstance(layer, _POOLS):
            q = quant.round_clip(_pool(layer, q, direct))
        elif isinstance(layer, Add):
            q = _rescale_add(qs, ql.in_scales, ql.out_scale)
        elif isinstance(layer, Concat):
            q = np.concatenate([quant.requantize(qi, s / ql.out_scale) if s != ql.out_scale else qi
                                for qi, s in zip(qs, ql.in_scales, strict=True)], axis=1 + layer.axis)
        elif isinstance(layer, _TABLES):
            fn = _pointwise(layer)
            assert fn is not None
            q = quant.lookup(q, quant.table(fn, ql.in_scale, ql.out_scale))
        else:
            real = quant.dequantize(q, ql.in_scale)
            if isinstance(layer, BatchNorm2d) and ql.norm is not None:
                p = ql.norm
                y = ops.batchnorm2d(real, p.weight, p.bias, p.running_mean, p.running_var, layer.eps)
            elif isinstance(layer, LayerNorm) and ql.norm is not None:
                y = ops.layernorm(real, ql.norm.weight, ql.norm.bias, layer.eps)
            elif (fn := _pointwise(layer)) is not None:
                y = fn(real)
            else:
                raise _unsupported(layer)
            q = quant.quantize(y, ql.out_scale)
        values.put(node, q)
        run = LayerRun(node, q if keep or i == last else None, ql.out_scale, max_abs=_max_abs(q) * ql.out_scale)
        if record:
            run = replace(run, gemms=gemms, acc=acc, stages=stages,
                          out=tuple(st.apply(a) for st, a in zip(stages, acc, strict=True)))
        del gemms, acc, stages  # the caller holds the only reference
        if progress is not None:
            progress(i + 1, len(network.nodes))
        yield run
