"""BatchNorm folding: a ``batchnorm2d`` right after a convolution becomes part of that convolution.

Inference-form BN is a per-channel affine map, y = x * s + t with s = weight / sqrt(var + eps) and
t = bias - mean * s, so ``conv -> bn`` equals one convolution with weights W * s (per output
channel) and bias b * s + t (b = 0 for a conv without bias). At the shape level (this module) the
BN node disappears and its conv gains a bias: the parameter count drops by 2 x C per folded BN
(its weight and bias) and rises by C for each conv that had no bias. A BN is folded only when its
single input is a conv whose output nothing else reads (otherwise the unscaled conv output is
still needed); any other BN stays in the network (``BnFold.kept``). A network that carries real
weights (``Network.weights``, an imported model) gets them folded too, by the formula above. Exporters (ONNX) and
``--fold-bn`` (what ``simulate`` and the int8 path use) apply this.
"""

from __future__ import annotations

import dataclasses
import os
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from accelsim.errors import AccelsimError
from accelsim.workload.layers import BatchNorm2d, Conv2d
from accelsim.workload.network import Network


@dataclass(frozen=True)
class BnFold:
    """The folded ``network``, the (batchnorm, conv) pairs folded, the BN layers kept, and the parameter
    counts before and after."""

    network: Network
    folded: tuple[tuple[str, str], ...]
    kept: tuple[str, ...]
    params_before: int

    @property
    def params_after(self) -> int:
        return self.network.params

    @property
    def note(self) -> str:
        """One line for the reports: how the parameter count changed, and why."""
        kept = (f"{len(self.kept)} batchnorm2d layer(s) kept (not the only reader of a conv's output): "
                f"{', '.join(self.kept)}") if self.kept else ""
        if not self.folded:
            return f"BN folding: nothing to fold{'; ' + kept if kept else ' (no batchnorm2d layers)'}."
        convs = [self.network.node(conv).layer for _, conv in self.folded]
        removed = 2 * sum(c.out_channels for c in convs if isinstance(c, Conv2d))
        gained = self.params_after - self.params_before + removed
        line = (f"BN folded into the preceding conv: {len(self.folded)} batchnorm2d layer(s); params "
                f"{self.params_before:,} -> {self.params_after:,} (-{removed:,} BN weights and biases, "
                f"+{gained:,} new conv biases)")
        if kept:
            line += f"; {kept}"
        return line + "."


def bn_folds(network: Network) -> dict[str, str]:
    """Batch norm node -> the conv it folds into: its only input, a conv read by nothing else."""
    if not network.chained:
        return {}
    uses = Counter(src for n in network for src in n.inputs)
    by_name = {n.name: n for n in network}
    return {n.name: n.inputs[0] for n in network
            if isinstance(n.layer, BatchNorm2d) and len(n.inputs) == 1 and n.inputs[0] in by_name
            and isinstance(by_name[n.inputs[0]].layer, Conv2d) and uses[n.inputs[0]] == 1}


def bn_fold(network: Network) -> BnFold:
    """Fold every BN that directly follows a conv (module docstring); the folded conv takes the BN's place
    in the node order and keeps its own name; the BN's consumers read the conv."""
    into = bn_folds(network)  # bn -> conv
    if not into:
        return BnFold(network, (), tuple(n.name for n in network if isinstance(n.layer, BatchNorm2d)),
                      network.params)
    by_name = {n.name: n for n in network}
    convs = set(into.values())
    items = []
    for n in network:
        if n.name in convs:
            continue
        if n.name in into:
            conv = by_name[into[n.name]]
            items.append((dataclasses.replace(conv.layer, bias=True), [into.get(src, src) for src in conv.inputs]))
        else:
            items.append((n.layer, [into.get(src, src) for src in n.inputs]))
    folded = Network.graph(network.name, network.input_shape, items, network.strict)
    if network.weights is not None:
        eps = {bn: float(by_name[bn].layer.eps) for bn in into}
        folded = dataclasses.replace(folded, weights=_fold_weights(network.weights, into, eps))
    kept = tuple(n.name for n in folded if isinstance(n.layer, BatchNorm2d))
    return BnFold(folded, tuple(into.items()), kept, network.params)


def _fold_weights(weights: Mapping[str, Mapping[str, Any]], into: dict[str, str],
                  eps: dict[str, float]) -> dict[str, Mapping[str, Any]]:
    """Real parameters after folding (module docstring): W * s per output channel, (b - mean) * s + beta."""
    import numpy as np  # lazily: numpy stays out of the CLI's start-up

    out = {name: params for name, params in weights.items() if name not in into}
    for bn, conv in into.items():
        for name, keys in ((bn, ("weight", "bias", "running_mean", "running_var")), (conv, ("weight",))):
            missing = [k for k in keys if k not in weights.get(name, {})]
            if missing:
                raise AccelsimError(f"layer '{name}': weights: no {', '.join(missing)} to fold batchnorm '{bn}'")
        b, c = weights[bn], weights[conv]
        w, bias = fold_affine(c["weight"], c.get("bias"), b["weight"], b["bias"], b["running_mean"],
                              b["running_var"], eps[bn])
        out[conv] = {"weight": w.astype(np.float32), "bias": bias.astype(np.float32)}
    return out


def fold_affine(weight, bias, bn_weight, bn_bias, running_mean, running_var, eps: float):
    """The fold itself, in float64: ``weight`` (output channel first) times g per output channel and
    bias ``(b - mean) * g + beta`` with ``g = bn_weight / sqrt(var + eps)`` (``bias`` None: zero).
    Shapes are the caller's to check (``lowering.fold_batchnorm`` validates user input)."""
    import numpy as np  # lazily: numpy stays out of the CLI's start-up

    weight = np.asarray(weight, dtype=np.float64)
    g = np.asarray(bn_weight, np.float64) / np.sqrt(np.asarray(running_var, np.float64) + eps)
    b = np.zeros(weight.shape[0]) if bias is None else np.asarray(bias, np.float64)
    folded_bias = (b - np.asarray(running_mean, np.float64)) * g + np.asarray(bn_bias, np.float64)
    return weight * g.reshape(-1, *([1] * (weight.ndim - 1))), folded_bias


def fold_bn(network: Network) -> Network:
    """``network`` with each BN that follows a conv folded into it (``bn_fold`` for the details)."""
    return bn_fold(network).network


def is_onnx(model: object) -> bool:
    """An .onnx model file: its importer folds BN (``--fold-bn``'s default there is on; off elsewhere)."""
    return isinstance(model, (str, os.PathLike)) and str(model).lower().endswith(".onnx")
