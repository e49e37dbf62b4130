"""The price of pipelined folds in silicon: the pipelined PE (rtl/, shadow weight register, switch bit,
OS accumulator plus drain chain) against the serial PE of commit 63c3c50 (one accumulator, one
weight register), both synthesized with yosys at DATA_W=8, ACC_W=32 and priced with the NanGate
45 nm cell areas (accelsim.synth). Also the whole array top at 4x4, serial vs pipelined.

Usage, from the repository root: ``python -m benchmarks.bench_pe_area [--rev 63c3c50] [--array 4]
[--cache]``. Without ``--cache`` every design is synthesized fresh (a temporary cache) and the
synthesis wall times are printed; with it the user's synthesis cache is used.
"""

from __future__ import annotations

import argparse
import subprocess
import tempfile
from pathlib import Path

from accelsim.synth.area import ARRAY_TOP, PE_TOP, Synthesis, rtl_files, synthesize
from accelsim.synth.cells import CELL_AREA_UM2, GENERIC_CELL

ROOT = Path(__file__).resolve().parents[1]
PARAMS = {"DATA_W": 8, "ACC_W": 32}


def sources_at(rev: str, folder: Path) -> list[Path]:
    """The rtl/*.v files of commit ``rev``, written to ``folder``."""
    names = subprocess.run(["git", "-C", str(ROOT), "ls-tree", "--name-only", f"{rev}:rtl"], capture_output=True,
                           text=True, check=True).stdout.split()
    out = []
    for name in (n for n in names if n.endswith(".v")):
        text = subprocess.run(["git", "-C", str(ROOT), "show", f"{rev}:rtl/{name}"], capture_output=True,
                              text=True, check=True).stdout
        (folder / name).write_text(text)
        out.append(folder / name)
    return out


def table(title: str, serial: Synthesis, pipelined: Synthesis) -> None:
    a, b = serial.library_cells(), pipelined.library_cells()
    print(f"\n{title}\n")
    print("| cell | um^2 | serial | pipelined | delta um^2 |\n|:---|---:|---:|---:|---:|")
    for cell in sorted(set(a) | set(b), key=lambda c: -CELL_AREA_UM2[c] * (b.get(c, 0) - a.get(c, 0))):
        d = (b.get(cell, 0) - a.get(cell, 0)) * CELL_AREA_UM2[cell]
        print(f"| {cell} | {CELL_AREA_UM2[cell]:.3f} | {a.get(cell, 0):,} | {b.get(cell, 0):,} | {d:+,.1f} |")
    print(f"| **cells** | | {sum(a.values()):,} | {sum(b.values()):,} | |")
    print(f"| **flip-flops** | | {serial.flops} | {pipelined.flops} | |")
    print(f"| **area um^2** | | {serial.area_um2:,.1f} | {pipelined.area_um2:,.1f} | "
          f"{pipelined.area_um2 - serial.area_um2:+,.1f} |")
    print(f"\npipelined / serial area: {pipelined.area_um2 / serial.area_um2:.3f}; flip-flops "
          f"{pipelined.flops / serial.flops:.3f}; synthesis {serial.seconds:.1f} s (serial) and "
          f"{pipelined.seconds:.1f} s (pipelined){' (cached)' if serial.cached and pipelined.cached else ''}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rev", default="63c3c50", help="commit of the serial RTL")
    p.add_argument("--array", type=int, default=4, help="also compare the N x N array top (0: skip)")
    p.add_argument("--cache", action="store_true", help="use the user's synthesis cache instead of a fresh one")
    args = p.parse_args()
    assert set(GENERIC_CELL.values()) <= set(CELL_AREA_UM2)
    with tempfile.TemporaryDirectory(prefix="bench-pe-area-") as tmp:
        old = Path(tmp) / "serial"
        old.mkdir()
        serial_sources = sources_at(args.rev, old)
        cache = None if args.cache else Path(tmp) / "cache"
        serial = synthesize(PE_TOP, PARAMS, sources=serial_sources, cache_dir=cache)
        pipelined = synthesize(PE_TOP, PARAMS, sources=rtl_files(), cache_dir=cache)
        table(f"PE at DATA_W=8, ACC_W=32: serial ({args.rev}) vs pipelined (rtl/), NanGate 45 nm X1 cell areas",
              serial, pipelined)
        if args.array:
            n = args.array
            top = {"ROWS": n, "COLS": n, **PARAMS}
            serial_top = synthesize(ARRAY_TOP, top, sources=serial_sources, cache_dir=cache)
            pipelined_top = synthesize(ARRAY_TOP, top, sources=rtl_files(), cache_dir=cache)
            table(f"systolic_top {n}x{n} at DATA_W=8, ACC_W=32: serial vs pipelined", serial_top, pipelined_top)


if __name__ == "__main__":
    main()
