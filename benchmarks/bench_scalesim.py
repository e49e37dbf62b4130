#!/usr/bin/env python3
"""SCALE-Sim vs accelsim on the same layers and array: cycle counts side by side, and wall time.

For every network x array x dataflow it runs

1. the real SCALE-Sim 3.0.0 (in ``.bench-venv``, through ``benchmarks/scalesim_runner.py``: its
   Python API, ``save_disk_space=True``, CALC bandwidth mode as in its shipped ``scale.cfg``),
   in a subprocess with a wall-clock timeout and an address-space limit;
2. accelsim's ``--convention scalesim`` closed form (``accelsim.compat.scalesim``);
3. accelsim's native fast model (``accelsim.systolic.fast.fast_layer``, our own cycle contract,
   docs/microarchitecture.md) when it is importable,

and prints, per layer, SCALE-Sim's "Total Cycles", the closed form's (with ``==`` when they are
identical), accelsim's native cycles, and the wall times with their ratio. See benchmarks/README.md.

    python benchmarks/bench_scalesim.py --networks alexnet --arrays 32x32 --dataflows ws
    python benchmarks/bench_scalesim.py --no-scalesim          # closed form + native only, seconds
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run from a checkout without installing accelsim

# E402: these imports need the sys.path line above.
from accelsim.compat.scalesim import scalesim_layer, topology_row  # noqa: E402
from accelsim.hardware.config import ArrayConfig, parse_array  # noqa: E402
from accelsim.workload import zoo  # noqa: E402
from accelsim.workload.layers import Conv2d  # noqa: E402

RUNNER = Path(__file__).resolve().parent / "scalesim_runner.py"
DEFAULT_VENV = ROOT / ".bench-venv"

# Exact-match keys between SCALE-Sim and the closed form (None in the closed form = not modelled).
COMPARED = ("total_cycles", "stall_cycles", "total_cycles_incl_prefetch", "mapping_efficiency", "compute_util",
            "overall_util", "ifmap_sram_reads", "filter_sram_reads", "ofmap_sram_writes", "ifmap_dram_reads",
            "filter_dram_reads", "ofmap_dram_writes")
# In USER bandwidth mode SCALE-Sim's DRAM side is another model (not reproduced): compare the array side.
COMPARED_USER = ("total_cycles", "stall_cycles", "mapping_efficiency", "compute_util", "overall_util",
                 "ifmap_sram_reads", "filter_sram_reads", "ofmap_sram_writes")


# --------------------------------------------------------------------------------------------- SCALE-Sim
def venv_python(venv: Path) -> Path:
    return venv / "bin" / "python"


def run_scalesim(job: dict, python: Path, timeout: float | None = 900.0, mem_limit_gb: float = 16.0,
                 on_layer=None) -> tuple[list[dict], dict]:
    """Run ``job`` (see scalesim_runner.py) under ``python``; returns (layer results, status).

    Layers are read as they finish, so a timeout keeps the finished ones; ``status`` has
    ``state`` ("done", "timeout", "failed"), ``wall_s`` (subprocess wall time, interpreter start
    included) and ``stderr`` (tail). ``mem_limit_gb`` caps the child's address space (0: none):
    SCALE-Sim holds whole demand matrices in memory (VGG-16 fc6 needed >12 GB).
    """
    job = {**job, "mem_limit_gb": mem_limit_gb}  # the runner sets RLIMIT_AS on itself
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    t0 = time.perf_counter()
    proc = subprocess.Popen([str(python), str(RUNNER)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True, env=env)
    proc.stdin.write(json.dumps(job))
    proc.stdin.close()
    results, state = [], "failed"
    deadline = None if not timeout else t0 + timeout

    import selectors

    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    buf = ""
    while True:
        left = None if deadline is None else deadline - time.perf_counter()
        if left is not None and left <= 0:
            state = "timeout"
            break
        if not sel.select(left):
            continue
        chunk = os.read(proc.stdout.fileno(), 1 << 16).decode()
        if not chunk:
            break
        buf += chunk
        while "\n" in buf:
            line, buf = buf.split("\n", 1)
            if not line.strip():
                continue
            rec = json.loads(line)
            if rec.get("done"):
                state = "done"
                continue
            results.append(rec)
            if on_layer:
                on_layer(rec)
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    err = proc.stderr.read()
    if state != "timeout" and proc.returncode != 0:
        state = "failed"
    return results, {"state": state, "wall_s": time.perf_counter() - t0, "returncode": proc.returncode,
                     "stderr": err[-2000:]}


# --------------------------------------------------------------------------------------------- accelsim
def native_model():
    """accelsim's own fast model, if it exists yet (it is being written alongside this benchmark)."""
    try:
        from accelsim.systolic.fast import fast_layer
        from accelsim.workload.gemm import gemm_shape
    except Exception as e:  # noqa: BLE001 - ImportError, or a half-written module
        return None, f"{type(e).__name__}: {e}"
    return (fast_layer, gemm_shape), None


def network_layers(name: str, include_fc: bool, only: set[str] | None):
    """(node, SCALE-Sim topology row) of the conv (and optionally linear) layers of a zoo network."""
    out = []
    for node in zoo.get(name):
        row = topology_row(node)
        if row is None or (not include_fc and not isinstance(node.layer, Conv2d)):
            continue
        if getattr(node.layer, "groups", 1) != 1:
            continue  # SCALE-Sim has no grouped convolution; the zoo has none
        if only and node.layer.name not in only:
            continue
        out.append((node, list(row)))
    return out


def fmt_int(v) -> str:
    return "-" if v is None else f"{v:,}"


def fmt_s(v) -> str:
    if v is None:
        return "-"
    if v >= 100:
        return f"{v:,.0f}s"
    return f"{v:.3g}s" if v >= 0.01 else f"{v * 1e3:.3g}ms"


def bench_one(net: str, layers, rows: int, cols: int, df: str, args, python: Path | None) -> dict:
    sram = {"ifmap_sram_kb": args.sram_kb, "filter_sram_kb": args.sram_kb, "ofmap_sram_kb": args.sram_kb}
    mode = args.bandwidth_mode.upper()
    title = f"{net}  {rows}x{cols}  {df.upper()}  (SRAM {args.sram_kb} KB each, {mode} bandwidth mode" + (
        f", {args.scalesim_bandwidth:g} words/cycle)" if mode == "USER" else ")")
    print(f"\n=== {title}", flush=True)

    # closed form
    closed = {}
    for _node, row in layers:
        best = None
        for _ in range(args.repeat):  # best of a few: a single call is ~1 ms, so noise matters
            t0 = time.perf_counter()
            r = scalesim_layer(*row[1:], rows=rows, cols=cols, dataflow=df, **sram)
            t = time.perf_counter() - t0
            best = t if best is None else min(best, t)
        closed[row[0]] = (r, best)

    # native
    native, why = {}, None
    model, why = native_model()
    if model:
        fast_layer, gemm_shape = model
        try:
            cfg = ArrayConfig(rows=rows, cols=cols, dataflow=df, ifmap_sram_kib=args.sram_kb,
                              filter_sram_kib=args.sram_kb, ofmap_sram_kib=args.sram_kb,
                              bandwidth=args.native_bandwidth)
            for node, row in layers:
                m, k, n, g = gemm_shape(node, 1)
                best = None
                for _ in range(args.repeat):
                    t0 = time.perf_counter()
                    run = fast_layer(cfg, m, k, n, g)
                    t = time.perf_counter() - t0
                    best = t if best is None else min(best, t)
                native[row[0]] = (run, best)
        except Exception as e:  # noqa: BLE001 - the native model is someone else's work in progress
            native, why = {}, f"{type(e).__name__}: {e}"

    # SCALE-Sim
    ss, status = {}, {"state": "skipped", "wall_s": None}
    if python is not None:
        job = {"rows": rows, "cols": cols, "dataflow": df, **sram, "bandwidth_mode": mode,
               "bandwidth": args.scalesim_bandwidth, "layers": [row for _, row in layers]}
        print(f"  running SCALE-Sim ({len(layers)} layers, timeout {args.timeout:g}s) ...", flush=True)

        def progress(rec):
            done = f"{rec['total_cycles']:,} cycles in {fmt_s(rec['wall_s'])}"
            s = "error " + rec["error"] if "error" in rec else done
            print(f"    {rec['layer']}: {s} (peak {rec['maxrss_mb']:.0f} MB)", flush=True)

        results, status = run_scalesim(job, python, args.timeout, args.mem_limit_gb, progress)
        ss = {rec["layer"]: rec for rec in results}

    # table
    head = (f"  {'layer':<10} {'SCALE-Sim':>13} {'closed form':>13} {'':2} {'native':>13} {'native comp':>13}"
            f" {'SCALE-Sim t':>11} {'closed t':>9} {'speedup':>9} {'native t':>9}")
    print(head)
    print("  " + "-" * (len(head) - 2))
    rows_out = []
    tot = {"ss_cycles": 0, "cf_cycles": 0, "ss_wall": 0.0, "cf_wall": 0.0, "nat_wall": 0.0, "complete": 0}
    for _node, row in layers:
        name = row[0]
        cf, cf_t = closed[name]
        rec = ss.get(name)
        nat = native.get(name)
        ss_cycles = None if rec is None or "error" in rec else rec["total_cycles"]
        ss_t = None if rec is None or "error" in rec else rec["wall_s"]
        mismatches = []
        if ss_cycles is not None:
            for k in COMPARED if mode == "CALC" else COMPARED_USER:
                if cf[k] is not None and rec[k] != cf[k]:
                    if isinstance(cf[k], float) and abs(rec[k] - cf[k]) <= 1e-9 * abs(rec[k]):
                        continue
                    mismatches.append(k)
        mark = "" if ss_cycles is None else ("==" if not mismatches else "!=")
        state = "" if rec is not None else ("" if status["state"] == "skipped" else f"({status['state']})")
        print(f"  {name:<10} {fmt_int(ss_cycles) if rec is not None else state:>13} {fmt_int(cf['total_cycles']):>13}"
              f" {mark:2} {fmt_int(nat[0].cycles) if nat else '-':>13} "
              f"{fmt_int(nat[0].compute_cycles) if nat else '-':>13}"
              f" {fmt_s(ss_t):>11} {fmt_s(cf_t):>9} {(f'{ss_t / cf_t:,.0f}x' if ss_t else '-'):>9}"
              f" {fmt_s(nat[1]) if nat else '-':>9}")
        if rec is not None and "error" in rec:
            print(f"             SCALE-Sim error: {rec['error']}")
        if mismatches:
            print(f"             differs in: {', '.join(mismatches)}")
        tot["cf_cycles"] += cf["total_cycles"]
        tot["cf_wall"] += cf_t
        tot["nat_wall"] += nat[1] if nat else 0.0
        if ss_cycles is not None:
            tot["ss_cycles"] += ss_cycles
            tot["ss_wall"] += ss_t
            tot["complete"] += 1
        rows_out.append({
            "layer": name, "row": row, "scalesim": rec, "closed_form": cf, "closed_form_wall_s": cf_t,
            "mismatches": mismatches,
            "native": None if not nat else {"cycles": nat[0].cycles, "compute_cycles": nat[0].compute_cycles,
                                            "stall_cycles": nat[0].stall_cycles, "folds": nat[0].folds,
                                            "wall_s": nat[1]},
        })
    n = len(layers)
    print("  " + "-" * (len(head) - 2))
    if tot["complete"] == n and n:
        same = all(not r["mismatches"] for r in rows_out)
        print(f"  {'total':<10} {fmt_int(tot['ss_cycles']):>13} {fmt_int(tot['cf_cycles']):>13} "
              f"{'==' if same else '!=':2}"
              f" {'':>13} {'':>13} {fmt_s(tot['ss_wall']):>11} {fmt_s(tot['cf_wall']):>9}"
              f" {tot['ss_wall'] / tot['cf_wall']:>8,.0f}x {fmt_s(tot['nat_wall']) if native else '-':>9}")
    else:
        print(f"  closed form total {fmt_int(tot['cf_cycles'])} cycles in {fmt_s(tot['cf_wall'])};"
              f" SCALE-Sim finished {tot['complete']}/{n} layers ({status['state']})")
    if why:
        print(f"  native model not available: {why}")
    if status["state"] in ("failed",) and status.get("stderr"):
        print("  SCALE-Sim stderr (tail):\n    " + status["stderr"].strip().replace("\n", "\n    ")[-1500:])
    if python is not None:
        print(f"  SCALE-Sim subprocess wall time {fmt_s(status['wall_s'])} (interpreter start included), "
              f"{status['state']}")
    return {"network": net, "rows": rows, "cols": cols, "dataflow": df, "sram_kb": args.sram_kb, "mode": mode,
            "scalesim_status": {k: v for k, v in status.items() if k != "stderr"}, "layers": rows_out,
            "totals": tot, "native_unavailable": why}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--networks", default="alexnet,vgg16", help="zoo networks, comma separated (default %(default)s)")
    p.add_argument("--arrays", default="32x32,128x128", help="ROWSxCOLS list (default %(default)s)")
    p.add_argument("--dataflows", default="os,ws,is", help="default %(default)s")
    p.add_argument("--layers", default="", help="only these layer names (comma separated), e.g. conv1,conv2")
    p.add_argument("--include-fc", action="store_true",
                   help="also the linear layers (as 1x1 convs); SCALE-Sim needs minutes and >12 GB for VGG fc6")
    p.add_argument("--sram-kb", type=int, default=64, help="each of the three SRAMs, KB (scale.cfg: 64)")
    p.add_argument("--bandwidth-mode", choices=("calc", "user"), default="calc",
                   help="SCALE-Sim's InterfaceBandwidth: calc (scale.cfg's, default) or user (google.cfg's); the "
                        "closed form reproduces user mode only while SCALE-Sim reports no stalls")
    p.add_argument("--scalesim-bandwidth", type=int, default=10,
                   help="words/cycle of SCALE-Sim's DRAM interface in user mode (default 10, google.cfg's)")
    p.add_argument("--native-bandwidth", type=float, default=10.0,
                   help="DRAM bytes/cycle for accelsim's native model (SCALE-Sim CALC mode never stalls)")
    p.add_argument("--timeout", type=float, default=900.0,
                   help="wall-clock limit of one SCALE-Sim run (one network x array x dataflow), s (default 900)")
    p.add_argument("--mem-limit-gb", type=float, default=16.0,
                   help="address-space limit of the SCALE-Sim process, GB (0: none; default 16)")
    p.add_argument("--venv", type=Path, default=DEFAULT_VENV, help="the venv with scalesim (default .bench-venv)")
    p.add_argument("--no-scalesim", action="store_true", help="skip SCALE-Sim (closed form and native only)")
    p.add_argument("--repeat", type=int, default=3, help="accelsim timings: best of this many calls (default 3)")
    p.add_argument("--json", type=Path, help="write all results to this JSON file")
    args = p.parse_args(argv)

    arrays = [parse_array(a) for a in args.arrays.split(",") if a.strip()]
    dataflows = [d.strip() for d in args.dataflows.split(",") if d.strip()]
    for d in dataflows:
        if d not in ("os", "ws", "is"):
            p.error(f"--dataflows: unknown dataflow {d!r}")
    only = {x.strip() for x in args.layers.split(",") if x.strip()} or None

    python = None
    if not args.no_scalesim:
        python = venv_python(args.venv)
        if not python.exists():
            p.error(f"{python} not found: create the venv with benchmarks/scalesim_env.sh, or pass --no-scalesim")

    runs = []
    for net in [x.strip() for x in args.networks.split(",") if x.strip()]:
        layers = network_layers(net, args.include_fc, only)
        if not layers:
            print(f"{net}: no layers selected")
            continue
        for rows, cols in arrays:
            for df in dataflows:
                runs.append(bench_one(net, layers, rows, cols, df, args, python))

    print("\n=== summary (SCALE-Sim wall time is per layer inside its process; speedup = SCALE-Sim / closed form)")
    for r in runs:
        t = r["totals"]
        n = len(r["layers"])
        exact = sum(1 for x in r["layers"] if x["scalesim"] and "error" not in x["scalesim"] and not x["mismatches"])
        ss = "skipped" if r["scalesim_status"]["state"] == "skipped" else (
            f"{fmt_s(t['ss_wall'])} for {t['complete']}/{n} layers" if t["complete"] else f"0/{n} layers")
        ratio = f"{t['ss_wall'] / t['cf_wall']:,.0f}x" if t["complete"] == n and n and t["ss_wall"] else "-"
        print(f"  {r['network']:<8} {r['rows']}x{r['cols']:<4} {r['dataflow'].upper()}: closed form "
              f"{fmt_s(t['cf_wall'])},"
              f" native {fmt_s(t['nat_wall']) if not r['native_unavailable'] else '-'}, SCALE-Sim {ss}"
              f" ({r['scalesim_status']['state']}), speedup {ratio}, exact {exact}/{t['complete']}")
    if args.json:
        args.json.write_text(json.dumps(runs, indent=1, default=float))
        print(f"results written to {args.json}")
    bad = sum(1 for r in runs for x in r["layers"] if x["mismatches"])
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
