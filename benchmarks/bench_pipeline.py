"""Serial vs pipelined folds on whole networks: cycles, utilization and DRAM bytes, with ratios.

Usage, from the repository root: ``python -m benchmarks.bench_pipeline [--dataflow ws ...]``.

For VGG-16 and AlexNet on 32x32 and 128x128 arrays, at the default memory (256/256/128 KiB SRAMs,
16 B/cycle) and at generous memory (4 MiB SRAMs each, 10^6 B/cycle: the setting the issue measured
20.7% utilization at, serial), every mode in ``MODES`` runs through ``accelsim.systolic.simulate``
(the fast model) in this process; the ratios are against the first mode (serial), measured in the
same run: serial folds, pipelined folds (both with every tensor through DRAM, ``on_chip`` false),
and pipelined folds with the layers that stay on chip (the default machine). A mode is a name and
the ``ArrayConfig`` fields it sets: add one to ``MODES`` and it gets its own columns and ratios.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace

# (name, ArrayConfig fields the mode sets); the first is the baseline of the ratios.
MODES: list[tuple[str, dict]] = [
    ("serial", {"pipeline": False, "on_chip": False}),
    ("pipelined", {"pipeline": True, "on_chip": False}),
    ("pipelined+on-chip", {"pipeline": True, "on_chip": True}),
]
# (name, ArrayConfig fields of the memory)
MEMORIES: list[tuple[str, dict]] = [
    ("default", {}),
    ("generous", {"ifmap_sram_kib": 4096, "filter_sram_kib": 4096, "ofmap_sram_kib": 4096, "bandwidth": 1e6}),
]
NETWORKS = ("vgg16", "alexnet")
ARRAYS = (32, 128)


def _width(name: str) -> int:
    return max(len(name) + 8, 13)


def main(argv=None) -> int:
    from accelsim.hardware.config import ArrayConfig
    from accelsim.systolic.simulate import simulate
    from accelsim.workload import resolve

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataflow", nargs="+", default=["ws", "os", "is"], choices=["os", "ws", "is"])
    args = ap.parse_args(argv)
    base = MODES[0][0]
    head = f"{'network':<8}{'array':>8}{'memory':>9}{'flow':>5}"
    for name, _ in MODES:
        head += f"{name + ' cycles':>{_width(name)}}{'util':>7}{'DRAM MB':>9}"
    for name, _ in MODES[1:]:
        head += f"{base + '/' + name:>{len(base) + len(name) + 3}}{'DRAM x':>8}"
    print(head + f"{'map eff':>9}")
    start, worse = time.perf_counter(), 0
    for network in NETWORKS:
        net = resolve(network)
        for array in ARRAYS:
            for memory, mem_fields in MEMORIES:
                for dataflow in args.dataflow:
                    cfg = ArrayConfig(rows=array, cols=array, dataflow=dataflow, **mem_fields)
                    sims = [simulate(net, replace(cfg, **fields)) for _, fields in MODES]
                    line = f"{network:<8}{f'{array}x{array}':>8}{memory:>9}{dataflow:>5}"
                    for (name, _), sim in zip(MODES, sims, strict=True):
                        t = sim.totals
                        dram = t["dram_read_bytes"] + t["dram_write_bytes"]
                        line += f"{t['cycles']:>{_width(name)},}{t['utilization']:>7.1%}{dram / 1e6:>9.1f}"
                    t0 = sims[0].totals
                    for (name, _), sim in zip(MODES[1:], sims[1:], strict=True):
                        t = sim.totals
                        worse += t["cycles"] > t0["cycles"]
                        d0, d1 = (x["dram_read_bytes"] + x["dram_write_bytes"] for x in (t0, t))
                        line += f"{t0['cycles'] / t['cycles']:>{len(base) + len(name) + 2}.2f}x{d1 / d0:>7.2f}x"
                    print(line + f"{t0['mapping_efficiency']:>9.1%}")
    print(f"\n{len(NETWORKS) * len(ARRAYS) * len(MEMORIES) * len(args.dataflow) * len(MODES)} simulations in "
          f"{time.perf_counter() - start:.1f} s; modes slower than {base}: {worse}")
    return 1 if worse else 0


if __name__ == "__main__":
    sys.exit(main())
