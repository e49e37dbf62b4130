"""Write the committed synthesis snapshot, ``accelsim/synth/snapshot.json``: the cells of the designs the
CLI defaults, the examples and the tests price, so they need no yosys at simulate or sweep time.

Usage, from the repository root: ``python -m accelsim.synth.snapshot [--check]``. Each design is
synthesized with yosys (or read from the disk cache, whose key includes the yosys version); the file
lists per design its ``design_key`` (RTL sources, top, parameters, script), top, parameters and cells
by yosys generic type. ``--check`` compares the file with fresh results instead and exits 1 when they
differ (the disk cache's entries count as results: ``ACCELSIM_CACHE_DIR=$(mktemp -d)`` synthesizes every
design again, about 2 minutes under YoWASP). Re-run it after editing the RTL or the synthesis script (a
stale entry is never used: its key no longer matches, and the design is synthesized as if it were not
there).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from accelsim.synth.area import (
    ARRAY_TOP,
    FIT_SHAPES,
    PE_TOP,
    SNAPSHOT_PATH,
    STAGE_TOP,
    array_params,
    design_key,
    pe_params,
    rtl_files,
    synth_script,
    synthesize,
)
from accelsim.synth.yosys import yosys_version

# (DATA_W, ACC_W) of the PE and array models; (ACC_W, OUT_W) of the output stage's lane.
ARRAY_VARIANTS = ((8, 32), (8, 16))
STAGE_VARIANTS = ((32, 8),)


def designs() -> list[tuple[str, dict[str, int]]]:
    """Every (top, parameters) the snapshot holds."""
    out: list[tuple[str, dict[str, int]]] = []
    for d, a in ARRAY_VARIANTS:
        out.append((PE_TOP, pe_params(d, a)))
        out += [(ARRAY_TOP, array_params(r, c, d, a)) for r, c in FIT_SHAPES]
    out += [(STAGE_TOP, {"COLS": 1, "ACC_W": a, "OUT_W": o}) for a, o in STAGE_VARIANTS]
    return out


def build(cache_dir: Path | None = None) -> dict:
    """The snapshot document, every design synthesized (or read from the disk cache), never from a snapshot."""
    sources = rtl_files()
    names = [p.name for p in sources]
    entries = []
    for top, params in designs():
        s = synthesize(top, params, cache_dir=cache_dir, snapshot=False,
                       notify=lambda msg: print(msg, file=sys.stderr))
        entries.append({"design": design_key(sources, top, params, synth_script(names, top, params)), "top": top,
                        "params": dict(sorted(params.items())), "cells": dict(sorted(s.cells.items()))})
    return {"yosys": yosys_version(), "designs": entries}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--check", action="store_true", help="compare the committed file with fresh synthesis")
    p.add_argument("--output", type=Path, default=SNAPSHOT_PATH, help="the file to write (or check)")
    args = p.parse_args(argv)
    doc = build()
    text = json.dumps(doc, indent=1) + "\n"
    if args.check:
        ok = args.output.exists() and json.loads(args.output.read_text())["designs"] == doc["designs"]
        print(f"{args.output}: {'up to date' if ok else 'DIFFERS from fresh synthesis'}")
        return 0 if ok else 1
    args.output.write_text(text)
    print(f"wrote {args.output}: {len(doc['designs'])} designs ({doc['yosys']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
