"""RTL cycles per second of the fast co-simulation harness against the per-cycle harness, in one run.

Usage, from the repository root: ``python -m benchmarks.bench_cosim_harness [--arrays 8,16]
[--fast-gemms N] [--jobs 1,2] [--cycle-size S]``

Per square array (pipelined WS, the int8/32-bit configuration):

- cycle: ``run_job`` (``accelsim.rtlsim.tb``: cocotb drives every port every cycle, the stepping model in
  lock step) on one S x S x S GEMM; its rate is RTL cycles over the run's wall time (simulator start
  included).
- fast: ``run_harness`` (``rtl/tb/harness_top.v``: beats streamed from a file by DPI-C, rows captured with their
  cycles, checked against the fast model) on N random GEMMs, once per ``--jobs`` value (Verilator processes at
  once, the GEMMs split between them by cycles); its rate is RTL cycles over the wall time of ``run_harness``:
  simulator start, building and loading each GEMM's stimulus, playing it and checking its rows all included.
  The GEMMs are 32n x 32n x 32n on an n x n array (256^3 on 8x8, 512^3 on 16x16: ~0.26 M and ~0.52 M cycles each).

Both builds are made (or found) before the timed runs. Prints both rates, the ratio, the fast harness's split
(Python in the simulator processes, playing: seconds summed over the processes) and whether the rate reaches
the issue's 1,000,000 RTL cycles/s; the load average before and after. Exit status 1 when a run mismatches.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

from accelsim.hardware.config import ArrayConfig
from accelsim.rtlsim import gemm_folds, random_gemm, run_job
from accelsim.rtlsim.harness import run_harness


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--arrays", default="8,16", help="square array sizes, comma-separated")
    ap.add_argument("--fast-gemms", type=int, default=4, help="(32n)^3 GEMMs through the fast harness")
    ap.add_argument("--jobs", default="1,2", help="Verilator processes of the fast harness, comma-separated")
    ap.add_argument("--cycle-size", type=int, default=160, help="S of the S^3 GEMM through the cycle harness")
    args = ap.parse_args(argv)
    bad = 0
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"{'array':>6} {'cycle cyc':>10} {'cycle c/s':>10} {'jobs':>4} {'fast cyc':>10} {'fast c/s':>10} "
          f"{'ratio':>7} {'python s':>8} {'play s':>7} {'>= 1M/s':>7}")
    for n in (int(x) for x in args.arrays.split(",")):
        cfg = ArrayConfig(rows=n, cols=n, dataflow="ws", pipeline=True)
        small = random_gemm(cfg, 16, 16, 16, seed=99)
        run_harness(cfg, [small])  # builds
        run_job(cfg, gemm_folds(cfg, None, small))
        g = random_gemm(cfg, args.cycle_size, args.cycle_size, args.cycle_size, seed=1)
        t0 = time.perf_counter()
        slow = run_job(cfg, gemm_folds(cfg, None, g))
        slow_wall = time.perf_counter() - t0
        gemms = [random_gemm(cfg, 32 * n, 32 * n, 32 * n, seed=i) for i in range(args.fast_gemms)]
        slow_rate = slow.rtl_cycles / slow_wall
        bad += not slow.ok
        for jobs in (int(j) for j in args.jobs.split(",")):
            t0 = time.perf_counter()
            fast = run_harness(cfg, gemms, jobs=jobs)
            fast_wall = time.perf_counter() - t0
            bad += not fast.ok
            fast_rate = fast.rtl_cycles / fast_wall
            print(f"{n}x{n:<4} {slow.rtl_cycles:>10,} {slow_rate:>10,.0f} {jobs:>4} {fast.rtl_cycles:>10,} "
                  f"{fast_rate:>10,.0f} {fast_rate / slow_rate:>6.1f}x {fast.sim_seconds - fast.rtl_seconds:>8.2f} "
                  f"{fast.rtl_seconds:>7.2f} {'yes' if fast_rate >= 1e6 else 'no':>7}", flush=True)
            if not (slow.ok and fast.ok):
                print(f"  MISMATCH: cycle ok={slow.ok}, fast ok={fast.ok} {fast.errors[:2]}")
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
