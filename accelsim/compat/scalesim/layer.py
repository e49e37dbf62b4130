"""``scalesim_layer``: SCALE-Sim 3.0.0's three per-layer reports for one topology row, in closed
form (docs/scalesim.md)."""

from __future__ import annotations

from typing import Any

from accelsim.compat.scalesim.common import (
    DATAFLOWS,
    HIT_LATENCY,
    MAX_EXACT,
    MAX_FOLDS,
    ScaleSimConventionError,
    pos_int,
)
from accelsim.compat.scalesim.timing import Folds, demand_spans, utilization
from accelsim.compat.scalesim.topology import TopologyLayer
from accelsim.compat.scalesim.traffic import (
    filter_read_once,
    ifmap_read_once,
    ofmap_stream,
    read_dram,
    replay_write_buffer,
    sram_requests,
)


def scalesim_layer(
    ifmap_h: int,
    ifmap_w: int,
    filt_h: int,
    filt_w: int,
    channels: int,
    num_filters: int,
    stride: int,
    rows: int,
    cols: int,
    dataflow: str,
    ifmap_sram_kb: int = 64,
    filter_sram_kb: int = 64,
    ofmap_sram_kb: int = 64,
) -> dict[str, Any]:
    """SCALE-Sim 3.0.0's numbers for one topology row on a ``rows`` x ``cols`` array (CALC mode).

    Arguments are a SCALE-Sim topology row (IFMAP already padded) and the config's
    ``ArrayHeight``/``ArrayWidth``/``Dataflow``/``*SramSzkB`` (defaults: ``configs/scale.cfg``).
    Returns a dict:

    - COMPUTE_REPORT: ``total_cycles_incl_prefetch``, ``total_cycles``, ``stall_cycles``,
      ``overall_util``, ``mapping_efficiency``, ``compute_util`` (percent, as SCALE-Sim);
      ``compute_cycles`` = total_cycles - stall_cycles.
    - BANDWIDTH_REPORT: ``avg_{ifmap,filter,ofmap}_sram_bw``, ``avg_{ifmap,filter,ofmap}_dram_bw``
      (words/cycle).
    - DETAILED_ACCESS_REPORT: ``{ifmap,filter,ofmap}_{sram,dram}_{start,stop}``,
      ``ifmap_sram_reads``, ``filter_sram_reads``, ``ofmap_sram_writes``, ``ifmap_dram_reads``,
      ``filter_dram_reads``, ``ofmap_dram_writes``.
    - Mapping: ``ofmap_h``, ``ofmap_w``, ``M``, ``N``, ``K``, ``macs``, ``Sr``, ``Sc``, ``T``,
      ``row_folds``, ``col_folds``, ``folds``, ``fold_cycles``.

    Values SCALE-Sim's estimate-bandwidth model makes order-dependent are ``None``
    (docs/scalesim.md, "Not reproduced").
    """
    H, W, FH, FW = (pos_int(n, v) for n, v in
                    (("ifmap_h", ifmap_h), ("ifmap_w", ifmap_w), ("filt_h", filt_h), ("filt_w", filt_w)))
    C, N, S = pos_int("channels", channels), pos_int("num_filters", num_filters), pos_int("stride", stride)
    R, Ca = pos_int("rows", rows), pos_int("cols", cols)
    ifmap_sram_kb, filter_sram_kb, ofmap_sram_kb = (
        pos_int(n, v) for n, v in
        (("ifmap_sram_kb", ifmap_sram_kb), ("filter_sram_kb", filter_sram_kb), ("ofmap_sram_kb", ofmap_sram_kb)))
    if dataflow not in DATAFLOWS:
        raise ScaleSimConventionError("dataflow", f"must be one of {', '.join(DATAFLOWS)}, got {dataflow!r}")
    if FH > H or FW > W:
        raise ScaleSimConventionError("filt_h" if FH > H else "filt_w", "filter larger than the IFMAP")

    L = TopologyLayer(H, W, FH, FW, C, N, S)
    check_size(L, R, Ca, dataflow)
    f = Folds.of(L, R, Ca, dataflow)
    mapping_efficiency, compute_util = utilization(f)
    ifmap_sram, filter_sram, ofmap_sram = sram_requests(L, f)
    wb = replay_write_buffer(ofmap_stream(L, f), ofmap_sram_kb * 1024, Ca)
    stall_cycles = 0
    total_cycles = f.compute_cycles + stall_cycles

    d = demand_spans(L, f)
    ifmap_dram = read_dram(L.ifmap_distinct(), d.ifmap_first, ifmap_sram_kb, ifmap_read_once(L, f))
    filter_dram = read_dram(L.K * N, d.filter_first, filter_sram_kb, filter_read_once(L, f))
    assert wb.stop is not None  # the write buffer always drains
    incl_prefetch = wb.stop - min(ifmap_dram.start, filter_dram.start)

    macs = L.M * N * L.K
    return {
        # COMPUTE_REPORT.csv
        "total_cycles_incl_prefetch": incl_prefetch,
        "total_cycles": total_cycles,
        "stall_cycles": stall_cycles,
        "overall_util": (macs * 100) / (total_cycles * R * Ca),
        "mapping_efficiency": mapping_efficiency,
        "compute_util": compute_util,
        "compute_cycles": f.compute_cycles,
        # BANDWIDTH_REPORT.csv
        "avg_ifmap_sram_bw": ifmap_sram / total_cycles,
        "avg_filter_sram_bw": filter_sram / total_cycles,
        "avg_ofmap_sram_bw": ofmap_sram / total_cycles,
        "avg_ifmap_dram_bw": ifmap_dram.bw,
        "avg_filter_dram_bw": filter_dram.bw,
        "avg_ofmap_dram_bw": wb.bw,
        # DETAILED_ACCESS_REPORT.csv
        "ifmap_sram_start": d.ifmap_first + HIT_LATENCY,
        "ifmap_sram_stop": d.ifmap_last + HIT_LATENCY,
        "ifmap_sram_reads": ifmap_sram,
        "filter_sram_start": d.filter_first + HIT_LATENCY,
        "filter_sram_stop": d.filter_last + HIT_LATENCY,
        "filter_sram_reads": filter_sram,
        "ofmap_sram_start": d.ofmap_first,
        "ofmap_sram_stop": d.ofmap_last,
        "ofmap_sram_writes": ofmap_sram,
        "ifmap_dram_start": ifmap_dram.start,
        "ifmap_dram_stop": ifmap_dram.stop,
        "ifmap_dram_reads": ifmap_dram.words,
        "filter_dram_start": filter_dram.start,
        "filter_dram_stop": filter_dram.stop,
        "filter_dram_reads": filter_dram.words,
        "ofmap_dram_start": wb.start,
        "ofmap_dram_stop": wb.stop,
        "ofmap_dram_writes": wb.words,
        # Mapping
        "ofmap_h": L.OH,
        "ofmap_w": L.OW,
        "M": L.M,
        "N": N,
        "K": L.K,
        "macs": macs,
        "Sr": f.Sr,
        "Sc": f.Sc,
        "T": f.T,
        "row_folds": f.nr,
        "col_folds": f.nc,
        "folds": f.folds,
        "fold_cycles": f.fold_len,
    }


# The name the task brief asked for; same function.
scalesim_layer_cycles = scalesim_layer


def check_size(L: TopologyLayer, R: int, Ca: int, dataflow: str) -> None:
    """Refuse, before allocating, a layer the replay cannot hold (per-fold lists, per-line int64
    arrays) or whose counts pass float64's exact range."""
    M, N, K = L.M, L.N, L.K
    Sr, Sc, T = {"os": (M, N, K), "ws": (K, N, M), "is": (K, M, N)}[dataflow]
    n_folds = -(-Sr // R) * -(-Sc // Ca)
    if n_folds > MAX_FOLDS:
        raise ScaleSimConventionError(
            "layer", f"{M}x{K}x{N} GEMM needs {n_folds:,} folds on {R}x{Ca} (limit {MAX_FOLDS:,}): too large to replay")
    if T > MAX_FOLDS:
        raise ScaleSimConventionError(
            "layer", f"{M}x{K}x{N} GEMM streams {T:,} beats a fold (limit {MAX_FOLDS:,}): too large to replay")
    if max(M * K * N, L.H * L.W * L.C, L.FH * L.FW * L.C * N, M * N) >= MAX_EXACT:
        raise ScaleSimConventionError(
            "layer", f"{M}x{K}x{N} GEMM: its counts pass 2^53, beyond SCALE-Sim's exact arithmetic")
