"""``simulate --check`` on every zoo network at its full input size: the int8 numbers through the array.

Usage, from the repository root: ``python -m benchmarks.check_zoo [--array 32x32] [--dataflows os,ws,is]
[--models a,b]``. For each network and dataflow it runs the fast engine with ``check=True``: every
conv/linear/matmul GEMM's int32 accumulators and its int8 outputs after the output stage are
compared element by element with the int8 forward pass (``accelsim.lowering``). Prints per case the
GEMM layers checked, the mismatches, the wall time and the peak resident set of this process so far;
exit status 1 if any case mismatches. The tests check the same at reduced input sizes; this is the
full-size run the closing notes quote (VGG-16 alone takes about a minute and 2 GB).
"""

from __future__ import annotations

import argparse
import resource
import sys
import time

from accelsim.hardware.config import ArrayConfig, parse_array
from accelsim.systolic.simulate import simulate
from accelsim.workload import resolve, zoo


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--array", default="32x32", help="ROWSxCOLS.")
    ap.add_argument("--dataflows", default="os,ws,is")
    ap.add_argument("--models", default=",".join(zoo.ZOO), help="Comma-separated zoo names.")
    args = ap.parse_args(argv)
    rows, cols = parse_array(args.array)
    print(f"{'network':<19}{'flow':<6}{'checked':>9}{'mismatches':>12}{'wall s':>9}{'peak MB':>9}")
    failed = False
    for name in args.models.split(","):
        net = resolve(name)
        for dataflow in args.dataflows.split(","):
            cfg = ArrayConfig(rows=rows, cols=cols, dataflow=dataflow)
            start = time.perf_counter()
            sim = simulate(net, cfg, engine="fast", check=True)
            wall = time.perf_counter() - start
            checked = sum(1 for r in sim.layers.to_dict("records") if r.get("check") == "ok")
            bad = int(sim.totals["check_mismatches"])
            failed |= bad != 0
            peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e6
            print(f"{name:<19}{dataflow:<6}{checked:>9,}{bad:>12,}{wall:>9.1f}{peak_mb:>9,.0f}", flush=True)
    print(f"{args.array} array, fast engine, seed 0, batch 1; MB = 10^6 bytes")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
