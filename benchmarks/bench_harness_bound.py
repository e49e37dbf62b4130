"""The fast harness's ceiling: the RTL played with no cocotb and no Python, one process and two at once.

Usage, from the repository root: ``python -m benchmarks.bench_harness_bound [--arrays 8,16] [--batches 4]``

Per square array (pipelined WS, int8 operands, 32-bit accumulators, the int8 output stage present as in the fast
harness), a 32n x 32n x 32n GEMM's stimulus and output-stage files are written once (``Stimulus.file_bytes`` /
``stage_bytes``); a small Verilog top (below) instantiates ``harness_top`` with the same DPI-C file I/O
(``rtl/tb/harness_io.cpp``), pulses ``go`` for ``--batches`` batches and finishes; it is built with
``verilator --binary --timing`` (the fast harness's Verilator flags, the project's MAKEFLAGS) into a temporary
folder. The binary then runs alone and two copies at once: RTL cycles per second of each, the aggregate rate of
the pair, and the CPU seconds. This is what the fast harness can reach on this machine with zero harness-side
Python and zero cocotb: the bound behind the 1,000,000 cycles/s target (benchmarks/README.md).
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from accelsim.hardware.config import ArrayConfig
from accelsim.rtlsim.env import setup_env
from accelsim.rtlsim.gemm import random_gemm
from accelsim.rtlsim.harness import BUILD_ARGS, harness_sources, stimulus

DRIVER = """
module bound_top;
  parameter ROWS = 8, COLS = 8, OUT_W = 8, BATCHES = 4;
  reg rst = 1'b1, go = 1'b0;
  wire clk, running, finished, io_error;
  wire [31:0] cap_count, q_count;
  harness_top #(.ROWS(ROWS), .COLS(COLS), .OUT_W(OUT_W)) h (
      .clk(clk), .rst(rst), .go(go), .running(running), .finished(finished),
      .cap_count(cap_count), .q_count(q_count), .io_error(io_error));
  integer i;
  initial begin
    @(negedge clk); @(negedge clk); rst = 1'b0;
    for (i = 0; i < BATCHES; i = i + 1) begin
      go = 1'b1; @(negedge clk); go = 1'b0;
      @(posedge finished); @(negedge clk);
      if (io_error) $fatal(1, "bound_top: harness I/O error");
    end
    $finish;
  end
endmodule
"""


def build(work: Path, n: int, batches: int) -> Path:
    """``bound_top`` over the design and the harness for an n x n array, as a Verilator binary."""
    setup_env()
    (work / "bound_top.v").write_text(DRIVER)
    params = [f"-GROWS={n}", f"-GCOLS={n}", "-GOUT_W=8", f"-GBATCHES={batches}"]
    flags = [a for a in BUILD_ARGS if a != "--no-public-flat-rw"]
    cmd = ["verilator", "--binary", *flags, "-Wno-fatal", "-Wno-lint", "-Wno-style", "--top-module", "bound_top",
           *params, *map(str, harness_sources()), str(work / "bound_top.v"), "-Mdir", str(work / "obj"), "-j", "2"]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, cwd=work)
    return work / "obj" / "Vbound_top"


def run(binary: Path, work: Path, copies: int) -> tuple[float, float]:
    """(wall seconds until every copy finished, CPU seconds of the copies) of ``copies`` runs started together."""
    cpu0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    procs = [subprocess.Popen([str(binary), f"+stim={work / 'stim.bin'}", f"+stage={work / 'stage.bin'}",
                               f"+cap={work / f'cap{i}.bin'}"], cwd=work, stdout=subprocess.DEVNULL)
             for i in range(copies)]
    if any(p.wait() for p in procs):
        raise SystemExit("a bound_top run failed")
    wall = time.perf_counter() - t0
    cpu1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--arrays", default="8,16", help="square array sizes, comma-separated")
    ap.add_argument("--batches", type=int, default=4, help="times each binary plays the GEMM")
    args = ap.parse_args(argv)
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"{'array':>6} {'cycles':>10} {'1 proc c/s':>11} {'CPU s':>6} {'2 procs c/s':>12} {'CPU s':>6} "
          f"{'pair/alone':>10}")
    for n in (int(x) for x in args.arrays.split(",")):
        cfg = ArrayConfig(rows=n, cols=n, dataflow="ws", pipeline=True)
        st = stimulus(cfg, random_gemm(cfg, 32 * n, 32 * n, 32 * n, seed=0), True)
        with tempfile.TemporaryDirectory(prefix="bound-") as tmp:
            work = Path(tmp)
            (work / "stim.bin").write_bytes(st.file_bytes(0))
            (work / "stage.bin").write_bytes(st.stage_bytes(0))
            binary = build(work, n, args.batches)
            cycles = st.cycles * args.batches
            wall1, cpu1 = run(binary, work, 1)
            wall2, cpu2 = run(binary, work, 2)
        alone, pair = cycles / wall1, 2 * cycles / wall2
        print(f"{n}x{n:<4} {cycles:>10,} {alone:>11,.0f} {cpu1:>6.2f} {pair:>12,.0f} {cpu2:>6.2f} "
              f"{pair / alone:>9.2f}x", flush=True)
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
