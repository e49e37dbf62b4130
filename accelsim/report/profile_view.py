"""The `accelsim profile` report: which columns the human views show, and the summary lines."""

from __future__ import annotations

import pandas as pd

from accelsim.report.tables import Column, mb, render, shape, thousands
from accelsim.workload.gemm import GemmShape


def _layer_label(row) -> str:
    return f"{row['layer']} ({row['type']})" + (" *" if row["stride_remainder"] else "")


def _gemm(row) -> str:
    if not row["gemm_m"]:
        return "--"
    return GemmShape(row["gemm_m"], row["gemm_k"], row["gemm_n"], row["gemm_groups"]).label


COLUMNS = [
    Column("label", "Layer (type)", numeric=False, wrap=True),
    Column("output_shape", "Output shape", shape, numeric=False),
    Column("params", "Params", thousands),
    Column("macs", "MACs", thousands),
    Column("gemm", "GEMM MxKxN", numeric=False),
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


def render_profile(df: pd.DataFrame, totals: dict, fmt: str) -> str:
    """The profile in one of the FORMATS; JSON and CSV carry every column of ``df``."""
    a = df.attrs
    meta = {"batch": a["batch"], "dtype": a["dtype"]}
    if fmt in ("json", "csv"):
        return render(fmt, df, totals, COLUMNS, None, "", **meta)
    view = df.copy()
    view["label"] = view.apply(_layer_label, axis=1)
    view["gemm"] = view.apply(_gemm, axis=1)
    notes = [
        f"Batch {a['batch']}, {a['dtype']} ({'chained network' if a['chained'] else 'independent layers'}).",
        f"Total params: {totals['params']:,}   Total MACs: {totals['macs']:,}   FLOPs (2 x MACs): {totals['flops']:,}",
        f"Non-MAC vector ops (pool, activation, LRN, softmax): {totals['vector_ops']:,}",
        f"Weight memory: {mb(totals['weight_bytes'])}   Activation memory (all outputs): {mb(totals['activation_bytes'])}"
        f"   Input: {mb(totals['input_bytes'])}",
        f"Peak single-layer working set (input + output + weights): {mb(totals['peak_working_set_bytes'])}"
        f" at {totals['peak_working_set_layer']}",
        "MB = 10^6 bytes.",
    ]
    if view["stride_remainder"].any():
        notes.append("* the stride leaves a remainder: the last input rows/columns are unused (floored).")
    total_row = {"label": "Total", "params": totals["params"], "macs": totals["macs"], "output_bytes": totals["activation_bytes"]}
    out = render(fmt, view, totals, COLUMNS, total_row, f"{a['network']}: per-layer budget", notes)
    if "wgrad_macs" in df:
        tr_total = {"label": "Total", "wgrad_macs": totals["wgrad_macs"], "igrad_macs": totals["igrad_macs"]}
        out += "\n" + render(fmt, view[view["gemm_m"] > 0], totals, TRAINING_COLUMNS, tr_total, f"{a['network']}: training GEMMs")
    return out
