"""One simulator build per (simulator, RTL parameter set, RTL and tool hash), shared by every run, test and worker.

Builds go through ``cocotb_tools.runner`` into
``<cache>/sim_build/<simulator>-r<ROWS>c<COLS>-d<DATA_W>-a<ACC_W>-o<OUT_W>-<hash>/`` in the per-user cache
(``accelsim.rtlsim.cache``: location, key, stamp of a finished build, rebuild of a corrupt one).
Every build can trace (Verilator: VCD, Icarus: FST); whether a run writes waves is chosen at run
time, so one build serves runs with and without waves and, since ``dataflow`` is an input port,
every dataflow. A lock file per build directory serialises concurrent builders (pytest-xdist
workers, parallel CLI calls); the loser then finds the build stamped and uses it.
Verilator's own runtime objects, identical in every build, come from ``<root>/.objcache`` through
Verilator's ``OBJCACHE`` hook (``accelsim.rtlsim.objcache``) unless the user set OBJCACHE (e.g. ccache).
Verilator and make run in a guarded process group (``accelsim.rtlsim.proc``); a caller shows
progress around ``build`` (the CLI prints periodic "building ...: elapsed" lines).
"""

from __future__ import annotations

import fcntl
import os
import stat
import sys
from contextlib import contextmanager
from pathlib import Path

from accelsim.rtlsim import cache
from accelsim.rtlsim.env import TOPLEVEL, CosimError, rtl_sources, set_make_var, setup_env, simulator_missing
from accelsim.rtlsim.proc import guard_runner

TIMESCALE = ("1ns", "1ps")
PARAMETER_NAMES = ("ROWS", "COLS", "DATA_W", "ACC_W", "OUT_W")
CPP_SUFFIXES = (".c", ".cc", ".cpp")
_built: dict[Path, str] = {}  # build folders this process has verified, with their key
sim_build_root = cache.sim_build_root


def build_name(simulator: str, parameters: dict[str, int], key: str | None = None) -> str:
    """``<simulator>-r<ROWS>c<COLS>-d<DATA_W>-a<ACC_W>-o<OUT_W>-<hash of the RTL sources and tools>``.

    ``key`` is ``cache.build_key`` when the caller already has it (it reads and hashes every source)."""
    p = parameters
    key = key or cache.build_key(simulator, rtl_sources())
    return f"{simulator}-r{p['ROWS']}c{p['COLS']}-d{p['DATA_W']}-a{p['ACC_W']}-o{p['OUT_W']}-{key}"


def build_dir(simulator: str, parameters: dict[str, int], root: Path | None = None, key: str | None = None) -> Path:
    return (root or sim_build_root()) / build_name(simulator, parameters, key)


@contextmanager
def _locked(path: Path):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _use_objcache(root: Path) -> None:
    """Route compiles through ``objcache.py`` via a launcher script in ``root/.objcache``."""
    if "OBJCACHE" in os.environ or any(f.startswith("OBJCACHE=") and not f.endswith("/.objcache/cxx")
                                       for f in os.environ.get("MAKEFLAGS", "").split()):
        return
    cache = root / ".objcache"
    launcher = cache / "cxx"
    script = f'#!/bin/sh\nexec "{sys.executable}" -I "{Path(__file__).with_name("objcache.py")}" "$@"\n'
    if any(c.isspace() for c in str(launcher)) or any(c.isspace() for c in sys.executable):
        return
    cache.mkdir(parents=True, exist_ok=True)
    if not launcher.is_file() or launcher.read_text() != script:
        tmp = cache / f".cxx-{os.getpid()}"
        tmp.write_text(script)
        tmp.chmod(tmp.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
        os.replace(tmp, launcher)
    os.environ["ACCELSIM_OBJCACHE_DIR"] = str(cache)
    set_make_var("OBJCACHE", str(launcher))


def build(simulator: str, parameters: dict[str, int], root: Path | None = None) -> Path:
    """Build (or find up to date) the DUT for ``parameters`` (``ArrayConfig.rtl_parameters()``); its folder."""
    reason = simulator_missing(simulator)
    if reason:
        raise CosimError(f"cannot build for {simulator}: {reason}")
    unknown = set(parameters) ^ set(PARAMETER_NAMES)
    if unknown:
        raise CosimError(f"RTL parameters must be exactly {', '.join(PARAMETER_NAMES)}, got {sorted(parameters)}")
    key = cache.build_key(simulator, rtl_sources())
    out = build_dir(simulator, parameters, cache.ensure_root(root or sim_build_root()), key)
    if _built.get(out) == key:
        return out
    with _locked(out.parent / f"{out.name}.lock"):
        if cache.stamp_ok(simulator, out, key):
            _built[out] = key
            return out
        cache.clear(out)  # absent, unfinished or corrupt: start clean
        _build(simulator, parameters, out)
        cache.write_stamp(simulator, out, key)
    _built[out] = key
    return out


def top_dir(simulator: str, toplevel: str, sources: list[Path], parameters: dict[str, int], root: Path | None = None,
            build_args: tuple[str, ...] = (), key: str | None = None) -> Path:
    """``build_top``'s folder (built or not): ``<toplevel>-<simulator>-<parameters>-<hash>``."""
    key = key or cache.build_key(simulator, sources, build_args)
    values = "-".join(f"{k.lower()}{v}" for k, v in sorted(parameters.items()))
    return (root or sim_build_root()) / f"{toplevel}-{simulator}-{values}-{key}"


def build_top(simulator: str, toplevel: str, sources: list[Path], parameters: dict[str, int],
              root: Path | None = None, build_args: tuple[str, ...] = ()) -> Path:
    """Build (or find up to date) a testbench top ``toplevel`` over ``sources`` (e.g. the fast harness,
    ``rtl/tb/harness_top.v``, around ``systolic_top``, with its DPI-C ``harness_io.cpp``: C/C++ sources are
    compiled into the Verilator model); its folder ``<toplevel>-<simulator>-<parameters>-<hash>``,
    cached and locked like ``build``; ``build_args`` go to the simulator's compiler (and into the key)."""
    reason = simulator_missing(simulator)
    if reason:
        raise CosimError(f"cannot build for {simulator}: {reason}")
    key = cache.build_key(simulator, sources, build_args)
    out = top_dir(simulator, toplevel, sources, parameters, cache.ensure_root(root or sim_build_root()),
                  build_args, key)
    if _built.get(out) == key:
        return out
    with _locked(out.parent / f"{out.name}.lock"):
        if cache.stamp_ok(simulator, out, key, toplevel):
            _built[out] = key
            return out
        cache.clear(out)
        _build(simulator, parameters, out, toplevel, sources, build_args)
        cache.write_stamp(simulator, out, key, toplevel)
    _built[out] = key
    return out


def _build(simulator: str, parameters: dict[str, int], out: Path, toplevel: str = TOPLEVEL,
           sources: list[Path] | None = None, build_args: tuple[str, ...] = ()) -> None:
    """Run the simulator's build into ``out`` (Verilator with the shared object cache)."""
    setup_env()
    if simulator == "verilator":
        _use_objcache(out.parent)
    from cocotb_tools.runner import get_runner

    out.mkdir(parents=True, exist_ok=True)
    log = out / "build.log"
    runner = guard_runner(get_runner(simulator))  # make and its compilers die with this process
    # C/C++ sources (DPI-C, e.g. the fast harness's I/O) go to Verilator's command line, which compiles them in
    cpp = [p for p in (sources or rtl_sources()) if p.suffix in CPP_SUFFIXES]
    try:
        runner.build(
            sources=[str(p) for p in (sources or rtl_sources()) if p not in cpp],
            hdl_toplevel=toplevel,
            build_dir=str(out),
            parameters=dict(parameters),
            waves=not build_args,
            build_args=[*build_args, *(str(p.resolve()) for p in cpp)],
            timescale=TIMESCALE,
            log_file=str(log),
        )
    except (RuntimeError, SystemExit) as e:
        tail = log.read_text(errors="replace").splitlines()[-25:] if log.exists() else []
        raise CosimError(f"{simulator} build of {out.name} failed ({e}); see {log}:\n" + "\n".join(tail)) from None
