"""Per-layer mapping search vs the fixed mapping: network cycles, DRAM bytes, energy, EDP and search time.

Usage, from the repository root: ``python -m benchmarks.bench_mapper [--models vgg16,alexnet]
[--arrays 32x32,128x128] [--dataflows os,ws,is] [--repeat 5] [--no-leakage] [--format md|text]``.

For each network, array and base dataflow (the default memory: 256/256/128 KiB double buffered,
16 B/cycle, pipelined folds, layers on chip), the fast engine simulates the network with ``--mapper
fixed`` (the baseline) and with ``--mapper search`` under each objective (cycles, energy, edp), and
prints the network's cycles, DRAM bytes, energy (uJ per inference) and EDP (uJ x ms) under both, the
ratios search / fixed, and the time of one simulation (the median of ``--repeat`` runs, each a fresh
search: nothing is cached between runs), CPU time of this process (one core's work, not inflated by the
machine's other load) with its ratio to the same run's fixed simulation, and wall time.
``--coverage`` instead checks the search's chunk set against every chunk: for each distinct conv/linear
layer of the networks, every dataflow x order x S from 1 to min(S_max, L) priced with the fast model,
and prints how often the search's candidates reach that full space's optimum per layer (cycles, and
energy with the same static power) and the largest gap.

Leakage is the chip's static power from the area model (``synth.area.area_breakdown``: committed
synthesis snapshot, 45 nm), as ``accelsim simulate`` prices it; ``--no-leakage`` prices dynamic energy
only. Exits 1 when a VGG-16 search takes more than 100 ms of CPU (the sweep's 1,000 points/min on 2
workers needs it) or when a search is worse than the fixed mapping on its objective.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

from accelsim.hardware.config import DATAFLOWS, OBJECTIVES, ArrayConfig, parse_array
from accelsim.mapping.folds import stream_chunk
from accelsim.mapping.space import Mapping, orders
from accelsim.memory.onchip import place
from accelsim.synth.area import area_breakdown
from accelsim.systolic.mapper import LayerKey, LayerSearch, candidates
from accelsim.systolic.simulate import simulate
from accelsim.workload import resolve
from accelsim.workload.gemm import gemm_shape

MODELS = ("vgg16", "alexnet")
ARRAYS = ("32x32", "128x128")
VGG16_TARGET_SECONDS = 0.100


def timed(repeat: int, fn):
    """(result, median wall seconds, median CPU seconds of this process) of ``repeat`` calls of ``fn``: the
    CPU time is the one core's work, what the machine's other load does not inflate."""
    wall, cpu, result = [], [], None
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        result = fn()
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return result, statistics.median(wall), statistics.median(cpu)


def summary(t: dict) -> dict:
    return {"cycles": t["cycles"], "dram_bytes": t["dram_read_bytes"] + t["dram_write_bytes"],
            "energy_uJ": t["energy_per_inference_uJ"], "edp_uJ_ms": t["edp_uJ_ms"]}


def measure(model: str, cfg: ArrayConfig, repeat: int, leakage: bool) -> list[dict]:
    """One network on ``cfg``: the fixed mapping, then the search under each objective."""
    net = resolve(model)
    leak = area_breakdown(cfg).leakage_mW if leakage else 0.0
    fixed_sim, fixed_s, fixed_cpu = timed(repeat, lambda: simulate(net, cfg, leakage_mW=leak))
    fixed = summary(fixed_sim.totals)
    rows = []
    for objective in OBJECTIVES:
        sim, secs, cpu = timed(repeat, lambda objective=objective: simulate(net, cfg, mapper="search",
                                                                            objective=objective, leakage_mW=leak))
        got = summary(sim.totals)
        changed = sum(1 for name, mp in sim.mappings.items() if mp != fixed_sim.mappings[name])
        rows.append({"model": model, "array": f"{cfg.rows}x{cfg.cols}", "dataflow": cfg.dataflow,
                     "objective": objective, "leakage_mW": leak, "fixed": fixed, "search": got,
                     "ratio": {k: got[k] / fixed[k] if fixed[k] else 1.0 for k in fixed},
                     "changed": changed, "layers": len(sim.mappings), "search_s": secs, "fixed_s": fixed_s,
                     "search_cpu_s": cpu, "fixed_cpu_s": fixed_cpu})
    return rows


def worse(r: dict) -> bool:
    key = {"cycles": "cycles", "energy": "energy_uJ", "edp": "edp_uJ_ms"}[r["objective"]]
    return r["search"][key] > r["fixed"][key] * (1 + 1e-9)


def table(rows: list[dict]) -> str:
    head = ("| network | array | objective | cycles fixed | cycles search | ratio | DRAM MB fixed | DRAM MB search | "
            "ratio | energy uJ fixed | energy uJ search | ratio | EDP ratio | layers changed | search ms CPU | "
            "fixed ms CPU | time ratio | search ms wall |")
    lines = [head, "|---|---|---|" + "---:|" * 15]
    for r in rows:
        f, s, q = r["fixed"], r["search"], r["ratio"]
        lines.append(
            f"| {r['model']} | {r['array']} {r['dataflow'].upper()} | {r['objective']} | {f['cycles']:,} | "
            f"{s['cycles']:,} | {q['cycles']:.3f} | {f['dram_bytes'] / 1e6:,.1f} | {s['dram_bytes'] / 1e6:,.1f} | "
            f"{q['dram_bytes']:.3f} | {f['energy_uJ']:,.1f} | {s['energy_uJ']:,.1f} | {q['energy_uJ']:.3f} | "
            f"{q['edp_uJ_ms']:.3f} | {r['changed']}/{r['layers']} | {r['search_cpu_s'] * 1e3:.1f} | "
            f"{r['fixed_cpu_s'] * 1e3:.1f} | {r['search_cpu_s'] / r['fixed_cpu_s']:.1f}x | {r['search_s'] * 1e3:.1f} |")
    return "\n".join(lines)


def coverage(models: list[str], arrays: list[str], leakage: bool) -> list[dict]:
    """Per network and array: the search's candidate set vs every chunk S, layer by layer (module docstring)."""
    out = []
    for model in models:
        net = resolve(model)
        for array in arrays:
            r, c = parse_array(array)
            cfg = ArrayConfig(rows=r, cols=c)
            leak = area_breakdown(cfg).leakage_mW if leakage else 0.0
            where = place(net, cfg)
            keys = {LayerKey(s.m, s.k, s.n, s.count, where[node.layer.name].ifmap_on_chip,
                             where[node.layer.name].output_on_chip)
                    for node in net if (s := gemm_shape(node, 1)) is not None}
            hits = {"cycles": 0, "energy": 0}
            gap = {"cycles": 1.0, "energy": 1.0}
            priced = 0
            for key in sorted(keys, key=lambda k: (k.m, k.k, k.n)):
                search = LayerSearch(cfg, key, leakage_mW=leak)
                every = [Mapping(df, order, chunk) for df in DATAFLOWS for order in orders(df)
                         for chunk in ((None,) if df == "os" else range(1, min(stream_chunk(cfg),
                                                                            Mapping(df).flow.stream_length(
                                                                                key.m, key.k, key.n)) + 1))]
                full = [search.price(mp) for mp in every]
                mine = [search.price(mp) for mp in candidates(cfg, key.m, key.k, key.n)]
                priced += len(full)
                for obj, value in (("cycles", lambda p: p.cycles), ("energy", lambda p: p.total_pJ)):
                    best, got = min(map(value, full)), min(map(value, mine))
                    hits[obj] += got <= best * (1 + 1e-12)
                    gap[obj] = max(gap[obj], got / best)
            out.append({"model": model, "array": array, "layers": len(keys), "priced": priced, "hits": hits,
                        "gap": gap})
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default=",".join(MODELS))
    ap.add_argument("--arrays", default=",".join(ARRAYS))
    ap.add_argument("--dataflows", default=",".join(DATAFLOWS))
    ap.add_argument("--repeat", type=int, default=5, help="runs per timing (the median is reported)")
    ap.add_argument("--no-leakage", action="store_true", help="dynamic energy only (no static power)")
    ap.add_argument("--format", choices=("md", "text"), default="md")
    ap.add_argument("--coverage", action="store_true", help="the chunk set vs every chunk S (module docstring)")
    args = ap.parse_args()
    if args.coverage:
        print("| network | array | distinct layers | mappings priced | cycles: set = optimum | worst set/optimum | "
              "energy: set = optimum | worst set/optimum |\n|---|---|---:|---:|---:|---:|---:|---:|")
        for r in coverage(args.models.split(","), args.arrays.split(","), not args.no_leakage):
            h, g, n = r["hits"], r["gap"], r["layers"]
            print(f"| {r['model']} | {r['array']} | {n} | {r['priced']:,} | {h['cycles']}/{n} | {g['cycles']:.4f} | "
                  f"{h['energy']}/{n} | {g['energy']:.4f} |")
        return
    rows: list[dict] = []
    for model in args.models.split(","):
        for array in args.arrays.split(","):
            r, c = parse_array(array)
            for df in args.dataflows.split(","):
                rows += measure(model, ArrayConfig(rows=r, cols=c, dataflow=df), args.repeat, not args.no_leakage)
    print(table(rows))
    slow = [r for r in rows if r["model"] == "vgg16" and r["search_cpu_s"] > VGG16_TARGET_SECONDS]
    bad = [r for r in rows if worse(r)]
    vgg = [r["search_cpu_s"] for r in rows if r["model"] == "vgg16"]
    if vgg:
        print(f"\nVGG-16 search (simulate --mapper search, CPU time of one core): median "
              f"{statistics.median(vgg) * 1e3:.1f} ms, max {max(vgg) * 1e3:.1f} ms per network (target <= "
              f"{VGG16_TARGET_SECONDS * 1e3:.0f} ms)")
    for r in slow:
        print(f"SLOW: {r['model']} {r['array']} {r['dataflow']} {r['objective']}: {r['search_cpu_s'] * 1e3:.1f} ms",
              file=sys.stderr)
    for r in bad:
        print(f"WORSE THAN FIXED: {r['model']} {r['array']} {r['dataflow']} {r['objective']}", file=sys.stderr)
    sys.exit(1 if slow or bad else 0)


if __name__ == "__main__":
    main()
