"""Wall time and peak memory of the fast model on runs of folds, against the per-fold evaluation.

Usage, from the repository root: ``python -m benchmarks.bench_fold_runs [--cap-gib G] [--timeout S]``.

Every measurement is a fresh process (``os.wait4`` gives that child's own peak RSS):

1. ``accelsim simulate vgg19 --array 1x1 --dataflow os|ws|is`` as a user runs it (target: < 2 s and
   < 500 MB each; ~1.5e8 folds in WS).
2. The array layers of a network through the run-based fast model (``fast_layer``) and through the
   per-fold baseline (``per_fold_layer``: every fold enumerated, priced and scheduled as int64
   arrays, the model before runs), their ratio, and whether their cycles and traffic agree. The
   baseline runs under an address-space cap (``--cap-gib``, default 6) and a timeout: on VGG-19 at
   1x1 WS/IS it needs far more (~19 GB were measured), so it is reported as not finishing.
3. Every zoo network on 1x1, 32x32 and 128x128, all dataflows, in one process: the slowest
   ``simulate`` call (target < 2 s) and the process's peak RSS (target < 500 MB).

Exit status 1 if a target is missed or a baseline that finished disagrees.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import threading
import time

ZOO = ("lenet5", "alexnet", "vgg16", "vgg19", "resnet18", "resnet50", "mobilenet_v2", "squeezenet1_1", "googlenet",
       "bert-base-encoder")
TARGET_S, TARGET_MB = 2.0, 500.0


def measure(cmd: list[str], cap_bytes: int | None = None, timeout: float = 600.0) -> tuple[int, float, float, str]:
    """(exit status, wall seconds, peak RSS MB, stdout) of ``cmd`` in a fresh child process; a child still
    running after ``timeout`` seconds is killed (exit status -9)."""

    def limit() -> None:
        if cap_bytes:
            resource.setrlimit(resource.RLIMIT_AS, (cap_bytes, cap_bytes))

    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, preexec_fn=limit, text=True)
    timer = threading.Timer(timeout, proc.kill)
    timer.start()
    assert proc.stdout is not None
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)  # this child's own rusage (Popen has not reaped it)
    timer.cancel()
    proc.returncode = os.waitstatus_to_exitcode(status)
    return proc.returncode, time.perf_counter() - start, usage.ru_maxrss / 1024, out


def child(model: str, network: str, array: int, dataflow: str) -> None:
    """The array layers of ``network`` through one model; prints their summed cycles and traffic as JSON."""
    from accelsim.hardware.config import ArrayConfig
    from accelsim.systolic.fast import fast_layer, per_fold_layer
    from accelsim.workload import resolve
    from accelsim.workload.gemm import gemm_shape

    layer = fast_layer if model == "runs" else per_fold_layer
    cfg = ArrayConfig(rows=array, cols=array, dataflow=dataflow)
    total: dict[str, int] = {"cycles": 0, "compute_cycles": 0, "folds": 0}
    start = time.perf_counter()
    for node in resolve(network):
        shape = gemm_shape(node, 1)
        if shape is None:
            continue
        run = layer(cfg, *shape)
        for key in ("cycles", "compute_cycles", "folds"):
            total[key] += getattr(run, key)
        for key, value in run.traffic.items():
            total[key] = total.get(key, 0) + value
    total["seconds"] = time.perf_counter() - start  # type: ignore[assignment]
    print(json.dumps(total))


def zoo_child() -> None:
    """Every zoo network on 1x1, 32x32, 128x128, all dataflows; prints the slowest simulate call as JSON."""
    from accelsim.hardware.config import ArrayConfig
    from accelsim.systolic.simulate import simulate
    from accelsim.workload import resolve

    worst = (0.0, "")
    calls, start = 0, time.perf_counter()
    for array in (1, 32, 128):
        for dataflow in ("os", "ws", "is"):
            for name in ZOO:
                t = time.perf_counter()
                simulate(resolve(name), ArrayConfig(rows=array, cols=array, dataflow=dataflow))
                worst = max(worst, (time.perf_counter() - t, f"{name} {array}x{array} {dataflow}"))
                calls += 1
    print(json.dumps({"worst_s": worst[0], "worst": worst[1], "calls": calls, "total_s": time.perf_counter() - start}))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cap-gib", type=float, default=6.0, help="Address-space cap of a baseline process (GiB).")
    ap.add_argument("--timeout", type=float, default=300.0, help="Seconds before a baseline process is stopped.")
    ap.add_argument("--child", nargs=4, metavar=("MODEL", "NETWORK", "ARRAY", "DATAFLOW"), help=argparse.SUPPRESS)
    ap.add_argument("--zoo-child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        model, network, array, dataflow = args.child
        child(model, network, int(array), dataflow)
        return 0
    if args.zoo_child:
        zoo_child()
        return 0
    failed = False
    me = [sys.executable, "-m", "benchmarks.bench_fold_runs"]

    print("1. accelsim simulate vgg19 --array 1x1 (whole command, fresh process)")
    print(f"{'dataflow':<10}{'exit':>5}{'wall s':>9}{'peak MB':>9}  target < {TARGET_S:g} s, < {TARGET_MB:g} MB")
    for dataflow in ("os", "ws", "is"):
        code, sec, mb, _ = measure([sys.executable, "-m", "accelsim", "simulate", "vgg19", "--array", "1x1",
                                    "--dataflow", dataflow])
        miss = code != 0 or sec >= TARGET_S or mb >= TARGET_MB
        failed |= miss
        print(f"{dataflow:<10}{code:>5}{sec:>9.2f}{mb:>9.0f}{'  MISSED' if miss else ''}")

    print(f"\n2. array layers: runs vs per-fold baseline (baseline capped at {args.cap_gib:g} GiB, "
          f"{args.timeout:g} s; times in the process, without start-up)")
    print(f"{'network':<9}{'array':>7}{'flow':>5}{'folds':>13}{'runs s':>9}{'runs MB':>9}{'base s':>9}{'base MB':>9}"
          f"{'speedup':>9}{'mem x':>7}  same")
    cap = int(args.cap_gib * 2 ** 30)
    for network, array, dataflow in (("vgg19", 1, "os"), ("vgg19", 1, "ws"), ("vgg19", 1, "is"),
                                     ("vgg16", 32, "ws"), ("vgg16", 8, "is"), ("alexnet", 4, "os")):
        spec = [network, str(array), dataflow]
        code, _, mb, out = measure([*me, "--child", "runs", *spec])
        runs = json.loads(out) if code == 0 else None
        bcode, bsec, bmb, bout = measure([*me, "--child", "per-fold", *spec], cap, args.timeout)
        base = json.loads(bout) if bcode == 0 and bout else None
        if runs is None:
            failed = True
            print(f"{network:<9}{array:>7}{dataflow:>5}  the run-based child failed (exit {code})")
            continue
        same = "-" if base is None else "yes" if all(base[k] == v for k, v in runs.items() if k != "seconds") else "NO"
        failed |= same == "NO"
        b_s = f"{base['seconds']:>9.2f}" if base else f"{'>' + format(bsec, '.0f') if bcode != 0 else '?':>9}"
        b_mb = f"{bmb:>9.0f}" if base else f"{'>cap':>9}"
        ratio = f"{base['seconds'] / runs['seconds']:>9.0f}" if base else f"{'-':>9}"
        mem = f"{bmb / mb:>7.1f}" if base else f"{'-':>7}"
        print(f"{network:<9}{array:>7}{dataflow:>5}{runs['folds']:>13,}{runs['seconds']:>9.3f}{mb:>9.0f}{b_s}{b_mb}"
              f"{ratio}{mem}  {same}" + ("" if base else f"  (baseline exit {bcode}: did not finish under the cap)"))

    print("\n3. every zoo network on 1x1, 32x32, 128x128, os/ws/is (one process)")
    code, sec, mb, out = measure([*me, "--zoo-child"])
    if code != 0:
        print(f"failed (exit {code})")
        return 1
    z = json.loads(out)
    miss = z["worst_s"] >= TARGET_S or mb >= TARGET_MB
    failed |= miss
    print(f"{z['calls']} simulate calls in {z['total_s']:.2f} s; slowest {z['worst_s']:.3f} s ({z['worst']}); "
          f"peak RSS {mb:.0f} MB{'  MISSED' if miss else ''}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
