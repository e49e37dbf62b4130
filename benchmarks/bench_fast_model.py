"""Wall time of the array models on whole networks.

Usage, from the repository root: ``python -m benchmarks.bench_fast_model [--repeat R]``.
Prints, per case, the best-of-R wall time, the folds, cycles and fold throughput, and its
target: the fast model on VGG-16 at 32x32 WS (~158k folds, target < 2 s) and on AlexNet, and the
stepping model on all of LeNet-5 computing (and checking) its int8 numbers (target < 60 s). The
exit status is 1 if a case misses its target.
"""

from __future__ import annotations

import argparse
import sys
import time

from accelsim.hardware.config import ArrayConfig
from accelsim.systolic.simulate import simulate
from accelsim.workload import resolve

CASES = [
    ("vgg16", "ws", "fast", False, 2.0),
    ("vgg16", "os", "fast", False, 2.0),
    ("vgg16", "is", "fast", False, 2.0),
    ("alexnet", "ws", "fast", False, 2.0),
    ("lenet5", "ws", "stepping", True, 60.0),
    ("lenet5", "os", "stepping", True, 60.0),
    ("lenet5", "is", "stepping", True, 60.0),
]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3, help="Runs per case; the best is reported.")
    args = ap.parse_args(argv)
    print(f"{'network':<9}{'flow':<6}{'model':<10}{'numbers':<9}{'folds':>9}{'cycles':>15}"
          f"{'wall s':>9}{'folds/s':>12}{'target s':>10}")
    failed = False
    for name, dataflow, model, check, target in CASES:
        net = resolve(name)
        cfg = ArrayConfig(rows=32, cols=32, dataflow=dataflow)
        best, sim = float("inf"), None
        for _ in range(args.repeat if model == "fast" else 1):
            start = time.perf_counter()
            sim = simulate(net, cfg, engine=model, check=check)
            best = min(best, time.perf_counter() - start)
        t = sim.totals
        if sim.mismatches:
            print(f"  check failed: {sim.mismatches}")
            failed = True
        failed |= best > target
        print(f"{name:<9}{dataflow:<6}{model:<10}{'checked' if check else '-':<9}{t['folds']:>9,}{t['cycles']:>15,}"
              f"{best:>9.3f}{t['folds'] / best:>12,.0f}{target:>10.0f}{'  MISSED' if best > target else ''}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
