"""The `accelsim profile` report: the per-layer table (torchinfo's columns plus FLOPs and % of MACs), the
GEMM-and-memory table, and the summary lines (torchinfo's among them)."""

from __future__ import annotations

import pandas as pd

from accelsim.report.tables import Column, mb, mb_number, percent, render, shape, thousands
from accelsim.workload.gemm import GemmShape


def _layer_label(row) -> str:
    return f"{row['layer']} ({row['type']})" + (" *" if row["stride_remainder"] else "")


def _gemm(row) -> str:
    if not row["gemm_m"]:
        return "--"
    return GemmShape(row["gemm_m"], row["gemm_k"], row["gemm_n"], row["gemm_groups"]).label


def _kernel(row) -> str:
    return f"{row['kernel']}/{row['stride']}/{row['padding']}" if row["kernel"] else "--"


# torchinfo's per-layer view plus FLOPs and each layer's share of the MACs ...
COLUMNS = [
    Column("label", "Layer (type)", numeric=False, wrap=True),
    Column("input_shape", "Input shape", shape, numeric=False),
    Column("output_shape", "Output shape", shape, numeric=False),
    Column("ksp", "K/S/P", numeric=False),
    Column("params", "Params", thousands),
    Column("macs", "MACs", thousands),
    Column("macs_share", "% MACs", percent),
    Column("flops", "FLOPs", thousands),
]
# ... and, as a second table (one would not fit in 100 columns), the GEMM lowering and the bytes.
MEMORY_COLUMNS = [
    Column("label", "Layer (type)", numeric=False, wrap=True),
    Column("gemm", "GEMM MxKxN", numeric=False),
    Column("weight_bytes", "Weight bytes", thousands),
    Column("input_bytes", "In act bytes", thousands),
    Column("output_bytes", "Out act bytes", thousands),
]
TRAINING_COLUMNS = [
    Column("label", "Layer (type)", numeric=False, wrap=True),
    Column("gemm", "Fwd GEMM MxKxN", numeric=False),
    Column("wgrad_gemm", "dW GEMM MxKxN", numeric=False),
    Column("wgrad_macs", "dW MACs", thousands),
    Column("igrad_gemm", "dX GEMM MxKxN", numeric=False),
    Column("igrad_macs", "dX MACs", thousands),
]


def _scaled(n: int) -> tuple[str, str]:
    """torchinfo's automatic unit for a count, two decimals: (" (M)", "714.68"); exact integer
    arithmetic, so counts beyond 2^53 print right."""
    for unit, scale in (("T", 10**12), ("G", 10**9), ("M", 10**6), ("K", 10**3)):
        if n >= scale:
            cents = (100 * n + scale // 2) // scale
            return f" ({unit})", f"{cents // 100:,}.{cents % 100:02d}"
    return "", f"{n:,}"


def torchinfo_lines(totals: dict) -> list[str]:
    """The summary lines torchinfo prints under its table, computed by its rules (see
    ``accelsim.workload.profile``), in its units: MB = 10^6 bytes, two decimals."""
    unit, mult_adds = _scaled(totals["mult_adds"])
    return [
        f"Total params: {totals['params']:,}",
        (f"Total mult-adds{unit}: {mult_adds} (torchinfo's count: MACs + {totals['mult_adds'] - totals['macs']:,}"
         " bias adds; the MACs columns have no bias adds)"),
        f"Input size (MB): {mb_number(totals['input_bytes'])}",
        (f"Forward/backward pass size (MB): {mb_number(totals['forward_backward_bytes'])}"
         " (2 x the outputs of the layers with parameters)"),
        f"Params size (MB): {mb_number(totals['weight_bytes'])}",
        f"Estimated Total Size (MB): {mb_number(totals['estimated_total_bytes'])}",
    ]


def render_profile(df: pd.DataFrame, totals: dict, fmt: str) -> str:
    """The profile in one of the FORMATS; JSON and CSV carry every column of ``df``."""
    a = df.attrs
    meta = {"batch": a["batch"], "dtype": a["dtype"]}
    if fmt in ("json", "csv"):
        return render(fmt, df, totals, COLUMNS, None, "", **meta)
    view = df.copy()
    view["label"] = view.apply(_layer_label, axis=1)
    view["gemm"] = view.apply(_gemm, axis=1)
    view["ksp"] = view.apply(_kernel, axis=1)
    view["macs_share"] = view["macs"] / totals["macs"] if totals["macs"] else 0.0
    notes = [
        f"Batch {a['batch']}, {a['dtype']} ({'chained network' if a['chained'] else 'independent layers'}).",
        *torchinfo_lines(totals),
        f"Total MACs: {totals['macs']:,}   FLOPs (2 x MACs): {totals['flops']:,}",
        f"Non-MAC vector ops (pool, activation, norm, add, softmax): {totals['vector_ops']:,}",
        (f"Weight memory: {mb(totals['weight_bytes'])}   Activation memory (all outputs): "
         f"{mb(totals['activation_bytes'])}   Input: {mb(totals['input_bytes'])}"),
        (f"Peak single-layer working set (input + output + weights): {mb(totals['peak_working_set_bytes'])}"
         f" at {totals['peak_working_set_layer']}"),
        "K/S/P: kernel / stride / padding. MB = 10^6 bytes.",
    ]
    if "bn_fold" in a:
        notes.append(a["bn_fold"])
    if view["stride_remainder"].any():
        notes.append("* the stride leaves a remainder: the last input rows/columns are unused (floored).")
    total_row = {"label": "Total", "params": totals["params"], "macs": totals["macs"],
                 "macs_share": 1.0 if totals["macs"] else 0.0, "flops": totals["flops"]}
    out = render(fmt, view, totals, COLUMNS, total_row, f"{a['network']}: per-layer budget", notes, compact=True)
    mem_total = {"label": "Total", "weight_bytes": totals["weight_bytes"], "output_bytes": totals["activation_bytes"]}
    title = f"{a['network']}: GEMM lowering and memory ({a['dtype']})"
    out += "\n" + render(fmt, view, totals, MEMORY_COLUMNS, mem_total, title)
    if "wgrad_macs" in df:
        tr_total = {"label": "Total", "wgrad_macs": totals["wgrad_macs"], "igrad_macs": totals["igrad_macs"]}
        training = render(fmt, view[view["gemm_m"] > 0], totals, TRAINING_COLUMNS, tr_total,
                          f"{a['network']}: training GEMMs")
        out += "\n" + training
    return out
