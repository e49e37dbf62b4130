"""Whole-process start-up of the `accelsim` command against bare Python, measured in the same run.

Usage, from the repository root: ``python benchmarks/bench_startup.py [--runs N] [--script]``.
Runs, round robin so that load on a shared machine hits every command alike, N times each:
``python -c pass``, ``python -c "import numpy"``, ``accelsim --version`` and ``accelsim simulate
vgg16 --array 32x32`` (output discarded), and prints each command's median wall time with its
ratio to ``python -c pass`` and to ``import numpy``. The targets are ``--version`` under 0.3 s and
the simulation under 0.7 s; the exit status is 1 if a median misses its target.

By default `accelsim` is ``python -m accelsim`` on this checkout (``PYTHONPATH`` = the repository
root); ``--script`` times the installed ``accelsim`` console script instead.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGETS_S = {"accelsim --version": 0.3, "accelsim simulate vgg16 --array 32x32": 0.7}


def _commands(script: bool) -> dict[str, list[str]]:
    py = sys.executable
    if script:
        exe = shutil.which("accelsim")
        if exe is None:
            sys.exit("bench_startup: --script: no `accelsim` on PATH")
        accelsim = [exe]
    else:
        accelsim = [py, "-m", "accelsim"]
    return {
        "python -c pass": [py, "-c", "pass"],
        "python -c 'import numpy'": [py, "-c", "import numpy"],
        "accelsim --version": [*accelsim, "--version"],
        "accelsim simulate vgg16 --array 32x32": [*accelsim, "simulate", "vgg16", "--array", "32x32"],
    }


def _wall(cmd: list[str], env: dict) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, cwd=ROOT, check=True)
    return time.perf_counter() - start


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=9, help="runs of each command (median reported; default 9)")
    ap.add_argument("--script", action="store_true", help="time the installed `accelsim` script")
    args = ap.parse_args()
    env = dict(os.environ)
    if not args.script:
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
    commands = _commands(args.script)
    for cmd in commands.values():  # warm the file cache and the .pyc files; not counted
        _wall(cmd, env)
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(args.runs):
        for name, cmd in commands.items():
            times[name].append(_wall(cmd, env))
    med = {name: statistics.median(t) for name, t in times.items()}
    base, numpy_s = med["python -c pass"], med["python -c 'import numpy'"]
    print(f"{'command':<40} {'median s':>9} {'min s':>7} {'x pass':>7} {'x numpy':>8}  target")
    failed = False
    for name, t in times.items():
        target = TARGETS_S.get(name)
        verdict = ""
        if target is not None:
            ok = med[name] < target
            failed |= not ok
            verdict = f"< {target:g} s {'ok' if ok else 'MISSED'}"
        print(f"{name:<40} {med[name]:>9.3f} {min(t):>7.3f} {med[name] / base:>7.1f} {med[name] / numpy_s:>8.2f}  "
              f"{verdict}")
    print(f"{args.runs} runs each, round robin; {os.cpu_count()} CPUs, load average "
          f"{', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
