"""Networks: an ordered list of layers with their inferred shapes, validated on creation."""

from __future__ import annotations

from dataclasses import dataclass

from accelsim.errors import AccelsimError
from accelsim.workload.layers import Layer, LayerError, Shape


@dataclass(frozen=True)
class Node:
    """One layer placed in a network, with the shapes inference gave it."""

    layer: Layer
    input_shape: Shape
    output_shape: Shape
    stride_remainder: bool = False  # the stride left input rows/cols unused (floored)


def _check_shape(where: str, shape) -> Shape:
    try:
        shape = tuple(shape)
    except TypeError:
        raise AccelsimError(f"{where}: input_shape: expected [C, H, W], got {shape!r}") from None
    if len(shape) != 3 or any(isinstance(v, bool) or not isinstance(v, int) for v in shape):
        raise AccelsimError(f"{where}: input_shape: expected three integers [C, H, W], got {list(shape)}")
    if any(v <= 0 for v in shape):
        raise AccelsimError(f"{where}: input_shape: sizes must be > 0, got {list(shape)}")
    return shape


@dataclass(frozen=True)
class Network:
    """A named, validated network.

    ``chained`` networks feed each layer's output to the next (``Network.sequential``). A
    SCALE-Sim topology is a set of independent convolutions, each with its own input size
    (``Network.independent``); then ``input_shape`` is the first layer's.
    """

    name: str
    nodes: tuple[Node, ...]
    chained: bool = True
    strict: bool = False

    @property
    def input_shape(self) -> Shape:
        return self.nodes[0].input_shape

    @property
    def output_shape(self) -> Shape:
        return self.nodes[-1].output_shape

    @property
    def layers(self) -> tuple[Layer, ...]:
        return tuple(n.layer for n in self.nodes)

    @property
    def params(self) -> int:
        return sum(n.layer.params for n in self.nodes)

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
            if layer.name in seen:
                raise LayerError(layer.name, "name", "is used by more than one layer")
            seen.add(layer.name)

    @classmethod
    def sequential(cls, name: str, input_shape, layers, strict: bool = False) -> Network:
        """Chain ``layers`` from ``input_shape``; any inconsistency raises a LayerError."""
        layers = tuple(layers)
        cls._check_names(name, layers)
        shape = _check_shape(f"network '{name}'", input_shape)
        nodes = []
        for layer in layers:
            out, rem = layer.infer(shape, strict)
            nodes.append(Node(layer, shape, out, rem))
            shape = out
        return cls(name, tuple(nodes), chained=True, strict=strict)

    @classmethod
    def independent(cls, name: str, items, strict: bool = False) -> Network:
        """Layers that each take their own input shape: ``items`` is [(layer, (C, H, W)), ...]."""
        items = tuple(items)
        cls._check_names(name, [layer for layer, _ in items])
        nodes = []
        for layer, shape in items:
            shape = _check_shape(f"layer '{layer.name}'", shape)
            out, rem = layer.infer(shape, strict)
            nodes.append(Node(layer, shape, out, rem))
        return cls(name, tuple(nodes), chained=False, strict=strict)

    def with_strict(self, strict: bool = True) -> Network:
        """Re-validate under another stride rule."""
        if self.chained:
            return Network.sequential(self.name, self.input_shape, self.layers, strict)
        return Network.independent(self.name, [(n.layer, n.input_shape) for n in self.nodes], strict)
