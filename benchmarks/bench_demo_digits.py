"""`accelsim demo digits`'s RTL part on several arrays, in one run: which default array is quicker.

Usage, from the repository root: ``python -m benchmarks.bench_demo_digits [--arrays 8x8,16x16] [--repeat 3]
[--images 360]``

Trains LeNet-5 once (seed 0, 8 epochs, as the demo does), then classifies the first ``--images`` test images
through the RTL (``digits.classify_rtl``: every conv/linear layer's GEMMs and output stage in the fast harness,
one simulator run a layer) on each array in turn, ``--repeat`` rounds alternating the arrays so that the
machine's load falls on all of them alike. Builds are made (or found) before the timed runs. Prints each run's
wall time, CPU time (this process and the simulators it waited for: steadier than wall time on a shared machine),
RTL cycles, tiles and cycles per second, then each array's best wall and CPU times and their ratios to the first
array's; exit status 1 if the RTL disagrees with the int8 model on any image (or differs on any GEMM).
"""

from __future__ import annotations

import argparse
import os
import sys
import time

from accelsim.demo import digits
from accelsim.hardware.config import parse_array
from accelsim.rtlsim.harness import build_harness


def _cpu() -> float:
    """CPU seconds of this process and of its children that have ended (the simulator runs)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--arrays", default="8x8,16x16", help="arrays RxC, comma-separated; the first is the baseline")
    ap.add_argument("--repeat", type=int, default=3, help="rounds over the arrays")
    ap.add_argument("--images", type=int, default=digits.TEST_IMAGES, help="test images classified")
    args = ap.parse_args(argv)
    arrays = [parse_array(a) for a in args.arrays.split(",")]
    t0 = time.perf_counter()
    result = digits.run()
    data = digits.load(0)
    x, y, p8 = data.x_test[:args.images], data.y_test[:args.images], result.predictions_int8[:args.images]
    print(f"trained in {time.perf_counter() - t0:.1f} s; int8 accuracy {result.accuracy_int8:.2%}; "
          f"load {os.getloadavg()[0]:.2f}")
    cfgs = [digits.rtl_config(r, c) for r, c in arrays]
    for cfg in cfgs:
        build_harness(cfg)
    best: dict[str, tuple[float, float]] = {}
    bad = 0
    print(f"{'array':>6} {'round':>5} {'wall s':>7} {'CPU s':>6} {'RTL cycles':>11} {'tiles':>6} {'cycles/s':>9} "
          f"{'estimate s':>10} {'disagree':>8} {'load':>5}")
    for rnd in range(args.repeat):
        for cfg in cfgs:
            name = f"{cfg.rows}x{cfg.cols}"
            estimate = digits.rtl_estimate(cfg, len(x))[0]
            cpu0 = _cpu()
            try:
                r = digits.classify_rtl(result.qnet, x, y, p8, cfg)
            except digits.RtlMismatch as e:
                print(f"{name}: the RTL differs from the model: {e}")
                return 1
            cpu = _cpu() - cpu0
            bad += r.disagreements
            w, c = best.get(name, (r.wall_s, cpu))
            best[name] = (min(w, r.wall_s), min(c, cpu))
            print(f"{name:>6} {rnd + 1:>5} {r.wall_s:>7.1f} {cpu:>6.1f} {r.rtl_cycles:>11,} {r.tiles:>6,} "
                  f"{r.rtl_cycles / r.wall_s:>9,.0f} {estimate:>10.1f} {r.disagreements:>8} "
                  f"{os.getloadavg()[0]:>5.2f}")
    first = next(iter(best))
    for name, (w, c) in best.items():
        print(f"best {name}: wall {w:.1f} s ({w / best[first][0]:.2f} x {first}), CPU {c:.1f} s "
              f"({c / best[first][1]:.2f} x {first})")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
