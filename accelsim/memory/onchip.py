"""Which tensors stay on chip between layers (docs/microarchitecture.md, "Layers that stay on chip").

``place(net, cfg, batch)`` decides, from shapes alone, which layers are fused into the array layer
before them, which tensors stay in the ifmap SRAM and which go to DRAM, and says per layer where
its inputs come from and where its output goes. The models then price each layer with two flags
(its A operand on chip, its output on chip) and the vector unit with its inputs' and output's
places.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from accelsim.hardware.config import ArrayConfig
from accelsim.lowering.forward import fused_activations
from accelsim.workload.fold import bn_folds
from accelsim.workload.layers import IDENTITIES, Conv2d, Linear, MatMul
from accelsim.workload.network import INPUT, Network

DRAM, SRAM, FUSED = "dram", "sram", "fused"
_ARRAY = (Conv2d, Linear, MatMul)


@dataclass(frozen=True)
class LayerPlace:
    """One layer's places: each input's (``dram``/``sram``, in input order; ``fused`` for a fused layer),
    its output's (``dram``/``sram``/``fused``), and the two flags the array models take."""

    inputs: tuple[str, ...]
    output: str

    @property
    def input_from(self) -> str:
        return "+".join(self.inputs) if self.inputs else DRAM

    @property
    def fused(self) -> bool:
        return self.output == FUSED

    @property
    def ifmap_on_chip(self) -> bool:
        """The A operand (first input) is read from the ifmap SRAM."""
        return bool(self.inputs) and self.inputs[0] == SRAM

    @property
    def output_on_chip(self) -> bool:
        return self.output == SRAM


@dataclass(frozen=True)
class Placement:
    """Per layer name its ``LayerPlace``; ``kept``: the tensors (by producer) that stay on chip."""

    layers: dict[str, LayerPlace]
    kept: frozenset[str]

    def __getitem__(self, name: str) -> LayerPlace:
        return self.layers[name]


def all_dram(net: Network) -> Placement:
    """Every input from DRAM, every output to DRAM (``on_chip = false``)."""
    return Placement({n.name: LayerPlace((DRAM,) * max(1, len(n.inputs)), DRAM) for n in net}, frozenset())


def fused_layers(net: Network, cfg: ArrayConfig) -> set[str]:
    """The layers the output stage computes: folded batch norms and fused activations (contract)."""
    if not cfg.output_stage:
        return set()
    return set(bn_folds(net)) | set(fused_activations(net))


def place(net: Network, cfg: ArrayConfig, batch: int = 1) -> Placement:
    """The contract's placement of every tensor of ``net`` at ``batch`` on ``cfg`` (``on_chip`` honoured)."""
    if not cfg.on_chip or not net.chained:
        return all_dram(net)
    fused = fused_layers(net, cfg)
    order = {n.name: i for i, n in enumerate(net)}
    root: dict[str, str] = {INPUT: INPUT}  # layer -> the producer of the tensor its output is
    consumers: dict[str, list[tuple[int, int]]] = {}  # tensor -> (consumer index, input slot)
    for n in net:
        relabel = n.name in fused or isinstance(n.layer, IDENTITIES)
        root[n.name] = root[n.inputs[0]] if relabel else n.name
        if relabel:
            continue
        for slot, src in enumerate(n.inputs):
            consumers.setdefault(root[src], []).append((order[n.name], slot))
    nodes = list(net)
    whole = cfg.sram_bytes("ifmap")
    usable = whole // 2 if cfg.double_buffer else whole
    array_out_ok = cfg.output_stage and cfg.out_bits == cfg.data_bits
    live = [0] * len(nodes)  # bytes of kept tensors live at each layer
    a_decided: dict[int, bool] = {}  # array layer index -> A on chip (decided layers only)

    def reserve(i: int, candidate: str) -> int:
        n = nodes[i]
        if n.name in fused or not isinstance(n.layer, _ARRAY):
            return 0
        src = root[n.inputs[0]]
        if src == candidate:
            return 0
        return 0 if a_decided.get(i, False) else usable

    kept: set[str] = set()
    last = root[nodes[-1].name]
    for n in nodes:
        t = n.name
        if root[t] != t or t not in consumers or t == last:
            continue
        uses = consumers[t]
        ok = all(not (isinstance(nodes[c].layer, MatMul) and slot == 1) for c, slot in uses)
        if isinstance(n.layer, _ARRAY) and not array_out_ok:
            ok = False
        nbytes = math.prod(n.output_shape) * batch * cfg.data_bytes
        span = range(order[t], max(c for c, _ in uses) + 1)
        if ok and all(live[i] + nbytes + reserve(i, t) <= whole for i in span):
            kept.add(t)
            for i in span:
                live[i] += nbytes
        for c, slot in uses:
            if slot == 0 and isinstance(nodes[c].layer, _ARRAY):
                a_decided[c] = t in kept
    layers = {}
    for n in nodes:
        if n.name in fused:
            layers[n.name] = LayerPlace((FUSED,), FUSED)
            continue
        ins = tuple(SRAM if root[s] in kept else DRAM for s in n.inputs)
        layers[n.name] = LayerPlace(ins, SRAM if root[n.name] in kept else DRAM)
    return Placement(layers, frozenset(kept))
