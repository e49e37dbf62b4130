"""The `accelsim simulate` report: the per-layer table (SCALE-Sim style) and its summary lines."""

from __future__ import annotations

from typing import Any

from accelsim.columns import CONFIG
from accelsim.energy.table import BASE_NODE_NM, Technology
from accelsim.hardware.config import ArrayConfig
from accelsim.mapping.dataflow import get as get_dataflow
from accelsim.mapping.folds import stream_chunk
from accelsim.mapping.space import Mapping
from accelsim.report.tables import Column, energy, mb, mb_number, percent, render, thousands
from accelsim.synth.area import AreaBreakdown
from accelsim.systolic.simulate import Simulation
from accelsim.workload.gemm import GemmShape


def _gemm(row) -> str:
    if not row["gemm_m"]:
        return f"{row['type']} ({row['unit']})" if row["unit"] in ("vector", "fused") else row["type"]
    return GemmShape(row["gemm_m"], row["gemm_k"], row["gemm_n"], row["gemm_groups"]).label


COLUMNS = [
    Column("layer", "Layer", numeric=False, wrap=True),
    Column("gemm", "GEMM MxKxN/op", numeric=False),
    Column("folds", "Folds", thousands),
    Column("cycles", "Cycles", thousands),
    Column("stall_share", "Stall", percent),
    Column("utilization", "Util", percent),
    Column("dram_bytes", "DRAM MB", mb_number),  # read + written (JSON and CSV: dram_read_bytes, dram_write_bytes)
    Column("moves", "In>Out", numeric=False),
]


def config_record(cfg: ArrayConfig) -> dict:
    """An ArrayConfig under the vocabulary's names (``accelsim.columns.CONFIG``)."""
    d = cfg.to_dict()
    d["bandwidth_bytes_per_cycle"] = d.pop("bandwidth")
    return {k: d[k] for k in CONFIG}


def config_summary(sim: Simulation, area: AreaBreakdown | None = None) -> dict:
    """The run's configuration as the JSON ``config`` object (with the technology node when priced)."""
    node = {"tech_node_nm": area.tech_node_nm} if area is not None else {}
    return {**config_record(sim.config), "batch": sim.batch, "engine": sim.engine, "mapper": sim.mapper,
            "objective": sim.objective, **node}


def design_totals(area: AreaBreakdown | None) -> dict:
    """The design's own figures the totals carry beside the run's: area and static power."""
    return {} if area is None else {"area_mm2": area.area_mm2, "leakage_mW": area.leakage_mW}


def _energy_note(sim: Simulation, area: AreaBreakdown | None) -> str:
    """Energy per inference, pJ/MAC, EDP, the leakage share and where the static power comes from."""
    t = sim.totals
    share = t["leakage_pJ"] / t["total_pJ"] if t["total_pJ"] else 0.0
    text = (f"Energy {energy(t['total_pJ'] / sim.batch)} per inference ({t['pJ_per_mac']:,.2f} pJ/MAC), EDP "
            f"{t['edp_uJ_ms']:,.4g} uJ*ms (latency {t['latency_ms']:,.3f} ms); leakage {percent(share)} of it")
    if area is None:
        return text + "."
    node = area.tech_node_nm
    tech = ("45 nm" if node == BASE_NODE_NM else
            f"{Technology(node).describe()}; DRAM energy not scaled")
    return (text + f" ({area.leakage_mW:,.1f} mW static: logic {area.logic_leakage_mW:,.1f}, SRAMs "
            f"{area.sram_leakage_mW:,.1f}; chip {area.area_mm2:,.2f} mm^2). Costs: accelsim/energy/table.py at {tech}.")


def _grouped_note(sim: Simulation) -> str:
    """How grouped (depthwise) convs use the array: the model runs them group after group, each group's small
    GEMM on folds of its own, so at most (rows-dim x cols-dim) of the PEs are busy; said, not hidden."""
    rows = [r for r in sim.rows if r["gemm_groups"] > 1]
    if not rows:
        return ""
    cfg = sim.config
    df = get_dataflow(cfg.dataflow)
    worst = min(rows, key=lambda r: r["mapping_efficiency"])
    dims = {"m": worst["gemm_m"], "k": worst["gemm_k"], "n": worst["gemm_n"]}
    used = min(dims[df.rows], cfg.rows) * min(dims[df.cols], cfg.cols)
    share = sum(r["cycles"] for r in rows) / sim.totals["cycles"] if sim.totals["cycles"] else 0.0
    return (f"Grouped convs ({len(rows)} layer(s), {percent(share)} of cycles) run one group at a time: e.g. "
            f"{worst['layer']} {worst['gemm_groups']} groups of {worst['gemm_m']}x{worst['gemm_k']}x"
            f"{worst['gemm_n']} keep at most {used} of {cfg.pes} PEs busy (mapping efficiency "
            f"{percent(worst['mapping_efficiency'])}, utilization {percent(worst['utilization'])}).")


def _moves(row) -> str:
    """The table's one cell for ``input_from`` and ``output_to``: 'dram>sram', 'sram+dram>dram'; 'fused'."""
    if row["output_to"] == "fused":
        return "fused"
    return f"{row['input_from']}>{row['output_to']}"


def _on_chip_note(sim: Simulation) -> str:
    """How many outputs stayed in the ifmap SRAM and how many layers were fused (the In/Out columns)."""
    kept = sum(r["output_to"] == "sram" for r in sim.rows)
    fused = sum(r["unit"] == "fused" for r in sim.rows)
    return (f"{kept} layer output(s) stay in the ifmap SRAM, {fused} layer(s) fused into the output stage "
            "(In>Out: where the inputs came from and the output went).")


def _energy_cell(v: Any) -> str:
    return energy(float(v))


ENERGY_COLUMN = Column("total_pJ", "Energy", _energy_cell)  # the unit scaled per cell (456 uJ, 1.23 mJ)
MAPPING_COLUMN = Column("mapping", "Mapping", numeric=False)
FIXED_COLUMN = Column("fixed_cycles", "Fixed cyc", thousands)  # --mapper search: the fixed mapping's cycles


def _ratio_text(new: float, old: float) -> str:
    return f"{new / old:.3f}x" if old else "-"


def _mapper_note(sim: Simulation) -> str:
    """Which mapper chose the layers' mappings; with search, the network's cost next to the fixed mapping's."""
    t = sim.totals
    if "fixed_cycles" not in t:
        fixed = Mapping.fixed(sim.config.dataflow)
        capped = " (or the whole streamed axis when shorter)" if fixed.flow.chunked else ""
        return (f"Mapper: fixed, every conv/linear layer {fixed.describe(stream_chunk(sim.config))}{capped}; "
                f"--mapper search picks each layer's.")
    dram = t["dram_read_bytes"] + t["dram_write_bytes"]
    return (f"Mapper: search by {sim.objective} (each layer's dataflow, fold order and chunk S; Mapping column): "
            f"cycles {t['cycles']:,} vs fixed {t['fixed_cycles']:,} ({_ratio_text(t['cycles'], t['fixed_cycles'])}), "
            f"DRAM {mb(dram)} vs {mb(t['fixed_dram_bytes'])} ({_ratio_text(dram, t['fixed_dram_bytes'])}), "
            f"energy {t['total_pJ'] / 1e6:,.1f} uJ vs {t['fixed_total_pJ'] / 1e6:,.1f} uJ "
            f"({_ratio_text(t['total_pJ'], t['fixed_total_pJ'])}); Fixed cyc = the layer's cycles under the fixed "
            f"mapping.")


def render_simulation(sim: Simulation, fmt: str, area: AreaBreakdown | None = None) -> str:
    """The simulation in one of the FORMATS; JSON and CSV carry every column. ``area``: the design's area and
    static power (the leakage in the energy columns), named in the notes and the JSON totals."""
    t, cfg = sim.totals, sim.config
    if fmt in ("json", "csv"):
        return render(fmt, sim.rows, {**t, **design_totals(area)}, COLUMNS, None, "", network=sim.network.name,
                      config=config_summary(sim, area))
    view = [{**row, "gemm": _gemm(row), "moves": _moves(row),
             "dram_bytes": row["dram_read_bytes"] + row["dram_write_bytes"],
             "stall_share": row["stall_cycles"] / row["cycles"] if row["cycles"] > 0 else 0.0}
            for row in sim.rows]
    search = "fixed_cycles" in sim.columns  # fixed: one mapping for every layer, said in the notes
    # search: the mapping and the fixed cycles in the place of the folds and In>Out (100 columns)
    shown = [c for c in COLUMNS if c.key not in ("folds", "moves")] if search else COLUMNS
    columns = [*shown, ENERGY_COLUMN, *([MAPPING_COLUMN, FIXED_COLUMN] if search else []),
               *([Column("check", "Check", numeric=False)] if "check" in sim.columns else [])]
    sram = f"{cfg.ifmap_sram_kib:g}/{cfg.filter_sram_kib:g}/{cfg.ofmap_sram_kib:g} KiB"
    notes = [
        (f"{cfg.rows}x{cfg.cols} array, {cfg.dataflow.upper()}, int{cfg.data_bits} operands, int{cfg.acc_bits} "
         f"accumulators, {'pipelined' if cfg.pipeline else 'serial'} folds, {cfg.clock_mhz:g} MHz, batch {sim.batch}, "
         f"{sim.engine} engine."),
        (f"SRAM ifmap/filter/ofmap {sram}, {'double' if cfg.double_buffer else 'single'} buffered; "
         f"DRAM {cfg.bandwidth:g} B/cycle each way."),
        (f"On chip: {_on_chip_note(sim)}" if cfg.on_chip else
         "On chip: off (--no-on-chip): every layer reads its inputs from DRAM and writes its output to DRAM."),
        (f"Cycles: {t['cycles']:,} = compute {t['compute_cycles']:,} + stalls {t['stall_cycles']:,} "
         f"(ideal {t['ideal_cycles']:,})."),
        (f"Latency {t['latency_ms']:,.3f} ms, {t['inferences_per_second']:,.1f} inferences/s, "
         f"effective {t['effective_tops']:,.3f} TOPS."),
        (f"Utilization {percent(t['utilization'])} overall, {percent(t['compute_utilization'])} while computing; "
         f"mapping efficiency {percent(t['mapping_efficiency'])}."),
        (f"DRAM read {mb(t['dram_read_bytes'])}, "
         f"written {mb(t['dram_write_bytes'])}."),
        (f"DRAM demand: average {t['avg_dram_bytes_per_cycle']:,.2f} B/cycle, "
         f"peak fold {t['peak_dram_bytes_per_cycle']:,.2f} B/cycle."),
        f"Vector unit ({cfg.cols} lanes): {t['vector_ops']:,} ops. Stall = stall share of cycles. MB = 10^6 bytes.",
        _energy_note(sim, area),
        _mapper_note(sim),
    ]
    grouped = _grouped_note(sim)
    if grouped:
        notes.append(grouped)
    if sim.mismatches:
        notes += [f"CHECK FAILED: {m}" for m in sim.mismatches]
    elif "check" in sim.columns:
        notes.append("Check: every conv/linear output matches the int8 reference bit for bit.")
    total_row = {"layer": "Total", "folds": t["folds"], "cycles": t["cycles"],
                 "stall_share": t["stall_cycles"] / t["cycles"] if t["cycles"] else 0.0,
                 "utilization": t["utilization"],
                 "dram_bytes": t["dram_read_bytes"] + t["dram_write_bytes"], "total_pJ": t["total_pJ"],
                 **({"fixed_cycles": t["fixed_cycles"]} if "fixed_cycles" in t else {})}
    title = f"{sim.network.name}: {cfg.rows}x{cfg.cols} {cfg.dataflow.upper()} systolic array"
    return render(fmt, view, t, columns, total_row, title, notes, compact=True)


SCALESIM_COLUMNS = [
    Column("layer", "Layer", numeric=False, wrap=True),
    Column("gemm", "GEMM MxKxN", numeric=False),
    Column("folds", "Folds", thousands),
    Column("cycles", "Total cycles", thousands),
    Column("mapping_efficiency", "Map eff", percent),
    Column("compute_utilization", "Comp util", percent),
    Column("utilization", "Util", percent),
]


def _counts_as_integers(df):
    """Count columns with values SCALE-Sim's model leaves undefined (NaN) as nullable integers, so CSV
    shows ``706656`` and an empty cell rather than ``706656.0``, and JSON an integer or null."""
    out = df.copy()
    out.attrs = dict(df.attrs)
    for col in out.columns:
        v = out[col]
        if v.dtype.kind == "f" and v.isna().any() and (v.dropna() % 1 == 0).all():
            out[col] = v.astype("Int64")
    return out


def render_scalesim(df, totals: dict, cfg, fmt: str) -> str:
    """``--convention scalesim``: SCALE-Sim's COMPUTE_REPORT numbers, in our table formats."""
    meta: dict[str, Any] = {"config": config_record(cfg), "convention": "scalesim"}
    df = _counts_as_integers(df)
    if fmt in ("json", "csv"):
        return render(fmt, df, totals, SCALESIM_COLUMNS, None, "", **meta)
    view = df.copy()
    view["gemm"] = view.apply(_gemm, axis=1)  # groups: "Gx(...)"
    notes = [
        (f"{cfg.rows}x{cfg.cols} array, {cfg.dataflow.upper()}, SCALE-Sim 3.0.0 convention (InterfaceBandwidth CALC: "
         "no DRAM stalls; output size rounded up; 'Total Cycles' is the index of the last cycle)."),
        f"Total cycles {totals['cycles']:,}, ideal {totals['ideal_cycles']:,}; utilization "
        f"{percent(totals['utilization'])}.",
        ("Conv and linear layers only: SCALE-Sim does not model pooling or activations. "
         "See docs/scalesim.md for how this differs from accelsim's own convention."),
    ]
    total_row = {"layer": "Total", "folds": totals["folds"], "cycles": totals["cycles"],
                 "utilization": totals["utilization"]}
    title = f"{df.attrs['network']}: {cfg.rows}x{cfg.cols} {cfg.dataflow.upper()} (SCALE-Sim convention)"
    return render(fmt, view, totals, SCALESIM_COLUMNS, total_row, title, notes)
