"""Network forward passes through the lowering, in float32 and in bit-exact int8.

Generic over ``Network``: a chained network feeds each node's output to the next; an
independent one (``chained=False``, a SCALE-Sim topology) runs every node on its own input.

Parameters (``init_params``) and inputs (``random_inputs``) are deterministic in ``seed``
(numpy's PCG64 streams, keyed per layer): weights are He-uniform, U(+-sqrt(6 / fan_in)) with
He's variance 2 / fan_in (drawing uniforms is several times faster than normals, which matters
for VGG's 138M weights); biases U(+-1/sqrt(fan_in)) (PyTorch's default); inputs standard normal.

Integer mode (``quantize_network`` then ``forward_int``), with the rules of ``quant.py``:

- scales are fixed by calibration, one float32 forward on the calibration input (by default the
  same seeded input): the network input and each conv/linear/LRN output get
  ``scale_for(max |float activation|)``; conv/linear weights ``scale_for(max |W|)``.
- conv/linear: int8 operands, ``acc = A @ B`` exact int32 per group, plus the int32 bias
  ``rint(b / (s_in*s_w))``, requantized with multiplier ``m = (s_in*s_w) / s_out``.
- ReLU, max pooling, flatten: exact on int8, scale unchanged.
- average pooling: ``rint(sum(q) / (kh*kw))`` (half to even), scale unchanged.
- tanh, sigmoid: a 256-entry table of ``quantize(f(q*s_in), 1/127)``.
- LRN, softmax: dequantize to float64, compute, quantize (softmax to scale 1/127).

Only the transcendental layers (tanh, sigmoid, LRN, softmax) depend on the platform's libm;
the GEMM accumulators are exact everywhere. With ``record=True`` every conv/linear ``LayerRun``
carries its Gemms (int8 ``a``, ``b``) and per-group accumulators (int32, bias not added),
which is what the systolic model must reproduce. ``direct=True`` runs conv, linear and pooling
through the golden loops instead (use it on LeNet-5-sized networks) for cross-checking.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from accelsim.errors import AccelsimError
from accelsim.lowering import golden, ops, quant
from accelsim.lowering._args import integer
from accelsim.lowering.gemm import Gemm, gemms_to_nchw, lower_conv, lower_linear
from accelsim.progress import ProgressCallback
from accelsim.workload.layers import (
    AvgPool2d,
    Conv2d,
    Flatten,
    Layer,
    Linear,
    LocalResponseNorm,
    MaxPool2d,
    ReLU,
    Sigmoid,
    Softmax,
    Tanh,
    as_pair,
)
from accelsim.workload.network import Network, Node

_PARAMS, _INPUTS = 0, 1


@dataclass(frozen=True, eq=False)
class Params:
    """One layer's parameters: OIHW (conv) or (out, in) (linear) ``weight`` and optional ``bias``."""

    weight: np.ndarray
    bias: np.ndarray | None


@dataclass(frozen=True, eq=False)
class LayerRun:
    """One node's result. ``output`` is float32, or int8 in integer mode (real = output * scale).

    ``gemms`` and ``acc`` (per-group ``a @ b``, int32 in integer mode, without bias) are filled
    for conv/linear nodes when the pass ran with ``record=True`` on the lowered path.
    """

    node: Node
    output: np.ndarray
    scale: float | None = None
    gemms: tuple[Gemm, ...] = ()
    acc: tuple[np.ndarray, ...] = ()


@dataclass(frozen=True, eq=False)
class Run:
    """A forward pass: one LayerRun per node, in network order."""

    network: Network
    layers: tuple[LayerRun, ...]

    @property
    def output(self) -> np.ndarray:
        return self.layers[-1].output

    def __getitem__(self, name: str) -> LayerRun:
        for run in self.layers:
            if run.node.layer.name == name:
                return run
        raise KeyError(name)


@dataclass(frozen=True, eq=False)
class QLayer:
    """A node's integer parameters: real input = q * in_scale, real output = q * out_scale.

    Conv/linear nodes also have an int8 ``weight`` (scale ``weight_scale``) and an int32 ``bias``
    at scale ``in_scale * weight_scale``.
    """

    in_scale: float
    out_scale: float
    weight: np.ndarray | None = None
    weight_scale: float | None = None
    bias: np.ndarray | None = None

    @property
    def multiplier(self) -> float:
        """Requantization multiplier ``(in_scale * weight_scale) / out_scale`` of a conv/linear node."""
        if self.weight_scale is None:
            raise ValueError("multiplier: only a conv/linear layer has a weight scale")
        return self.in_scale * self.weight_scale / self.out_scale


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


def init_params(network: Network, seed: int = 0) -> dict[str, Params]:
    """Deterministic float32 parameters for every conv/linear node, keyed by layer name."""
    params = {}
    for i, node in enumerate(network.nodes):
        layer = node.layer
        if isinstance(layer, Conv2d):
            kh, kw = as_pair(layer.kernel_size)
            shape: tuple[int, ...] = (layer.out_channels, layer.in_channels // layer.groups, kh, kw)
        elif isinstance(layer, Linear):
            shape = (layer.out_features, layer.in_features)
        else:
            continue
        fan_in = math.prod(shape[1:])
        rng = _rng(seed, _PARAMS, i)
        bound = math.sqrt(6 / fan_in)
        weight = rng.random(shape, dtype=np.float32)
        weight *= np.float32(2 * bound)
        weight -= np.float32(bound)
        bias_bound = 1 / math.sqrt(fan_in)
        bias = rng.uniform(-bias_bound, bias_bound, shape[0]).astype(np.float32) if layer.bias else None
        params[layer.name] = Params(weight, bias)
    return params


def random_inputs(network: Network, batch: int = 1, seed: int = 0) -> list[np.ndarray]:
    """Standard-normal float32 NCHW inputs: one for a chained network, one per node otherwise."""
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
        xi = np.asarray(xi)
        if xi.ndim != 4 or xi.shape[1:] != tuple(shape) or xi.shape[0] < 1:
            raise AccelsimError(f"forward: x: expected shape (N, {', '.join(map(str, shape))}), got {xi.shape}")
        out.append(xi.astype(np.float32))
    return out


def _params_of(params: dict[str, Params], layer: Layer) -> Params:
    try:
        return params[layer.name]
    except KeyError:
        raise AccelsimError(f"forward: params: no parameters for layer '{layer.name}'") from None


def _gemm_layer(
    layer: Layer, x: np.ndarray, weight: np.ndarray, direct: bool
) -> tuple[np.ndarray, tuple[Gemm, ...], tuple[np.ndarray, ...]]:
    """A conv/linear node without bias: (NCHW output, its Gemms, their products)."""
    if isinstance(layer, Conv2d):
        args = (layer.stride, layer.padding, layer.dilation, layer.groups)
        if direct:
            return golden.conv2d(x, weight, None, *args), (), ()
        gemms, w = lower_conv(f"layer '{layer.name}'", x, weight, *args)
        acc = tuple(g.compute() for g in gemms)
        return gemms_to_nchw(acc, x.shape[0], w.out), gemms, acc
    if direct:
        return golden.linear(x, weight), (), ()
    gemm = lower_linear(f"layer '{layer.name}'", x, weight)
    product = gemm.compute()
    return product.reshape(*product.shape, 1, 1), (gemm,), (product,)


def _pool(layer: MaxPool2d | AvgPool2d, x: np.ndarray, direct: bool) -> np.ndarray:
    impl = golden if direct else ops
    fn = impl.max_pool2d if isinstance(layer, MaxPool2d) else impl.avg_pool2d
    return fn(x, layer.kernel_size, layer.stride, layer.padding)


def _pointwise(layer: Layer) -> Callable[[np.ndarray], np.ndarray] | None:
    """The float function of a layer without parameters or windows (None if it has them)."""
    if isinstance(layer, LocalResponseNorm):
        return lambda v: ops.local_response_norm(v, layer.size, layer.alpha, layer.beta, layer.k)
    return {ReLU: ops.relu, Tanh: ops.tanh, Sigmoid: ops.sigmoid, Softmax: ops.softmax,
            Flatten: ops.flatten}.get(type(layer))


def _elementwise(layer: Layer) -> Callable[[np.ndarray], np.ndarray]:
    """``_pointwise`` of a layer that must have one."""
    fn = _pointwise(layer)
    if fn is None:
        raise _unsupported(layer)
    return fn


def _unsupported(layer: Layer) -> AccelsimError:
    return AccelsimError(f"layer '{layer.name}': type: '{layer.kind}' has no lowering")


def forward(network: Network, params: dict[str, Params] | None = None, x=None, *, batch: int = 1,
            seed: int = 0, record: bool = False, direct: bool = False,
            progress: ProgressCallback | None = None) -> Run:
    """float32 forward pass; ``x`` defaults to ``random_inputs(network, batch, seed)``.

    ``params`` defaults to ``init_params(network, seed)``. For independent networks ``x`` is a
    list with one input per node. ``progress(done, total)`` is called after each layer.
    """
    params = init_params(network, seed) if params is None else params
    inputs = _inputs(network, x, batch, seed)
    runs = []
    for i, node in enumerate(network.nodes):
        layer = node.layer
        if i == 0 or not network.chained:
            x = inputs[i]
        gemms: tuple[Gemm, ...] = ()
        acc: tuple[np.ndarray, ...] = ()
        if isinstance(layer, (Conv2d, Linear)):
            p = _params_of(params, layer)
            y, gemms, acc = _gemm_layer(layer, x, p.weight, direct)
            if p.bias is not None:
                y = y + p.bias.reshape(1, -1, 1, 1)
        elif isinstance(layer, (MaxPool2d, AvgPool2d)):
            y = _pool(layer, x, direct)
        elif (fn := _pointwise(layer)) is not None:
            y = fn(x)
        else:
            raise _unsupported(layer)
        x = np.asarray(y, dtype=np.float32)
        runs.append(LayerRun(node, x, None, *((gemms, acc) if record else ((), ()))))
        if progress is not None:
            progress(i + 1, len(network.nodes))
    return Run(network, tuple(runs))


def quantize_network(network: Network, params: dict[str, Params] | None = None, x=None, *, batch: int = 1,
                     seed: int = 0, progress: ProgressCallback | None = None) -> QuantizedNetwork:
    """Quantize ``params`` to int8 with scales calibrated by a float forward on ``x``.

    ``x`` defaults to ``random_inputs(network, batch, seed)``, the same input ``forward_int``
    draws by default. ``progress(done, total)`` follows the float pass layer by layer.
    """
    params = init_params(network, seed) if params is None else params
    inputs = _inputs(network, x, batch, seed)
    calib = forward(network, params, inputs[0] if network.chained else inputs, progress=progress)
    layers = []
    for i, (node, run) in enumerate(zip(network.nodes, calib.layers, strict=True)):
        layer = node.layer
        if i == 0 or not network.chained:
            s_in = quant.tensor_scale(inputs[i])
        if isinstance(layer, (Conv2d, Linear)):
            p = _params_of(params, layer)
            s_w = quant.tensor_scale(p.weight)
            bias = None if p.bias is None else quant.quantize_bias(p.bias, s_in * s_w)
            q = QLayer(s_in, quant.tensor_scale(run.output), quant.quantize(p.weight, s_w), s_w, bias)
        elif isinstance(layer, (Tanh, Sigmoid, Softmax)):
            q = QLayer(s_in, 1 / quant.QMAX)
        elif isinstance(layer, LocalResponseNorm):
            q = QLayer(s_in, quant.tensor_scale(run.output))
        else:
            q = QLayer(s_in, s_in)
        layers.append(q)
        s_in = q.out_scale
    return QuantizedNetwork(network, tuple(layers))


def forward_int(qnet: QuantizedNetwork, x=None, *, batch: int = 1, seed: int = 0, record: bool = False,
                direct: bool = False, progress: ProgressCallback | None = None) -> Run:
    """Bit-exact int8 forward pass of ``qnet`` (rules in the module docstring).

    ``x`` is the real-valued input (quantized with the first node's ``in_scale``) and defaults to
    ``random_inputs(network, batch, seed)``. ``progress(done, total)`` is called after each layer.
    """
    network = qnet.network
    inputs = _inputs(network, x, batch, seed)
    runs = []
    for i, (node, ql) in enumerate(zip(network.nodes, qnet.layers, strict=True)):
        layer = node.layer
        if i == 0 or not network.chained:
            q = quant.quantize(inputs[i], ql.in_scale)
        gemms: tuple[Gemm, ...] = ()
        acc: tuple[np.ndarray, ...] = ()
        if isinstance(layer, (Conv2d, Linear)):
            if ql.weight is None:
                raise AccelsimError(f"forward_int: layer '{layer.name}': quantized without its weights")
            y, gemms, acc = _gemm_layer(layer, q, ql.weight, direct)
            acc = tuple(quant.to_int32(a) for a in acc)
            if ql.bias is not None:
                y = y + ql.bias.astype(np.int64).reshape(1, -1, 1, 1)
            q = quant.requantize(y, ql.multiplier)
        elif isinstance(layer, MaxPool2d):
            q = _pool(layer, q, direct)
        elif isinstance(layer, AvgPool2d):
            q = quant.requantize(_pool(layer, q, direct), 1.0)
        elif isinstance(layer, (ReLU, Flatten)):
            q = _elementwise(layer)(q)
        elif isinstance(layer, (Tanh, Sigmoid)):
            q = quant.lookup(q, quant.table(_elementwise(layer), ql.in_scale, ql.out_scale))
        elif (fn := _pointwise(layer)) is not None:
            q = quant.quantize(fn(quant.dequantize(q, ql.in_scale)), ql.out_scale)
        else:
            raise _unsupported(layer)
        runs.append(LayerRun(node, q, ql.out_scale, *((gemms, acc) if record else ((), ()))))
        if progress is not None:
            progress(i + 1, len(network.nodes))
    return Run(network, tuple(runs))
