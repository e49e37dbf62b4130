"""Layers that stay on chip: DRAM bytes and cycles with and without them, on the same run's baseline.

Usage, from the repository root: ``python -m benchmarks.bench_onchip [--models a,b] [--arrays 32x32,128x128]
[--dataflow ws] [--pipeline/--no-pipeline] [--format md|text]``.

For each network and array (the default memory: 256/256/128 KiB double buffered, 16 B/cycle), the fast
engine simulates the network twice, ``on_chip = false`` (every tensor through DRAM: the baseline) and
``on_chip = true`` (docs/microarchitecture.md, "Layers that stay on chip"), and prints DRAM bytes,
cycles and stall cycles of both with the ratios on/off, and how many layer outputs stayed on chip and
how many layers were fused. Folds use ``ArrayConfig``'s issue rule unless ``--pipeline`` /
``--no-pipeline`` is given. Standalone (no other benchmark imported).
"""

from __future__ import annotations

import argparse
import time

from accelsim.hardware.config import ArrayConfig, parse_array
from accelsim.systolic.simulate import simulate
from accelsim.workload import resolve

MODELS = ("vgg16", "alexnet", "resnet50")
ARRAYS = ("32x32", "128x128")


def measure(model: str, cfg: ArrayConfig) -> dict:
    """One network on ``cfg`` with on-chip layers off and on: totals, ratios and placement counts."""
    net = resolve(model)
    out: dict = {"model": model, "array": f"{cfg.rows}x{cfg.cols}", "dataflow": cfg.dataflow}
    for tag, flag in (("off", False), ("on", True)):
        t0 = time.perf_counter()
        sim = simulate(net, cfg.with_(on_chip=flag))
        t = sim.totals
        out[f"{tag}_dram_bytes"] = t["dram_read_bytes"] + t["dram_write_bytes"]
        out[f"{tag}_cycles"] = t["cycles"]
        out[f"{tag}_stall_cycles"] = t["stall_cycles"]
        out[f"{tag}_seconds"] = time.perf_counter() - t0
        if flag:
            out["kept"] = sum(r["output_to"] == "sram" for r in sim.rows)
            out["fused"] = sum(r["unit"] == "fused" for r in sim.rows)
    out["dram_ratio"] = out["on_dram_bytes"] / out["off_dram_bytes"]
    out["cycle_ratio"] = out["on_cycles"] / out["off_cycles"]
    return out


def table(rows: list[dict]) -> str:
    head = ("| network | array | DRAM MB off | DRAM MB on | on/off | cycles off | cycles on | on/off | "
            "stalls off | stalls on | outputs kept | fused |")
    lines = [head, "|---|---|" + "---:|" * 10]
    for r in rows:
        lines.append(f"| {r['model']} | {r['array']} {r['dataflow'].upper()} | {r['off_dram_bytes'] / 1e6:,.1f} | "
                     f"{r['on_dram_bytes'] / 1e6:,.1f} | {r['dram_ratio']:.3f} | {r['off_cycles']:,} | "
                     f"{r['on_cycles']:,} | {r['cycle_ratio']:.3f} | {r['off_stall_cycles']:,} | "
                     f"{r['on_stall_cycles']:,} | {r['kept']} | {r['fused']} |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default=",".join(MODELS))
    ap.add_argument("--arrays", default=",".join(ARRAYS))
    ap.add_argument("--dataflow", default="ws", choices=("ws", "os", "is"))
    ap.add_argument("--pipeline", action=argparse.BooleanOptionalAction, default=None,
                    help="fold issue rule (default: ArrayConfig's)")
    args = ap.parse_args()
    rows = []
    t0 = time.perf_counter()
    for model in args.models.split(","):
        for array in args.arrays.split(","):
            r, c = parse_array(array)
            cfg = ArrayConfig(rows=r, cols=c, dataflow=args.dataflow)
            if args.pipeline is not None:
                cfg = cfg.with_(pipeline=args.pipeline)
            rows.append(measure(model, cfg))
    pipe = ArrayConfig().pipeline if args.pipeline is None else args.pipeline
    print(f"Default memory (256/256/128 KiB, double buffered, 16 B/cycle), fast engine, "
          f"{'pipelined' if pipe else 'serial'} folds; MB = 10^6 bytes; on/off = with on-chip layers / without.")
    print()
    print(table(rows))
    print()
    print(f"({time.perf_counter() - t0:.1f} s)")


if __name__ == "__main__":
    main()
