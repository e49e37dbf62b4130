"""Wall time of full-network forward passes through the lowering (im2col + GEMM).

Usage, from the repository root:
``python -m benchmarks.bench_lowering [NETWORK ...] [--batch B] [--repeat R] [--int]``
(default: alexnet and vgg16, float32, batch 1). Prints, per network, the time to draw the
parameters, the best-of-R float32 forward time, its GEMM MACs and throughput, and with
``--int`` the int8 calibration and forward times. The target is a float forward under 30 s per
network on a 2-core machine; the exit status is 1 if a network misses it.
"""

from __future__ import annotations

import argparse
import sys
import time

from accelsim.lowering import forward, forward_int, gemm_shape, init_params, quantize_network
from accelsim.workload import zoo

TARGET_S = 30.0


def _timed(fn):
    start = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - start


def _bench(name: str, batch: int, repeat: int, integer: bool) -> tuple[str, float]:
    """One table row for network ``name`` and its best float forward time."""
    net = zoo.get(name)
    params, t_params = _timed(lambda: init_params(net))
    best = min(_timed(lambda: forward(net, params, batch=batch))[1] for _ in range(repeat))
    macs = sum(s.macs for n in net.nodes if (s := gemm_shape(n, batch)) is not None) / 1e9
    line = f"{name:<12} {t_params:>9.2f} {best:>10.3f} {macs:>8.2f} {macs / best:>8.1f}"
    if integer:
        qnet, t_calib = _timed(lambda: quantize_network(net, params, batch=batch))
        _, t_int = _timed(lambda: forward_int(qnet, batch=batch))
        line += f" {t_calib:>8.2f} {t_int:>8.2f}"
    return line, best


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("networks", nargs="*", default=["alexnet", "vgg16"], help=f"any of {', '.join(zoo.ZOO)}")
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--int", dest="integer", action="store_true", help="also time the int8 forward")
    args = parser.parse_args(argv)
    unknown = [n for n in args.networks if n not in zoo.ZOO]
    if unknown:
        parser.error(f"unknown network(s) {', '.join(unknown)}: choose from {', '.join(zoo.ZOO)}")

    print(f"{'network':<12} {'params s':>9} {'forward s':>10} {'GMACs':>8} {'GMAC/s':>8}"
          + (f" {'calib s':>8} {'int8 s':>8}" if args.integer else ""))
    slow = []
    for name in args.networks:
        line, best = _bench(name, args.batch, max(1, args.repeat), args.integer)
        print(line, flush=True)
        if best > TARGET_S:
            slow.append(name)
    if slow:
        print(f"over the {TARGET_S:.0f} s target: {', '.join(slow)}")
    return 1 if slow else 0


if __name__ == "__main__":
    sys.exit(main())
