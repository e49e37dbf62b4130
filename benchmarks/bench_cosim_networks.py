"""Whole networks through the RTL from the command line: ``accelsim cosim --model M --harness fast`` with 1 and with
N Verilator processes, in one run.

Usage, from the repository root: ``python -m benchmarks.bench_cosim_networks [--models alexnet,resnet18]
[--array 16x16] [--jobs 1,2]``

Each (model, jobs) runs the CLI in a child process (``--format json``, the harness built beforehand) and prints
its tiles, RTL cycles, wall time of the run (``wall_s``: the build excluded; generating the int8 forward's GEMMs,
loading, playing and checking included), the process's wall time, RTL cycles per second, mismatches, the peak
resident memory of the largest child process so far (``getrusage``) and the speed-up over the first jobs
value; the machine's load average before and after. Exit status 1 when any run mismatches.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time

from accelsim.hardware.config import parse_array
from accelsim.rtlsim.harness import build_harness
from accelsim.rtlsim.session import cosim_config


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default="alexnet,resnet18", help="zoo networks, comma-separated")
    ap.add_argument("--array", default="16x16", help="RxC")
    ap.add_argument("--jobs", default="1,2", help="Verilator processes per run, comma-separated (the first is "
                                                  "the baseline)")
    args = ap.parse_args(argv)
    rows, cols = parse_array(args.array)
    build_harness(cosim_config(rows, cols, "ws"))
    jobs = [int(j) for j in args.jobs.split(",")]
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"{'model':>10} {'jobs':>4} {'tiles':>9} {'RTL cycles':>11} {'wall_s':>7} {'process s':>9} "
          f"{'cycles/s':>9} {'mism.':>5} {'peak MB':>8} {'speed-up':>8}")
    bad = 0
    for model in args.models.split(","):
        base = None
        for j in jobs:
            t0 = time.perf_counter()
            out = subprocess.run([sys.executable, "-m", "accelsim", "cosim", "--model", model, "--array", args.array,
                                  "--jobs", str(j), "--format", "json", "--no-progress"],
                                 capture_output=True, text=True, check=False)
            wall = time.perf_counter() - t0
            peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
            if out.returncode not in (0, 1):
                print(f"{model} --jobs {j}: exit {out.returncode}\n{out.stderr}", file=sys.stderr)
                bad += 1
                continue
            s = json.loads(out.stdout)
            bad += out.returncode != 0
            base = base or s["wall_s"]
            print(f"{model:>10} {j:>4} {s['tiles']:>9,} {s['rtl_cycles']:>11,} {s['wall_s']:>7.1f} {wall:>9.1f} "
                  f"{s['rtl_cycles_per_s']:>9,} {s['mismatches']:>5} {peak_mb:>8,.0f} {base / s['wall_s']:>7.2f}x")
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
