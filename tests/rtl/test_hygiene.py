"""Co-simulation process hygiene: the simulator (and make/compilers in a build) die with a killed
`accelsim cosim`; run folders and job pickles are removed; --waves states and bounds its size."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from click.testing import CliRunner

from accelsim.cli import main
from accelsim.hardware.config import ArrayConfig
from accelsim.rtlsim import gemm_folds, random_gemm, run_job
from accelsim.rtlsim.build import build_dir
from accelsim.rtlsim.run import estimate_waves_bytes, job_cycles

pytestmark = pytest.mark.rtl
REPO = Path(__file__).resolve().parents[2]


def _cosim(*args: str, env: dict | None = None) -> subprocess.Popen:
    e = {**os.environ, "PYTHONPATH": str(REPO), **(env or {})}
    return subprocess.Popen([sys.executable, "-m", "accelsim", "cosim", *args, "--format", "json"], env=e,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _name(p: psutil.Process) -> str:
    """``p``'s name, or "" once it has exited (a compiler may end between listing and asking)."""
    try:
        return p.name()
    except psutil.Error:
        return ""


def _kill_when(proc: subprocess.Popen, names: tuple[str, ...],
               timeout_s: float = 240) -> tuple[list[psutil.Process], set[str]]:
    """Wait for a descendant whose name is in ``names``, kill -9 ``proc``; the descendants seen then and the
    names of those seen while waiting."""
    parent = psutil.Process(proc.pid)
    deadline = time.monotonic() + timeout_s
    seen: set[str] = set()
    while time.monotonic() < deadline:
        with contextlib.suppress(psutil.NoSuchProcess):
            seen |= {_name(k) for k in parent.children(recursive=True)}
        if seen & set(names):
            break
        assert proc.poll() is None, "cosim ended before the process to kill appeared"
        time.sleep(0.05)
    else:
        pytest.fail(f"no {names} under accelsim cosim within {timeout_s} s")
    kids = parent.children(recursive=True)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    return kids, seen


def _gone(procs: list[psutil.Process], timeout_s: float = 10) -> list[str]:
    deadline = time.monotonic() + timeout_s
    left = procs
    while time.monotonic() < deadline:
        left = [p for p in left if _running(p)]
        if not left:
            return []
        time.sleep(0.1)
    return [f"{p.pid} {_name(p)}" for p in left]


def _running(p: psutil.Process) -> bool:
    try:
        return p.is_running() and p.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def test_kill_9_of_cosim_kills_the_simulator():
    proc = _cosim("--gemm", "160x160x160", "--array", "4x4", "--no-progress")
    kids, _ = _kill_when(proc, ("systolic_top",))
    assert _gone(kids) == []


def test_kill_9_during_a_build_kills_make_and_the_compilers(tmp_path):
    proc = _cosim("--gemm", "4x4x4", "--array", "3x5", env={"ACCELSIM_SIM_BUILD": str(tmp_path)})
    kids, seen = _kill_when(proc, ("make", "cc1plus"))
    assert seen & {"make", "cc1plus"}
    assert _gone(kids) == []


def test_run_folder_and_pickles_are_removed_unless_kept(tmp_path):
    cfg = ArrayConfig(rows=4, cols=4, dataflow="ws")
    g = random_gemm(cfg, 9, 7, 5, seed=1)
    folds = gemm_folds(cfg, "ws", g)
    runs = build_dir("verilator", cfg.rtl_parameters()) / "runs"
    result = run_job(cfg, folds, name=f"hygiene-{os.getpid()}")
    assert result.ok and result.run_dir == ""
    assert not (runs / f"hygiene-{os.getpid()}").exists()
    kept = run_job(cfg, folds, run_dir=tmp_path / "run", keep_run_dir=True)
    assert kept.ok and Path(kept.run_dir) == tmp_path / "run"
    left = {p.name for p in (tmp_path / "run").iterdir()}
    assert "sim.log" in left and not {"job.pkl", "results.pkl"} & left


def test_waves_state_their_size_and_respect_the_limit():
    cfg = ArrayConfig(rows=4, cols=4, dataflow="ws")
    assert job_cycles(cfg, [(64, 64, 64)]) == (19200, 256)
    size = estimate_waves_bytes(cfg, [(64, 64, 64)])
    r = CliRunner().invoke(main, ["cosim", "--gemm", "64x64x64", "--array", "4x4", "--waves", "--waves-limit", "100MB"])
    assert r.exit_code == 2
    assert r.stderr.strip().splitlines() == [
        (f"accelsim: error: cosim: --waves would write about {size / 1e6:,.1f} MB (estimate), above --waves-limit "
         f"100.0 MB: raise --waves-limit or co-simulate a smaller GEMM")]
    r = CliRunner().invoke(main, ["cosim", "--gemm", "9x7x5", "--array", "4x4", "--waves", "--format", "json"])
    assert r.exit_code == 0, r.output
    assert "--waves will write about" in r.stderr
    s = json.loads(r.stdout)
    written = sum(s["waves_bytes"].values())
    assert set(s["waves_bytes"]) == {"rtl", "model"}
    est = estimate_waves_bytes(cfg, [(9, 7, 5)])
    assert 0.3 * est < written < 3 * est  # the estimate is of the right size


def test_long_cosim_says_so_before_it_starts(tmp_path):
    # A fresh build cache: no rate measured on this build, so the default rate (the estimate then does
    # not depend on how fast an earlier run here was). The GEMM runs as several simulator jobs.
    e = {**os.environ, "PYTHONPATH": str(REPO), "ACCELSIM_SIM_BUILD": str(tmp_path / "sim_build")}
    proc = subprocess.Popen([sys.executable, "-m", "accelsim", "cosim", "--gemm", "512x512x512", "--array", "4x4"],
                            env=e, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        first = proc.stderr.readline()
    finally:
        proc.kill()
        proc.wait()
    cycles = job_cycles(ArrayConfig(rows=4, cols=4), [(512, 512, 512)])[0]
    assert first.startswith("cosim: this run is estimated at "), first
    assert f"({cycles:,} cycles in " in first and " simulator jobs at " in first and "a default rate" in first
    assert first.rstrip().endswith("Ctrl-C stops it")
