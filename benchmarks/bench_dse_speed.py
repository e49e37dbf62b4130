"""Design points per minute of whole VGG-16 sweeps through Dask, and resume after a kill.

Usage, from the repository root:
``python -m benchmarks.bench_dse_speed [--workers 2] [--baseline-points N] [--only fixed|search]
[--kill-resume] [--keep DIR]``

Two grids, each run with ``run_sweep`` into a fresh SQLite store on a LocalCluster of ``--workers``
processes, exactly as ``accelsim sweep`` does (cluster start-up, planning with the area of each
variant, task shipping and store writes all inside the timed wall):

- fixed: VGG-16 x 36 array shapes (8..256 squared) x 3 dataflows x 4 bandwidths x 3 SRAM sizes x
  pipeline on/off x on_chip on/off = 5,184 points, ``mapper: fixed``; target >= 10,000 points/min.
- search: VGG-16 x 36 shapes x 3 dataflows x 4 bandwidths x 3 SRAM sizes = 1,296 points,
  ``mapper: search, objective: edp``; target >= 1,000 points/min.

Each is held against the same run's serial baseline: the same grid through ``run_sweep`` with
``workers=0`` (in this process, no Dask, same store writes); ``--baseline-points N`` shortens it to a
sub-grid of about N points (fewer SRAM sizes, bandwidths, ...).

``--kill-resume``: the fixed grid through ``accelsim sweep --workers N`` in its own process group,
SIGKILLed (the client and its Dask workers) once about 40% of the points are committed, then run
again: every point must be in the store exactly once and every value of the points and layers
tables equal to the uninterrupted run's.

Prints points/min against the targets and the baseline; exit status 1 if a target is missed, a
point failed, or the resume check fails.
"""

from __future__ import annotations

import argparse
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ruamel.yaml import YAML

from accelsim.dse import load_results, plan, run_sweep, spec_from_mapping

SHAPES = [8, 16, 32, 64, 128, 256]
BASE = {"model": "vgg16", "rows": SHAPES, "cols": SHAPES, "dataflow": ["os", "ws", "is"],
        "bandwidth": [4, 8, 16, 32], "sram_kib": ["128,128,64", "256,256,128", "1024,1024,512"]}
GRIDS = {
    "fixed": ({**BASE, "name": "bench-fixed", "pipeline": [True, False], "on_chip": [True, False],
               "mapper": "fixed"}, 10_000.0),
    "search": ({**BASE, "name": "bench-search", "mapper": "search", "objective": "edp"}, 1_000.0),
}
KILL_FRACTION = 0.4


def _count(db: Path) -> int:
    try:
        with sqlite3.connect(db, timeout=30) as con:
            return con.execute("SELECT COUNT(*) FROM points").fetchone()[0]
    except sqlite3.OperationalError:  # not created yet
        return 0


def _rate(points: int, wall_s: float) -> float:
    return points / wall_s * 60 if wall_s else 0.0


def _sweep(doc: dict, db: Path, workers: int) -> tuple[int, int, float]:
    start = time.perf_counter()
    s = run_sweep(spec_from_mapping(doc), db, workers=workers, progress=False)
    return s.evaluated, s.failed, time.perf_counter() - start


def _baseline_doc(doc: dict, points: int) -> dict:
    """A sub-grid of ``doc`` with about ``points`` points, spread over the array shapes (the costly axis)."""
    sub = dict(doc, name=f"{doc['name']}-serial")
    for axis in ("sram_kib", "bandwidth", "pipeline", "on_chip", "dataflow"):
        if len(plan(spec_from_mapping(sub)).points) <= points:
            break
        if isinstance(sub.get(axis), list):
            sub[axis] = sub[axis][:1] if axis != "bandwidth" else sub[axis][1:2]
    return sub


def bench(name: str, workers: int, baseline_points: int, folder: Path) -> tuple[bool, Path]:
    doc, target = GRIDS[name]
    db = folder / f"{name}.db"
    n, failed, wall = _sweep(doc, db, workers)
    base = _baseline_doc(doc, baseline_points) if baseline_points else dict(doc, name=f"{doc['name']}-serial")
    bn, bfailed, bwall = _sweep(base, folder / f"{name}-serial.db", 0)
    rate, brate = _rate(n, wall), _rate(bn, bwall)
    print(f"{name}: {n} points in {wall:.1f} s wall on {workers} Dask workers (cluster start-up included): "
          f"{rate:,.0f} points/min; target {target:,.0f}/min: {rate / target:.2f}x")
    print(f"{name}: serial baseline, {bn} points of the grid in this process (no Dask): {bwall:.1f} s, "
          f"{brate:,.0f} points/min; "
          f"Dask / serial {rate / brate:.2f}x")
    ok = n >= min(1000, len(plan(spec_from_mapping(doc)).points)) and failed == 0 and bfailed == 0 and rate >= target
    if failed or bfailed:
        print(f"{name}: {failed + bfailed} points failed")
    return ok, db


def _tables(db: Path):
    points = load_results(db, errors=True).drop(columns=["accelsim_version"])
    with sqlite3.connect(db) as con:
        layers = con.execute("SELECT * FROM layers ORDER BY key, layer_index").fetchall()
    return points, layers


def kill_resume(workers: int, folder: Path, reference: Path | None) -> bool:
    """Kill a Dask sweep mid-run, resume it, compare with an uninterrupted run."""
    import pandas as pd

    doc, _ = GRIDS["fixed"]
    spec_file = folder / "kill.yaml"
    YAML().dump(doc, spec_file)
    db = folder / "killed.db"
    total = len(plan(spec_from_mapping(doc)).points)
    cmd = [sys.executable, "-m", "accelsim.cli", "sweep", str(spec_file), "-o", str(db), "--workers", str(workers),
           "--no-progress"]
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True, env=env)
    try:
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline and proc.poll() is None and _count(db) < KILL_FRACTION * total:
            time.sleep(0.05)
        if proc.poll() is not None:
            print(f"kill-resume: the sweep ended before the kill: {proc.stderr.read().decode()[-500:]}")
            return False
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)  # the client and its Dask worker processes
        proc.wait()
        proc.stderr.close()
    partial = _count(db)
    start = time.perf_counter()
    rerun = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, text=True)
    wall = time.perf_counter() - start
    print(f"kill-resume: killed (SIGKILL, process group) with {partial} of {total} points committed; "
          f"the rerun took {wall:.1f} s: {rerun.stderr.strip().splitlines()[-1] if rerun.stderr.strip() else ''}")
    with sqlite3.connect(db) as con:
        keys = [k for (k,) in con.execute("SELECT key FROM points")]
        layer_keys = con.execute("SELECT COUNT(DISTINCT key) FROM layers").fetchone()[0]
    once = len(keys) == len(set(keys)) == total == layer_keys
    if reference is None:
        reference = folder / "reference.db"
        _sweep(doc, reference, workers)
    (p1, l1), (p2, l2) = _tables(db), _tables(reference)
    try:
        pd.testing.assert_frame_equal(p1, p2)
        same = l1 == l2
    except AssertionError as e:
        print(f"kill-resume: points differ from the uninterrupted run: {str(e).splitlines()[0]}")
        same = False
    print(f"kill-resume: {len(keys)} points, {len(set(keys))} distinct, {layer_keys} with layers (expected {total}); "
          f"points and layers {'equal to' if same else 'DIFFERENT from'} the uninterrupted run's: "
          f"{'PASS' if rerun.returncode == 0 and once and same and partial < total else 'FAIL'}")
    return rerun.returncode == 0 and once and same and 0 < partial < total


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2, help="Dask worker processes (default 2)")
    parser.add_argument("--baseline-points", type=int, default=0,
                        help="points of the serial baseline per grid (default 0: the whole grid)")
    parser.add_argument("--only", choices=sorted(GRIDS), help="run one grid only")
    parser.add_argument("--kill-resume", action="store_true", help="also kill a fixed-grid sweep and resume it")
    parser.add_argument("--keep", metavar="DIR", help="write the stores here instead of a temporary folder")
    args = parser.parse_args(argv)
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(args.keep or tmp)
        folder.mkdir(parents=True, exist_ok=True)
        stale = list(folder.glob("*.db"))
        if stale:
            print(f"{folder} holds stores ({stale[0].name}, ...): the sweeps would skip their points", file=sys.stderr)
            return 2
        stores = {}
        for name in [args.only] if args.only else list(GRIDS):
            passed, stores[name] = bench(name, args.workers, args.baseline_points, folder)
            ok &= passed
        if args.kill_resume:
            ok &= kill_resume(args.workers, folder, stores.get("fixed"))
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
