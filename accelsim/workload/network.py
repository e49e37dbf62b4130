"""Networks: a directed acyclic graph of named layers with their inferred shapes, validated on creation.

Three ways to build one:

- ``Network.sequential(name, input_shape, layers)``: a chain, each layer takes the previous one's output;
- ``Network.graph(name, input_shape, items)``: ``items`` are ``(layer, inputs)`` pairs, ``inputs`` a list
  of node names or None (None: the previous item's output; the first item takes the network input).
  The reserved name ``"input"`` is the network input. Nodes are kept in topological order (stable: the
  order given wherever the edges allow it); the network's output is the LAST node's output (other
  nodes without consumers are allowed and simply unused);
- ``Network.independent(name, [(layer, shape), ...])``: unconnected layers, each with its own input
  (a SCALE-Sim topology); their nodes have ``inputs == ()``.

Shapes are per image, any rank: ``[C, H, W]`` for images, ``[T, F]`` for token sequences,
``[H, T, T]`` for per-head attention scores; a flattened vector (flatten, linear on a vector) is
``[F, 1, 1]``. A network input is ``[C, H, W]`` or ``[T, F]``.
"""

from __future__ import annotations

import heapq
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from accelsim.errors import AccelsimError
from accelsim.workload.layers import Layer, LayerError, Shape

INPUT = "input"  # the reserved node name of the network input


@dataclass(frozen=True)
class Node:
    """One layer placed in a network, with the shapes inference gave it.

    ``inputs`` names the producing nodes (``"input"``: the network input; ``()`` in an independent
    network); ``input_shapes`` are their shapes in that order, ``input_shape`` the first of them.
    """

    layer: Layer
    input_shape: Shape
    output_shape: Shape
    stride_remainder: bool = False  # the stride left input rows/cols unused (floored)
    inputs: tuple[str, ...] = ()
    input_shapes: tuple[Shape, ...] = ()

    def __post_init__(self):
        if not self.input_shapes:
            object.__setattr__(self, "input_shapes", (self.input_shape,))

    @property
    def name(self) -> str:
        return self.layer.name


def _check_shape(where: str, shape) -> Shape:
    try:
        shape = tuple(shape)
    except TypeError:
        raise AccelsimError(f"{where}: input_shape: expected [C, H, W] or [T, F], got {shape!r}") from None
    if len(shape) not in (2, 3) or any(isinstance(v, bool) or not isinstance(v, int) for v in shape):
        raise AccelsimError(f"{where}: input_shape: expected three integers [C, H, W] or two [T, F], "
                            f"got {list(shape)}")
    if any(v <= 0 for v in shape):
        raise AccelsimError(f"{where}: input_shape: sizes must be > 0, got {list(shape)}")
    return shape


# The largest size --input-size accepts per dimension (a bound that keeps every count far from overflow).
MAX_INPUT_SIZE = 1 << 16


def parse_input_shape(value, where: str = "input size") -> Shape:
    """``"3x32x32"`` (CxHxW) or ``"128x768"`` (TxF), or the same as a tuple, as a shape; one line otherwise.

    Each size is an integer from 1 to ``MAX_INPUT_SIZE``."""
    if isinstance(value, str):
        m = re.fullmatch(r"\s*(\d+(?:\s*[xX]\s*\d+){1,2})\s*", value)
        dims: tuple = tuple(int(d) for d in re.split(r"\s*[xX]\s*", m.group(1))) if m else ()
    else:
        dims = tuple(value) if isinstance(value, (tuple, list)) else ()
    if (len(dims) not in (2, 3) or any(isinstance(d, bool) or not isinstance(d, int) for d in dims)
            or not all(1 <= d <= MAX_INPUT_SIZE for d in dims)):
        raise AccelsimError(f"{where}: expected CxHxW (or TxF for a token model) with sizes 1 to "
                            f"{MAX_INPUT_SIZE:,}, such as 3x32x32, got {value!r}")
    return dims


def _topological(name: str, items: list[tuple[Layer, tuple[str, ...]]]) -> list[tuple[Layer, tuple[str, ...]]]:
    """``items`` in topological order (Kahn's algorithm, ties broken by the given order); a dangling input
    or a cycle is a LayerError naming the node and its ``inputs`` field."""
    index = {layer.name: i for i, (layer, _) in enumerate(items)}
    indegree = [0] * len(items)
    consumers: list[list[int]] = [[] for _ in items]
    for i, (layer, inputs) in enumerate(items):
        for src in inputs:
            if src == INPUT:
                continue
            if src not in index:
                raise LayerError(layer.name, "inputs", f"'{src}' is not a node of network '{name}'")
            if src == layer.name:
                raise LayerError(layer.name, "inputs", "the node takes its own output (a cycle)")
            indegree[i] += 1
            consumers[index[src]].append(i)
    ready = [i for i, d in enumerate(indegree) if d == 0]
    heapq.heapify(ready)
    order = []
    while ready:
        i = heapq.heappop(ready)
        order.append(i)
        for j in consumers[i]:
            indegree[j] -= 1
            if indegree[j] == 0:
                heapq.heappush(ready, j)
    if len(order) < len(items):
        stuck = min(i for i, d in enumerate(indegree) if d > 0)
        layer, inputs = items[stuck]
        raise LayerError(layer.name, "inputs", f"{list(inputs)} closes a cycle in network '{name}'")
    return [items[i] for i in order]


@dataclass(frozen=True)
class Network:
    """A named, validated network.

    ``chained`` networks connect their nodes (``sequential`` or ``graph``); a SCALE-Sim topology is a
    set of independent convolutions, each with its own input size (``Network.independent``,
    ``chained=False``); then ``input_shape`` is the first layer's. ``nodes`` are in topological order.
    """

    name: str
    nodes: tuple[Node, ...]
    chained: bool = True
    strict: bool = False
    graph_input_shape: Shape | None = None  # the network input (None: the first node's input)
    # Real parameters by node name, then parameter name ("weight", "bias", "running_mean", "running_var"):
    # numpy arrays (an imported model's initializers); None: seeded random ones (accelsim.lowering.init_params).
    weights: Mapping[str, Mapping[str, Any]] | None = field(default=None, compare=False, repr=False)

    @property
    def input_shape(self) -> Shape:
        return self.graph_input_shape if self.graph_input_shape is not None else self.nodes[0].input_shape

    @property
    def output_shape(self) -> Shape:
        return self.nodes[-1].output_shape

    @property
    def layers(self) -> tuple[Layer, ...]:
        return tuple(n.layer for n in self.nodes)

    @property
    def params(self) -> int:
        return sum(n.layer.params for n in self.nodes)

    @property
    def is_chain(self) -> bool:
        """Each node takes exactly the previous node's output (the first the network input)."""
        if not self.chained:
            return False
        prev = INPUT
        for n in self.nodes:
            if n.inputs != (prev,):
                return False
            prev = n.name
        return True

    def __iter__(self):
        return iter(self.nodes)

    def __len__(self):
        return len(self.nodes)

    def node(self, name: str) -> Node:
        for n in self.nodes:
            if n.layer.name == name:
                return n
        raise KeyError(name)

    @staticmethod
    def _check_names(name: str, layers) -> None:
        if not layers:
            raise AccelsimError(f"network '{name}': layers: must not be empty")
        seen = set()
        for layer in layers:
            if not isinstance(layer, Layer):
                raise AccelsimError(f"network '{name}': layers: {layer!r} is not a layer")
            if layer.name == INPUT:
                raise LayerError(layer.name, "name", f"'{INPUT}' is reserved for the network input")
            if layer.name in seen:
                raise LayerError(layer.name, "name", "is used by more than one layer")
            seen.add(layer.name)

    @classmethod
    def sequential(cls, name: str, input_shape, layers, strict: bool = False) -> Network:
        """Chain ``layers`` from ``input_shape``; any inconsistency raises a LayerError."""
        return cls.graph(name, input_shape, [(layer, None) for layer in layers], strict)

    @classmethod
    def graph(cls, name: str, input_shape, items, strict: bool = False) -> Network:
        """A DAG from ``(layer, inputs)`` pairs (see the module docstring); shapes inferred in topological
        order. A dangling input, a cycle, or shapes that do not agree raise a LayerError naming the node."""
        items = tuple(items)
        cls._check_names(name, [item[0] if isinstance(item, tuple) and item else item for item in items])
        shape = _check_shape(f"network '{name}'", input_shape)
        resolved: list[tuple[Layer, tuple[str, ...]]] = []
        prev = INPUT
        for layer, inputs in items:
            if inputs is None:
                srcs: tuple[str, ...] = (prev,)
            elif isinstance(inputs, str) or not all(isinstance(s, str) for s in inputs):
                raise LayerError(layer.name, "inputs", f"expected a list of node names, got {inputs!r}")
            else:
                srcs = tuple(inputs)
                if not srcs:
                    raise LayerError(layer.name, "inputs", "must name at least one node (or be left out)")
            resolved.append((layer, srcs))
            prev = layer.name
        shapes: dict[str, Shape] = {INPUT: shape}
        nodes = []
        for layer, srcs in _topological(name, resolved):
            in_shapes = tuple(shapes[s] for s in srcs)
            try:
                out, rem = layer.infer_inputs(in_shapes, strict)
            except LayerError as e:
                if e.field != "inputs" or len(srcs) < 2:
                    raise
                raise LayerError(e.layer, e.field, f"{e.problem} (inputs: {', '.join(srcs)})") from None
            shapes[layer.name] = out
            nodes.append(Node(layer, in_shapes[0], out, rem, srcs, in_shapes))
        return cls(name, tuple(nodes), chained=True, strict=strict, graph_input_shape=shape)

    @classmethod
    def independent(cls, name: str, items, strict: bool = False) -> Network:
        """Layers that each take their own input shape: ``items`` is [(layer, (C, H, W)), ...]."""
        items = tuple(items)
        cls._check_names(name, [layer for layer, _ in items])
        nodes = []
        for layer, shape in items:
            shape = _check_shape(f"layer '{layer.name}'", shape)
            out, rem = layer.infer_inputs((shape,), strict)
            nodes.append(Node(layer, shape, out, rem, (), (shape,)))
        return cls(name, tuple(nodes), chained=False, strict=strict)

    def items(self) -> list[tuple[Layer, list[str]]]:
        """The ``(layer, inputs)`` pairs that rebuild this (chained) network with ``Network.graph``."""
        return [(n.layer, list(n.inputs)) for n in self.nodes]

    def with_input_shape(self, input_shape) -> Network:
        """The same graph on another network input, every shape inferred again (weights kept). A layer
        that fixes the size (a conv's in_channels, a linear's in_features) raises its LayerError."""
        if not self.chained:
            raise AccelsimError(f"network '{self.name}': a set of independent layers has no network input to resize")
        shape = _check_shape(f"network '{self.name}'", input_shape)
        return replace(Network.graph(self.name, shape, self.items(), self.strict), weights=self.weights)

    def with_strict(self, strict: bool = True) -> Network:
        """Re-validate under another stride rule."""
        if self.chained:
            net = Network.graph(self.name, self.input_shape, self.items(), strict)
        else:
            net = Network.independent(self.name, [(n.layer, n.input_shape) for n in self.nodes], strict)
        return replace(net, weights=self.weights)
