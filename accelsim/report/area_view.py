"""`accelsim area`: the chip's area by part as an aligned table, Markdown, CSV or JSON."""

from __future__ import annotations

import json

from accelsim.energy.table import BASE_NODE_NM, Technology
from accelsim.hardware.memory_area import DDR3_X64_SIGNAL_IOS
from accelsim.report.tables import Column, decimal, percent, render
from accelsim.synth.area import FIT_SHAPES, AreaBreakdown
from accelsim.synth.cells import LIBRARY


def _kib(v: float) -> str:
    return f"{v:g} KiB"


def area_rows(b: AreaBreakdown) -> list[dict]:
    """One row per part: what it is, its area and its share of the total."""
    parts = [
        (f"PEs ({b.rows}x{b.cols} x {b.pe_unit_area_um2:,.1f} um^2)", b.pe_area_mm2),
        ("array rest (skews, deskew, control)", b.array_rest_area_mm2),
        *([(f"output stage ({b.cols} lanes)", b.output_stage_area_mm2)] if b.output_stage_area_mm2 else []),
        (f"ifmap SRAM ({_kib(b.ifmap_sram_kib)})", b.ifmap_sram_area_mm2),
        (f"filter SRAM ({_kib(b.filter_sram_kib)})", b.filter_sram_area_mm2),
        (f"ofmap SRAM ({_kib(b.ofmap_sram_kib)})", b.ofmap_sram_area_mm2),
        (f"DRAM interface (DDR3-1600 x64, {DDR3_X64_SIGNAL_IOS} IOs)", b.dram_interface_area_mm2),
    ]
    return [{"part": name, "area_mm2": mm2, "share": mm2 / b.area_mm2} for name, mm2 in parts]


COLUMNS = (Column("part", "part", numeric=False), Column("area_mm2", "area (mm^2)", decimal(4)),
           Column("share", "share", percent))


def render_area(b: AreaBreakdown, fmt: str) -> str:
    record = b.record()
    if fmt == "json":
        return json.dumps(record, indent=2) + "\n"
    if fmt == "csv":
        return render(fmt, [record], {}, COLUMNS, None, "")
    notes = [
        f"Array: yosys cells of the RTL (DATA_W={b.data_bits}, ACC_W={b.acc_bits}) x {LIBRARY} areas; "
        f"PEs = R x C x one synthesized PE, the rest a per-edge fit over {len(FIT_SHAPES)} small synthesized "
        f"arrays (max error {100 * b.model_fit_error:.2f}% on them). Cells only: no wiring, sizing or utilization."
        + (" Output stage: cols x rtl/output_stage.v synthesized with one lane." if b.output_stage_area_mm2 else ""),
        "SRAMs: CACTI 7 at 45 nm (scratchpad, 1 bank). DRAM interface: CACTI-IO's DDR3 IO area. Sources: "
        "accelsim/synth/cells.py, accelsim/hardware/memory_area.py.",
        f"Static power {b.leakage_mW:,.1f} mW: logic {b.logic_leakage_mW:,.2f} mW (the synthesized cells x the NanGate "
        f"Liberty leakage, typical corner, 25 C), SRAMs {b.sram_leakage_mW:,.1f} mW (CACTI, ITRS-HP cells, 360 K); "
        "the DRAM interface's is not counted.",
        (f"Technology: {Technology(b.tech_node_nm).describe()}; the DRAM interface is not scaled."
         if b.tech_node_nm != BASE_NODE_NM else "Technology: 45 nm (the figures' own node)."),
    ]
    total = {"part": "Total", "area_mm2": b.area_mm2, "share": 1.0}
    return render(fmt, area_rows(b), {}, COLUMNS, total,
                  f"Area of a {b.rows}x{b.cols} array with its SRAMs ({b.tech_node_nm} nm)", notes)
