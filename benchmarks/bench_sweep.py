"""Wall time of a 500-point design-space sweep on the embedded Dask cluster.

Usage, from the repository root:
``python -m benchmarks.bench_sweep [SPEC] [--workers N] [--keep DB]``
(default: examples/cnn-sweep.yaml, VGG-16 and AlexNet x 7 array shapes x 3 dataflows x 4 DRAM
bandwidths x 3 SRAM sizes = 504 points, 2 worker processes). Runs the sweep into a fresh
database, exactly as `accelsim sweep` does (cluster start-up and SQLite writes included), and
prints the wall time, the rate and the slowest points. The target is under 120 s on a 2-core
machine; the exit status is 1 if the sweep misses it or any point failed.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from accelsim.dse import load_results, load_spec, run_sweep
from accelsim.dse.run import DEFAULT_WORKERS

TARGET_S = 120.0
DEFAULT_SPEC = Path(__file__).resolve().parents[1] / "examples" / "cnn-sweep.yaml"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("spec", nargs="?", default=str(DEFAULT_SPEC))
    parser.add_argument("--workers", type=int, default=DEFAULT_WORKERS)
    parser.add_argument("--keep", metavar="DB", help="write the results here instead of a temporary file")
    args = parser.parse_args(argv)
    spec = load_spec(args.spec)
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(args.keep) if args.keep else Path(tmp) / "bench.db"
        if db.exists():
            print(f"{db} exists: the sweep would skip its points; remove it first", file=sys.stderr)
            return 2
        start = time.perf_counter()
        summary = run_sweep(spec, db, workers=args.workers, progress=sys.stderr.isatty())
        wall = time.perf_counter() - start
        df = load_results(db)
    print(f"spec {args.spec}: {summary.points} points ({', '.join(spec.models)}), {args.workers} workers")
    print(f"wall {wall:.1f} s (cluster start-up included), {summary.points / wall:.1f} points/s, "
          f"{summary.failed} failed; target < {TARGET_S:.0f} s")
    slow = df.nlargest(3, "folds")[["network", "rows", "cols", "dataflow", "folds", "cycles"]]
    print("most folds (the slowest points to simulate):")
    print(slow.to_string(index=False))
    ok = wall < TARGET_S and summary.failed == 0 and summary.points >= 500
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
