"""Run the real SCALE-Sim on topology rows and print its per-layer report items as JSON.

This script runs *inside the benchmark venv* (``.bench-venv``, see ``benchmarks/scalesim_env.sh``),
never in accelsim's own environment: SCALE-Sim 3.0.0 needs numpy < 2.4. It uses SCALE-Sim's Python
API with ``save_disk_space=True`` (no per-cycle trace CSVs) and reads the report items straight
from its ``single_layer_sim`` objects (the values it writes to COMPUTE_REPORT.csv,
BANDWIDTH_REPORT.csv and DETAILED_ACCESS_REPORT.csv), so nothing is parsed back from CSV text.

Input: one JSON job on stdin::

    {"rows": 32, "cols": 32, "dataflow": "ws",
     "ifmap_sram_kb": 64, "filter_sram_kb": 64, "ofmap_sram_kb": 64,   # optional, scale.cfg's
     "bandwidth_mode": "CALC",          # optional: CALC (scale.cfg's) or USER (google.cfg's)
     "bandwidth": 10,                   # optional, USER mode only
     "layers": [["conv1", 227, 227, 11, 11, 3, 96, 4], ...],   # SCALE-Sim topology rows
     "mem_limit_gb": 16}                # optional address-space limit of this process (0: none)

Output: one JSON object per layer on stdout, as each layer finishes (so a timeout keeps the layers
done so far; a layer that raises, e.g. MemoryError under a memory limit, reports ``"error"``),
then ``{"done": true, ...}``. ``maxrss_mb`` is the process's peak resident memory so far. Each
layer runs as its own one-row topology so its wall time can be measured alone (SCALE-Sim
simulates layers independently anyway).
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import sys
import tempfile
import time

CONFIG = """[general]
run_name = accelsim_bench

[architecture_presets]
ArrayHeight: {rows}
ArrayWidth: {cols}
IfmapSramSzkB: {ifmap_sram_kb}
FilterSramSzkB: {filter_sram_kb}
OfmapSramSzkB: {ofmap_sram_kb}
IfmapOffset: 0
FilterOffset: 10000000
OfmapOffset: 20000000
Bandwidth : {bandwidth}
Dataflow : {dataflow}
MemoryBanks: 1
ReadRequestBuffer: 512
WriteRequestBuffer: 512

[layout]
IfmapCustomLayout: False
IfmapSRAMBankBandwidth: {bandwidth}
IfmapSRAMBankNum: 1
IfmapSRAMBankPort: 2
FilterCustomLayout: False
FilterSRAMBankBandwidth: {bandwidth}
FilterSRAMBankNum: 1
FilterSRAMBankPort: 2

[sparsity]
SparsitySupport : false
SparseRep : ellpack_block
OptimizedMapping : false
BlockSize : 8
RandomNumberGeneratorSeed : 40

[run_presets]
InterfaceBandwidth: {bandwidth_mode}
UseRamulatorTrace: False
"""

TOPO_HEADER = "Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides,\n"

COMPUTE = ("total_cycles_incl_prefetch", "total_cycles", "stall_cycles", "overall_util",
           "mapping_efficiency", "compute_util")
BANDWIDTH = ("avg_ifmap_sram_bw", "avg_filter_sram_bw", "avg_ofmap_sram_bw",
             "avg_ifmap_dram_bw", "avg_filter_dram_bw", "avg_ofmap_dram_bw")
DETAIL = tuple(
    f"{op}_{mem}_{what}"
    for mem in ("sram", "dram")
    for op in ("ifmap", "filter", "ofmap")
    for what in ("start", "stop", "writes" if op == "ofmap" else "reads")
)


def _num(x):
    x = float(x)
    return int(x) if x.is_integer() else x


def run_layer(job: dict, row: list, workdir: str) -> dict:
    from scalesim.scale_sim import scalesim  # imported here: only the venv has it

    params = {
        "ifmap_sram_kb": 64, "filter_sram_kb": 64, "ofmap_sram_kb": 64,
        "bandwidth_mode": "CALC", "bandwidth": 10, **job,
    }
    cfg = os.path.join(workdir, "scale.cfg")
    topo = os.path.join(workdir, "topology.csv")
    layout = os.path.join(workdir, "layout.csv")
    with open(cfg, "w") as f:
        f.write(CONFIG.format(**params))
    with open(topo, "w") as f:
        # SCALE-Sim drops the last comma-separated field of a row: keep the trailing comma.
        f.write(TOPO_HEADER + ", ".join(str(v) for v in row) + ",\n")
    with open(layout, "w") as f:
        f.write("Layer name,\n")  # the CLI silently does nothing without a layout file

    t0 = time.perf_counter()
    with contextlib.redirect_stdout(sys.stderr):  # keep stdout for our JSON lines
        sim = scalesim(save_disk_space=True, verbose=False, config=cfg, topology=topo, layout=layout)
        sim.run_scale(top_path=workdir)
    wall = time.perf_counter() - t0
    layer = sim.runner.single_layer_sim_object_list[0]
    out = {"layer": row[0], "row": row, "wall_s": wall}
    out.update(zip(COMPUTE, map(_num, layer.get_compute_report_items()), strict=True))
    out.update(zip(BANDWIDTH, map(_num, layer.get_bandwidth_report_items()), strict=True))
    out.update(zip(DETAIL, map(_num, layer.get_detail_report_items()), strict=True))
    return out


def main() -> None:
    job = json.load(sys.stdin)
    layers = job.pop("layers")
    mem_limit_gb = job.pop("mem_limit_gb", 0)
    if mem_limit_gb:  # SCALE-Sim holds whole demand matrices: a bad layer can take >12 GB
        nbytes = int(mem_limit_gb * 2**30)
        resource.setrlimit(resource.RLIMIT_AS, (nbytes, nbytes))
    import numpy
    import scalesim

    t0 = time.perf_counter()
    for row in layers:
        with tempfile.TemporaryDirectory(prefix="scalesim-") as d:
            try:
                out = run_layer(job, row, d)
            except (Exception, MemoryError) as e:  # noqa: BLE001 - report it, go on with the next layer
                out = {"layer": row[0], "row": row, "error": f"{type(e).__name__}: {e}"}
        out["maxrss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(json.dumps(out), flush=True)
    print(json.dumps({"done": True, "wall_s": time.perf_counter() - t0, "numpy": numpy.__version__,
                      "scalesim": getattr(scalesim, "__version__", None) or _dist_version()}), flush=True)


def _dist_version():
    try:
        from importlib.metadata import version

        return version("scalesim")
    except Exception:  # noqa: BLE001 - only a version label
        return None


if __name__ == "__main__":
    main()
