#!/usr/bin/env python3
"""Record the real SCALE-Sim's numbers for small layers: the fixture of the scalesim-convention tests.

    benchmarks/scalesim_env.sh                      # once: .bench-venv with scalesim, numpy<2.4
    python benchmarks/make_scalesim_reference.py    # ~1 min; rewrites the fixture below

writes ``tests/systolic/data/scalesim_reference.json``: for every case (a topology row, an array,
a dataflow and SRAM sizes) every value SCALE-Sim 3.0.0 puts in COMPUTE_REPORT.csv,
BANDWIDTH_REPORT.csv and DETAILED_ACCESS_REPORT.csv (CALC bandwidth mode). CI has no SCALE-Sim;
``tests/systolic/test_scalesim_convention.py`` compares ``accelsim.compat.scalesim`` against this
file. Re-run it only when the case list changes or to check a new SCALE-Sim release.

The cases cover: 3x3/1x1/5x5/11x11 and non-square kernels, strides 1-4 including ones that leave a
remainder (SCALE-Sim then rounds the output size up) and strides larger than the kernel (windows
wholly outside the IFMAP), a linear layer as a 1x1 convolution, square, non-square and odd arrays,
arrays larger than the GEMM, and SRAMs of 1 KB (operands that do not fit: OFMAP drains during the
layer, IFMAP/filter read windows) up to 64 KB (scale.cfg's).
"""

from __future__ import annotations

import argparse
import datetime
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_scalesim import DEFAULT_VENV, run_scalesim, venv_python

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "tests" / "systolic" / "data" / "scalesim_reference.json"

# SCALE-Sim topology rows: name, IFMAP H, W, filter H, W, channels, filters, stride.
LAYERS = {
    "conv3x3": ["conv3x3", 10, 10, 3, 3, 4, 12, 1],
    "s2_ragged": ["s2_ragged", 12, 12, 3, 3, 3, 8, 2],      # (12-3) % 2 = 1: output rounded up
    "s4_outside": ["s4_outside", 11, 14, 1, 1, 2, 9, 4],     # stride > kernel: last windows outside
    "rect": ["rect", 9, 13, 3, 5, 3, 10, 1],                 # non-square IFMAP and kernel
    "fc": ["fc", 1, 1, 1, 1, 300, 70, 1],                    # linear layer as a 1x1 conv
    "pointwise": ["pointwise", 7, 7, 1, 1, 32, 20, 1],
    "alex1_mini": ["alex1_mini", 29, 29, 11, 11, 3, 8, 4],   # AlexNet conv1 geometry, (29-11) % 4 = 2
    "mid": ["mid", 20, 20, 3, 3, 16, 24, 1],                 # big enough to overflow 1 KB SRAMs
    "s3_k5": ["s3_k5", 17, 15, 5, 5, 6, 7, 3],
}
ALL = list(LAYERS)

# (rows, cols, (ifmap, filter, ofmap) KB, layers)
ARRAYS = [
    (8, 8, (64, 64, 64), ALL),
    (4, 16, (1, 1, 1), ALL),
    (16, 4, (2, 1, 4), ["conv3x3", "s2_ragged", "fc", "mid", "s3_k5"]),
    (3, 5, (64, 64, 64), ["conv3x3", "s4_outside", "rect", "s3_k5"]),
    (32, 32, (1, 2, 1), ["mid", "alex1_mini", "pointwise"]),
    (128, 128, (64, 64, 64), ["conv3x3", "fc", "pointwise"]),  # array larger than the GEMM
    (64, 16, (64, 64, 64), ["mid", "fc"]),
]
DATAFLOWS = ("os", "ws", "is")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--venv", type=Path, default=DEFAULT_VENV)
    p.add_argument("--out", type=Path, default=OUT)
    p.add_argument("--timeout", type=float, default=600.0, help="per SCALE-Sim run, s")
    args = p.parse_args()
    python = venv_python(args.venv)
    if not python.exists():
        p.error(f"{python} not found: run benchmarks/scalesim_env.sh first")

    cases, versions = [], {}
    for rows, cols, (ikb, fkb, okb), names in ARRAYS:
        for df in DATAFLOWS:
            job = {"rows": rows, "cols": cols, "dataflow": df, "ifmap_sram_kb": ikb, "filter_sram_kb": fkb,
                   "ofmap_sram_kb": okb, "bandwidth_mode": "CALC", "layers": [LAYERS[n] for n in names]}
            results, status = run_scalesim(job, python, args.timeout, mem_limit_gb=8)
            if status["state"] != "done" or len(results) != len(names):
                print(status.get("stderr", ""), file=sys.stderr)
                raise SystemExit(f"SCALE-Sim run {rows}x{cols} {df} {status['state']}")
            for rec in results:
                if "error" in rec:
                    raise SystemExit(f"SCALE-Sim failed on {rec['row']}: {rec['error']}")
                report = {k: v for k, v in rec.items() if k not in ("layer", "row", "wall_s", "maxrss_mb")}
                cases.append({"row": rec["row"], "rows": rows, "cols": cols, "dataflow": df,
                              "ifmap_sram_kb": ikb, "filter_sram_kb": fkb, "ofmap_sram_kb": okb,
                              "scalesim": report})
            print(f"{rows}x{cols} {df}: {len(results)} layers in {status['wall_s']:.1f}s", flush=True)

    versions = _versions(python)
    doc = {
        "about": "SCALE-Sim's own per-layer report values (CALC bandwidth mode, save_disk_space=True), "
                 "recorded by benchmarks/make_scalesim_reference.py; see tests/systolic/test_scalesim_convention.py",
        "scalesim": versions.get("scalesim"),
        "numpy": versions.get("numpy"),
        "python": versions.get("python"),
        "recorded": datetime.date.today().isoformat(),
        "config": "benchmarks/scalesim_runner.py CONFIG (scale.cfg's sections; word size 1 byte)",
        "cases": cases,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with open(args.out, "w") as f:
        f.write("{\n")
        f.writelines(f"  {json.dumps(k)}: {json.dumps(doc[k])},\n"
                     for k in ("about", "scalesim", "numpy", "python", "recorded", "config"))
        f.write('  "cases": [\n')
        f.write(",\n".join("    " + json.dumps(c) for c in cases))
        f.write("\n  ]\n}\n")
    print(f"{len(cases)} cases written to {args.out}")
    return 0


def _versions(python: Path) -> dict:
    import subprocess

    code = ("import json, sys, numpy; from importlib.metadata import version; "
            "print(json.dumps({'scalesim': version('scalesim'), 'numpy': numpy.__version__, "
            "'python': sys.version.split()[0]}))")
    out = subprocess.run([str(python), "-c", code], capture_output=True, text=True, check=True).stdout
    return json.loads(out)


if __name__ == "__main__":
    sys.exit(main())
