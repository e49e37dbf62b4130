"""Per-layer budgets: parameters, MACs/FLOPs, memory and the im2col GEMM shape.

Counting rules (MACs and FLOPs are never mixed with the other operations):

- ``macs``: multiply-accumulates of the GEMM layers only (conv, linear, matmul). conv: output
  elements x (in_channels/groups x kh x kw); linear: in x out features (x T for a token sequence);
  matmul: heads x M x K x N; all per image, times the batch.
  Bias adds are not MACs: ``flops`` = 2 x ``macs`` (one multiply and one add each), fvcore's
  convention. ``bias_adds`` counts them apart (one per output element of a layer with a bias).
  torchinfo's "Mult-Adds" are ``macs + bias_adds`` (it multiplies every parameter, biases
  included, by the output positions): 714,682,664 for alexnet-tv against 714,188,480 MACs.
- ``vector_ops``: operations of the non-GEMM layers (rules in ``accelsim.workload.counts``).
- Graphs: ``input_shape`` is a node's first input's shape; ``input_elems``/``input_bytes`` count
  all of its inputs (an add or a concat reads each of them).
- Memory: ``input_bytes``/``output_bytes`` are activation elements x batch x dtype bytes,
  ``weight_bytes`` is params x dtype bytes, ``working_set_bytes`` their sum (one layer's input,
  output and weights resident at once). The default dtype is fp32, as torchinfo reports.
- torchinfo's memory estimate (``totals``; torchinfo/model_statistics.py): ``mult_adds`` as above;
  ``forward_backward_bytes`` = 2 x the output bytes of the layers that have parameters (outputs
  kept for the backward pass, and their gradients); ``estimated_total_bytes`` = network input
  bytes + ``forward_backward_bytes`` + ``weight_bytes`` (torchinfo's "Params size").
- GEMM (im2col lowering, per group): M = output pixels x batch, K = in_channels/groups x kh x kw,
  N = out_channels/groups; linear: M = batch, K = in_features, N = out_features.
- ``intensity_macs_per_byte`` = macs / working_set_bytes (each byte moved once).
"""

from __future__ import annotations

import math

import pandas as pd

from accelsim.errors import AccelsimError
from accelsim.workload.counts import DTYPE_BYTES, vector_ops
from accelsim.workload.fold import bn_fold
from accelsim.workload.gemm import gemm_shape, training_gemm_shapes
from accelsim.workload.network import Network, Node


def _elems(shape) -> int:
    return math.prod(shape)


def _fmt_pair(p) -> str:
    return f"{p[0]}x{p[1]}" if p[0] != p[1] else str(p[0])


def profile(net: Network, batch: int = 1, dtype: str = "fp32", training: bool = False,
            fold_bn: bool = False) -> pd.DataFrame:
    """One row per layer; column names carry their unit. See the module docstring for the rules.

    ``fold_bn`` profiles ``accelsim.workload.fold.fold_bn(net)`` and records how the parameter count
    changed (``attrs["bn_fold"]``, the note; the totals gain ``batchnorm_folded`` and
    ``params_before_fold``)."""
    if isinstance(batch, bool) or not isinstance(batch, int) or batch <= 0:
        raise AccelsimError(f"batch: must be a positive integer, got {batch!r}")
    if dtype not in DTYPE_BYTES:
        raise AccelsimError(f"dtype: must be one of {', '.join(DTYPE_BYTES)}, got {dtype!r}")
    nbytes = DTYPE_BYTES[dtype]
    fold = bn_fold(net) if fold_bn else None
    if fold is not None:
        net = fold.network
    rows = []
    for node in net:
        layer = node.layer
        g = gemm_shape(node, batch)
        m, k, n, groups = g if g else (0, 0, 0, 0)
        macs = m * k * n * groups
        in_e, out_e = sum(_elems(s) for s in node.input_shapes), _elems(node.output_shape)
        win = getattr(layer, "kernel_size", None)
        row = {
            "layer": layer.name,
            "type": layer.kind,
            "input_shape": list(node.input_shape),
            "output_shape": list(node.output_shape),
            "kernel": _fmt_pair(win) if win else "",
            "stride": _fmt_pair(layer.stride) if win else "",
            "padding": _fmt_pair(layer.padding) if win else "",
            "weights": layer.weights,
            "biases": layer.biases,
            "params": layer.params,
            "macs": macs,
            "flops": 2 * macs,
            # one bias add per output element of a GEMM layer with a bias
            "bias_adds": out_e * batch if g and layer.biases else 0,
            "vector_ops": vector_ops(node) * batch,
            "input_elems": in_e * batch,
            "output_elems": out_e * batch,
            "input_bytes": in_e * batch * nbytes,
            "output_bytes": out_e * batch * nbytes,
            "weight_bytes": layer.params * nbytes,
            "gemm_m": m,
            "gemm_k": k,
            "gemm_n": n,
            "gemm_groups": groups,
            "stride_remainder": node.stride_remainder,
        }
        row["working_set_bytes"] = row["input_bytes"] + row["output_bytes"] + row["weight_bytes"]
        row["intensity_macs_per_byte"] = macs / row["working_set_bytes"]
        if training:
            row.update(_training_columns(node, batch))
        rows.append(row)
    df = pd.DataFrame(rows)
    df.attrs.update(network=net.name, batch=batch, dtype=dtype, chained=net.chained)
    if fold is not None:
        df.attrs.update(bn_fold=fold.note, batchnorm_folded=len(fold.folded), params_before_fold=fold.params_before)
    return df


def _training_columns(node: Node, batch: int) -> dict:
    shapes = training_gemm_shapes(node, batch)
    if shapes is None:
        return {"wgrad_gemm": "", "wgrad_macs": 0, "igrad_gemm": "", "igrad_macs": 0}
    w, i = shapes.weight_grad, shapes.input_grad
    return {"wgrad_gemm": w.label, "wgrad_macs": w.macs, "igrad_gemm": i.label, "igrad_macs": i.macs}


def totals(df: pd.DataFrame) -> dict:
    """Network totals; the peak working set is the largest single layer's."""
    peak = int(df["working_set_bytes"].argmax())  # a position, for iloc
    forward_backward = 2 * int(df.loc[df["params"] > 0, "output_bytes"].sum())
    out = {
        "layers": len(df),
        "params": int(df["params"].sum()),
        "macs": int(df["macs"].sum()),
        "flops": int(df["flops"].sum()),
        "vector_ops": int(df["vector_ops"].sum()),
        "weight_bytes": int(df["weight_bytes"].sum()),
        "activation_bytes": int(df["output_bytes"].sum()),
        "input_bytes": int(df["input_bytes"].iloc[0]),
        "peak_working_set_bytes": int(df["working_set_bytes"].iloc[peak]),
        "peak_working_set_layer": str(df["layer"].iloc[peak]),
        "mult_adds": int(df["macs"].sum() + df["bias_adds"].sum()),
        "forward_backward_bytes": forward_backward,
        "estimated_total_bytes": int(df["input_bytes"].iloc[0]) + forward_backward + int(df["weight_bytes"].sum()),
    }
    if "wgrad_macs" in df:
        out["wgrad_macs"] = int(df["wgrad_macs"].sum())
        out["igrad_macs"] = int(df["igrad_macs"].sum())
    if "bn_fold" in df.attrs:
        out["batchnorm_folded"] = int(df.attrs["batchnorm_folded"])
        out["params_before_fold"] = int(df.attrs["params_before_fold"])
    return out
