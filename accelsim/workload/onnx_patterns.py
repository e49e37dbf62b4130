"""Subgraphs of an ONNX graph that exporters write for one operator, recognised before the import.

Before opset 20 ONNX has no Gelu, so ``torch.onnx.export`` writes ``nn.GELU`` element by element:

- exact: ``x * 0.5 * (1 + Erf(x / sqrt(2)))`` (Div by 1.4142135, or Mul by 0.70710678; the three
  factors multiplied in any order and grouping: torch's TorchScript exporter writes
  ``Mul(Mul(x, 1 + erf), 0.5)``, its dynamo exporter ``Mul(x, Mul(0.5, 1 + erf))``, Hugging Face's
  code ``Mul(Mul(x, 0.5), 1 + erf)``);
- ``approximate="tanh"``: ``x * 0.5 * (1 + Tanh(sqrt(2/pi) * (x + 0.044715 * x^3)))`` with the cube
  as ``Pow(x, 3)`` or as products of x.

A match checks every constant (a single number within a relative 1e-5 of its value) and that every
intermediate tensor is read only inside the pattern; the whole subgraph then imports as one
``gelu`` layer emitted at its last node. Anything else stays what it is (a lone ``Erf`` or ``Pow``
is an unsupported operator). Pure graph matching: the ``onnx`` package is not imported here.

torchvision's GoogLeNet and Inception-v3 with ``transform_input=True`` (the default with their
pretrained weights) rescale each input channel on its own: ``torch.cat([x[:, c:c+1] * a_c + b_c
...], 1)``, written as Gather (axis 1, one index) and Unsqueeze (axis 1) per channel, then Mul/Add
by constant numbers and a Concat. ``find_channel_affines`` recognises a Concat (axis 1) of every
channel of one tensor, in order, each so picked and scaled/shifted (Mul, Div, Add, Sub by one
constant number, in any order), as one per-channel affine ``y[:, c] = x[:, c] * scale_c + shift_c``.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

_RTOL = 1e-5
# inputs of the ops a pattern holds
_ARITY = {"Mul": 2, "Div": 2, "Add": 2, "Sub": 2, "Pow": 2, "Erf": 1, "Tanh": 1, "Gather": 2}


@dataclass(frozen=True)
class Fused:
    """One recognised subgraph: the ``nodes`` (indices into ``graph.node``) become one ``gelu`` layer
    with ``approximate`` reading tensor ``x``, emitted at node ``at`` (the last, whose output it writes)."""

    x: str
    approximate: str
    at: int
    nodes: frozenset[int]


class _Graph:
    def __init__(self, graph: Any, to_array: Callable[[Any], np.ndarray]):
        self.nodes = list(graph.node)
        self.producer = {o: i for i, n in enumerate(self.nodes) for o in n.output if o}
        self.uses = Counter(i for n in self.nodes for i in n.input if i)
        self.uses.update(o.name for o in graph.output)
        self.consumers: dict[str, list[int]] = {}
        for i, n in enumerate(self.nodes):
            for t in n.input:
                self.consumers.setdefault(t, []).append(i)
        self._scalars: dict[str, float | None] = {}
        small = {t.name: t for t in graph.initializer if math.prod(t.dims) == 1}
        for t in graph.initializer:
            if t.name not in small:
                self._scalars[t.name] = None
        self._raw = {**small}
        for n in self.nodes:
            if n.op_type == "Constant" and len(n.attribute) == 1 and n.output:
                a = n.attribute[0]
                if a.name == "value":
                    self._raw[n.output[0]] = a.t
                elif a.name == "value_float":
                    self._scalars[n.output[0]] = float(a.f)
        self.to_array = to_array

    def scalar(self, name: str) -> float | None:
        """The value of a one-element constant (initializer or Constant node), else None."""
        if name not in self._scalars:
            value = None
            if name in self._raw:
                try:
                    arr = np.asarray(self.to_array(self._raw[name]))
                    if arr.size == 1 and arr.dtype.kind == "f":
                        value = float(arr.reshape(-1)[0])
                except Exception:  # noqa: BLE001 - a corrupt tensor is reported by the importer, not here
                    value = None
            self._scalars[name] = value
        return self._scalars[name]

    def is_const(self, name: str, target: float) -> bool:
        v = self.scalar(name)
        return v is not None and math.isclose(v, target, rel_tol=_RTOL)

    def well_formed(self, i: int, op_type: str) -> bool:
        """Node ``i`` is a standard ``op_type`` with its inputs and an output (the graph is not checked yet)."""
        n = self.nodes[i]
        return (n.op_type == op_type and n.domain in ("", "ai.onnx") and len(n.input) == _ARITY[op_type]
                and all(n.input) and len(n.output) >= 1 and bool(n.output[0]))

    def node_of(self, tensor: str, op_type: str) -> int | None:
        """The node producing ``tensor`` if it is an ``op_type`` read by nothing else."""
        i = self.producer.get(tensor)
        if i is None or not self.well_formed(i, op_type) or self.uses[tensor] != 1 or self.nodes[i].output[0] != tensor:
            return None
        return i

    def only_consumer(self, tensor: str, op_type: str) -> int | None:
        users = self.consumers.get(tensor, [])
        if self.uses[tensor] != 1 or len(users) != 1 or not self.well_formed(users[0], op_type):
            return None
        return users[0]

    def factors(self, tensor: str, x: str, nodes: set[int], cube: bool = False) -> list[str]:
        """``tensor`` as a product: the leaves of the Mul nodes (read only here) below it, ``x`` kept whole;
        with ``cube`` a ``Pow(x, 3)`` is three factors x. The nodes walked are added to ``nodes``."""
        if tensor == x:
            return [x]
        i = self.node_of(tensor, "Mul")
        if i is not None:
            nodes.add(i)
            a, b = self.nodes[i].input
            return self.factors(a, x, nodes, cube) + self.factors(b, x, nodes, cube)
        i = self.node_of(tensor, "Pow") if cube else None
        if i is not None and self.nodes[i].input[0] == x and self.is_const(self.nodes[i].input[1], 3.0):
            nodes.add(i)
            return [x, x, x]
        return [tensor]

    def matches(self, leaves: list[str], x: str, want: dict[str, int], consts: tuple[float, ...]) -> bool:
        """``leaves`` are exactly ``want`` (tensor -> count) and one constant per value of ``consts``."""
        rest = Counter(leaves)
        for t, k in want.items():
            if rest[t] != k:
                return False
            del rest[t]
        left = list(rest.elements())
        if len(left) != len(consts):
            return False
        for c in consts:
            hit = next((t for t in left if self.is_const(t, c)), None)
            if hit is None:
                return False
            left.remove(hit)
        return True


def _tail(g: _Graph, one_plus: str, x: str, nodes: set[int]) -> int | None:
    """The last node of ``x * 0.5 * one_plus`` written as Mul nodes above ``one_plus``, or None."""
    cur = one_plus
    for _ in range(3):
        i = g.only_consumer(cur, "Mul")
        if i is None:
            return None
        out = g.nodes[i].output[0]
        walked: set[int] = set()
        a, b = g.nodes[i].input
        leaves = g.factors(a, x, walked) + g.factors(b, x, walked)
        if g.matches(leaves, x, {x: 1, one_plus: 1}, (0.5,)):
            nodes.update(walked | {i})
            return i
        cur = out
    return None


def _plus_one(g: _Graph, tensor: str, nodes: set[int]) -> str | None:
    """The output of ``1 + tensor`` (an Add with the constant 1 that reads ``tensor`` only), or None."""
    i = g.only_consumer(tensor, "Add")
    if i is None:
        return None
    a, b = g.nodes[i].input
    other = b if a == tensor else a
    if not g.is_const(other, 1.0):
        return None
    nodes.add(i)
    return g.nodes[i].output[0]


def _erf_gelu(g: _Graph, e: int) -> Fused | None:
    erf = g.nodes[e]
    nodes = {e}
    u = erf.input[0]
    p = g.node_of(u, "Div")
    p = g.node_of(u, "Mul") if p is None else p
    if p is None:
        return None
    a, b = g.nodes[p].input
    if g.nodes[p].op_type == "Div" and g.is_const(b, math.sqrt(2)):
        x = a
    elif g.nodes[p].op_type == "Mul" and (g.is_const(a, math.sqrt(0.5)) or g.is_const(b, math.sqrt(0.5))):
        x = b if g.is_const(a, math.sqrt(0.5)) else a
    else:
        return None
    if g.scalar(x) is not None:
        return None
    nodes.add(p)
    one_plus = _plus_one(g, erf.output[0], nodes)
    at = None if one_plus is None else _tail(g, one_plus, x, nodes)
    return None if at is None else Fused(x, "none", at, frozenset(nodes))


def _tanh_gelu(g: _Graph, t: int) -> Fused | None:
    nodes = {t}
    u = g.nodes[t].input[0]
    walked: set[int] = set()
    leaves = g.factors(u, "", walked)
    inner = [v for v in leaves if g.scalar(v) is None]
    if len(inner) != 1 or not g.matches(leaves, "", {inner[0]: 1}, (math.sqrt(2 / math.pi),)):
        return None
    nodes |= walked
    add = g.node_of(inner[0], "Add")
    if add is None:
        return None
    nodes.add(add)
    for x, cubic in (g.nodes[add].input, g.nodes[add].input[::-1]):
        part: set[int] = set()
        if g.scalar(x) is None and g.matches(g.factors(cubic, x, part, cube=True), x, {x: 3}, (0.044715,)):
            nodes |= part
            break
    else:
        return None
    one_plus = _plus_one(g, g.nodes[t].output[0], nodes)
    at = None if one_plus is None else _tail(g, one_plus, x, nodes)
    return None if at is None else Fused(x, "tanh", at, frozenset(nodes))


def find_gelus(graph: Any, to_array: Callable[[Any], np.ndarray]) -> list[Fused]:
    """Every GELU subgraph of ``graph`` (a GraphProto; ``to_array`` decodes a TensorProto), in node order."""
    g = _Graph(graph, to_array)
    found = []
    for i, node in enumerate(g.nodes):
        if node.op_type not in ("Erf", "Tanh") or not g.well_formed(i, node.op_type):
            continue
        match = _erf_gelu(g, i) if node.op_type == "Erf" else _tanh_gelu(g, i)
        if match is not None:
            found.append(match)
    return found


@dataclass(frozen=True)
class ChannelAffine:
    """A Concat (axis 1, node ``at``) of every channel of ``x`` in order, each picked by Gather and
    Unsqueeze and scaled and shifted by constant numbers: ``y[:, c] = x[:, c] * scale[c] + shift[c]``
    (module docstring). ``nodes``: every node of the subgraph, the Concat included."""

    x: str
    scale: tuple[float, ...]
    shift: tuple[float, ...]
    at: int
    nodes: frozenset[int]


def _attr_int(node: Any, name: str, default: int) -> int:
    return next((int(a.i) for a in node.attribute if a.name == name), default)


def _integers(g: _Graph, name: str) -> list[int] | None:
    """The values of a small integer constant (initializer or Constant node), else None."""
    raw = g._raw.get(name)
    if raw is None:
        return None
    try:
        arr = np.asarray(g.to_array(raw))
    except Exception:  # noqa: BLE001 - a corrupt tensor is reported by the importer, not here
        return None
    return [int(v) for v in arr.reshape(-1)] if arr.dtype.kind == "i" else None


def _unsqueezes_axis_1(g: _Graph, node: Any) -> bool:
    """An Unsqueeze that adds axis 1 only (axes as an attribute before opset 13, else a constant input)."""
    if node.domain not in ("", "ai.onnx") or not node.input or not node.input[0]:
        return False
    attr = next((list(a.ints) for a in node.attribute if a.name == "axes"), None)
    if len(node.input) == 1:
        return attr == [1]
    return len(node.input) == 2 and attr is None and _integers(g, node.input[1]) == [1]


def _channel(g: _Graph, tensor: str, nodes: set[int]) -> tuple[str, int, float, float] | None:
    """``tensor`` as ``x[:, k:k+1] * scale + shift``: (x, k, scale, shift), walking back through
    Mul/Div/Add/Sub by one constant number, one Unsqueeze of axis 1 and a Gather of one channel; every
    intermediate read only here. The nodes walked are added to ``nodes``."""
    steps: list[tuple[str, float]] = []
    walked: set[int] = set()
    unsqueezed = False
    cur = tensor
    while True:
        i = g.producer.get(cur)
        if i is None or i in walked or g.uses[cur] != 1 or g.nodes[i].output[0] != cur:
            return None  # (a node already walked: a cycle, in a graph not checked yet)
        n = g.nodes[i]
        walked.add(i)
        if n.op_type in ("Mul", "Div", "Add", "Sub") and g.well_formed(i, n.op_type):
            a, b = n.input
            if g.scalar(b) is not None and g.scalar(a) is None:
                cur, c = a, g.scalar(b)
            elif n.op_type in ("Mul", "Add") and g.scalar(a) is not None and g.scalar(b) is None:
                cur, c = b, g.scalar(a)
            else:
                return None
            assert c is not None
            if not math.isfinite(c) or (n.op_type == "Div" and c == 0):
                return None
            steps.append((n.op_type, c))
        elif n.op_type == "Unsqueeze" and not unsqueezed and _unsqueezes_axis_1(g, n):
            unsqueezed, cur = True, n.input[0]
        elif (n.op_type == "Gather" and unsqueezed and g.well_formed(i, "Gather") and _attr_int(n, "axis", 0) == 1
              and g.scalar(n.input[0]) is None):
            index = _integers(g, n.input[1])
            if index is None or len(index) != 1 or index[0] < 0 or len(g._raw[n.input[1]].dims) != 0:
                return None
            scale, shift = 1.0, 0.0
            for op, c in reversed(steps):  # walked from the output back: apply from the input on
                if op in ("Mul", "Div"):
                    f = c if op == "Mul" else 1 / c
                    scale, shift = scale * f, shift * f
                else:
                    shift += c if op == "Add" else -c
            nodes.update(walked)
            return n.input[0], index[0], scale, shift
        else:
            return None


def find_channel_affines(graph: Any, to_array: Callable[[Any], np.ndarray]) -> list[ChannelAffine]:
    """Every per-channel affine subgraph of ``graph`` (module docstring), in node order."""
    g = _Graph(graph, to_array)
    found = []
    for i, node in enumerate(g.nodes):
        if (node.op_type != "Concat" or node.domain not in ("", "ai.onnx") or _attr_int(node, "axis", 0) != 1
                or not node.input or not node.output or not node.output[0]):
            continue
        nodes = {i}
        channels = [_channel(g, t, nodes) if t else None for t in node.input]
        if any(c is None for c in channels):
            continue
        xs = {c[0] for c in channels if c is not None}
        if len(xs) != 1 or [c[1] for c in channels if c is not None] != list(range(len(channels))):
            continue
        found.append(ChannelAffine(xs.pop(), tuple(c[2] for c in channels if c is not None),
                                   tuple(c[3] for c in channels if c is not None), i, frozenset(nodes)))
    return found
