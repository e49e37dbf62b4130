"""Wall time of `simulate` (fast engine) on the modern zoo, every array size and dataflow.

Usage, from the repository root: ``python -m benchmarks.bench_zoo [--repeat R] [--models a,b]``.
Prints, per network x array x dataflow, the best-of-R wall time of the simulation (the network is
built once, outside the timing), its GEMM folds and cycles, and the ratio to a baseline measured in
the same run (VGG-16 on the same array and dataflow, the zoo's heaviest chain). The target is
under 1 s per case; the exit status is 1 if a case misses it.
"""

from __future__ import annotations

import argparse
import sys
import time

from accelsim.hardware.config import ArrayConfig
from accelsim.systolic.simulate import simulate
from accelsim.workload import resolve

MODELS = ("resnet18", "resnet50", "mobilenet_v2", "squeezenet1_1", "googlenet", "bert-base-encoder")
ARRAYS = ((32, 32), (128, 128))
DATAFLOWS = ("os", "ws", "is")
BASELINE = "vgg16"
TARGET_S = 1.0


def _best(net, cfg: ArrayConfig, repeat: int):
    best, sim = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        sim = simulate(net, cfg, engine="fast")
        best = min(best, time.perf_counter() - start)
    return best, sim


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3, help="Runs per case; the best is reported.")
    ap.add_argument("--models", default=",".join(MODELS), help="Comma-separated zoo names.")
    args = ap.parse_args(argv)
    nets = {name: resolve(name) for name in [BASELINE, *args.models.split(",")]}
    print(f"{'network':<19}{'array':<9}{'flow':<6}{'layers':>7}{'folds':>10}{'cycles':>15}"
          f"{'wall s':>9}{'x vgg16':>9}{'target s':>10}")
    failed = False
    for rows, cols in ARRAYS:
        for dataflow in DATAFLOWS:
            cfg = ArrayConfig(rows=rows, cols=cols, dataflow=dataflow)
            base_s, _ = _best(nets[BASELINE], cfg, args.repeat)
            for name, net in nets.items():
                wall, sim = _best(net, cfg, args.repeat) if name != BASELINE else (base_s, _best(net, cfg, 1)[1])
                t = sim.totals
                miss = name != BASELINE and wall > TARGET_S
                failed |= miss
                print(f"{name:<19}{f'{rows}x{cols}':<9}{dataflow:<6}{len(net):>7}{t['folds']:>10,}"
                      f"{t['cycles']:>15,}{wall:>9.3f}{wall / base_s:>9.2f}"
                      f"{'-' if name == BASELINE else f'{TARGET_S:.1f}':>10}{'  MISSED' if miss else ''}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
