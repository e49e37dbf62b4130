"""Run a co-simulation job: build (once) the DUT, launch the simulator once for all folds, read the verdict.

The simulator runs in a guarded process group (``accelsim.rtlsim.proc``): it dies with accelsim.
The job and results pickles are deleted once read, and the run folder too unless it is kept
(``keep_run_dir``) or holds waves. Before a run, ``estimate_seconds`` (the folds' cycles from the
fold timing rule at the cycles-per-second rate measured by the last run of the same build, or a
default measured on a 2-core machine) and ``estimate_waves_bytes`` say what a run will cost.
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from accelsim.hardware.config import ArrayConfig
from accelsim.lowering.requant import OutputStage
from accelsim.mapping.folds import runs_for
from accelsim.mapping.space import Mapping
from accelsim.rtlsim.build import build, build_dir
from accelsim.rtlsim.env import TOPLEVEL, CosimError, setup_env
from accelsim.rtlsim.job import DEFAULT_MODEL, JOB_ENV, Job, JobResult
from accelsim.rtlsim.proc import guard_runner
from accelsim.systolic.beats import Beats

_counter = itertools.count()
RATE_FILE = "seconds_per_cycle.json"
START_SECONDS = 2.0  # simulator start, cocotb and the model's import, measured with Verilator on 2 cores
# Bytes of waves per simulated cycle, a + b x PEs, fitted to Verilator VCDs of random int8 GEMMs on
# 4x4 and 8x8 arrays (64x64x64: 145 MB + 17 MB over 19,200 cycles; 133 MB + 17 MB over 5,568 cycles).
RTL_WAVES_BYTES_PER_CYCLE = (2100, 340)
MODEL_WAVES_BYTES_PER_CYCLE = (210, 44)


def job_cycles(cfg: ArrayConfig, shapes: Sequence[tuple[int, int, int]],
               mappings: Sequence[Mapping | None] | None = None) -> tuple[int, int]:
    """(compute cycles, folds) of the GEMMs ``shapes`` back to back on ``cfg`` (``mappings``: one per GEMM,
    None: the fixed one), from the fold timing rule (what the model and the RTL take), without building any
    beats."""
    cycles = folds = 0
    for (m, k, n), mp in zip(shapes, mappings or [None] * len(shapes), strict=True):
        runs = runs_for(cfg, m, k, n, mp)
        cycles += runs.cycles
        folds += runs.count
    return cycles, folds


def default_seconds_per_cycle(cfg: ArrayConfig) -> float:
    """Verilator and the model in lock step on a 2-core machine (measured: 4x4 51 us, 8x8 131 us, 16x16 182 us)."""
    return 40e-6 + 5e-6 * (cfg.rows + cfg.cols)


def seconds_per_cycle(cfg: ArrayConfig, simulator: str = "verilator") -> tuple[float, bool]:
    """(seconds per cycle, measured?) for this build: the last run's rate, else the default."""
    path = build_dir(simulator, cfg.rtl_parameters()) / RATE_FILE
    try:
        value = float(json.loads(path.read_text())["seconds_per_cycle"])
        if value > 0:
            return value, True
    except (OSError, ValueError, KeyError, TypeError):
        pass
    return default_seconds_per_cycle(cfg), False


def estimate_seconds(cfg: ArrayConfig, shapes: Sequence[tuple[int, int, int]], simulator: str = "verilator",
                     jobs: int = 1, mappings: Sequence[Mapping | None] | None = None, *,
                     per_cycle: float | None = None, cycles: int | None = None) -> float:
    """Wall seconds a run of the GEMMs ``shapes`` in ``jobs`` simulator runs (one after another) should take
    once the DUT is built.

    ``per_cycle``: wall seconds per cycle (default: the cycle harness's, ``seconds_per_cycle``; the fast harness
    passes ``harness.seconds_per_cycle``, its processes at once included); ``cycles``: what the run plays
    (default ``job_cycles``, the folds back to back: a bound on pipelined folds)."""
    per_cycle = seconds_per_cycle(cfg, simulator)[0] if per_cycle is None else per_cycle
    cycles = job_cycles(cfg, shapes, mappings)[0] if cycles is None else cycles
    return jobs * START_SECONDS + cycles * per_cycle


def estimate_waves_bytes(cfg: ArrayConfig, shapes: Sequence[tuple[int, int, int]],
                         mappings: Sequence[Mapping | None] | None = None) -> int:
    """Bytes of RTL VCD plus model VCD that a run of ``shapes`` with waves writes (Icarus's FST is smaller)."""
    cycles = sum(job_cycles(cfg, shapes, mappings))  # plus one reset cycle a fold, a bound on the idle ones
    per_cycle = sum(a + b * cfg.pes for a, b in (RTL_WAVES_BYTES_PER_CYCLE, MODEL_WAVES_BYTES_PER_CYCLE))
    return cycles * per_cycle


def _record_rate(bdir: Path, result: JobResult) -> None:
    if result.sim_seconds <= 0 or result.rtl_cycles <= 1000:  # short runs measure start-up, not the rate
        return
    tmp = bdir / f".{RATE_FILE}.{os.getpid()}"
    try:
        tmp.write_text(json.dumps({"seconds_per_cycle": result.sim_seconds / result.rtl_cycles,
                                   "cycles": result.rtl_cycles}))
        os.replace(tmp, bdir / RATE_FILE)
    except OSError:
        tmp.unlink(missing_ok=True)


def watch_files(paths: Sequence[Path], callback: Callable[[int], None], stop: threading.Event) -> None:
    """Until ``stop``: every 0.2 s, the sum of the progress files' first numbers (work done by several simulator
    processes), to ``callback`` when it changed."""
    last = None
    while not stop.wait(0.2):
        done = 0
        for path in paths:
            try:
                done += int(path.read_text().split()[0])
            except (OSError, ValueError, IndexError):
                continue
        if done != last:
            callback(done)
            last = done


def run_job(
    cfg: ArrayConfig,
    folds: list[Beats],
    *,
    simulator: str = "verilator",
    waves: bool = False,
    model: str = DEFAULT_MODEL,
    name: str | None = None,
    run_dir: str | Path | None = None,
    dut_parameters: dict[str, int] | None = None,
    progress: Callable[[int, int], None] | None = None,
    keep_run_dir: bool = False,
    pipeline: bool | None = None,
    gaps: Sequence[int] | None = None,
    stages: Sequence[OutputStage] | None = None,
) -> JobResult:
    """Drive ``folds`` back to back through the RTL of ``cfg`` in one simulator run and check every one.

    ``run_dir`` (default ``<build dir>/runs/<name>``) receives the job, the results, the simulator
    log and, with ``waves``, the RTL waves (Verilator ``rtl.vcd``, Icarus ``rtl.fst``) next to the
    model's ``model.vcd``. ``dut_parameters`` builds the DUT with other parameters than the
    configuration claims (to show that the testbench's read-back catches it). ``progress(done, total)``
    is called as folds complete. The run folder is removed afterwards unless ``keep_run_dir`` or
    ``waves`` (then ``result.run_dir`` is empty); a simulator crash keeps it for its log.
    ``pipeline`` (default ``cfg.pipeline``) is the issue rule; ``gaps[i]`` idle cycles come before
    fold i's first beat on top of the earliest cycle the rule allows. ``stages[i]`` is the output stage of
    fold i's GEMM (the configuration must have the stage, ``cfg.output_stage``): the final rows pass it and
    the int8 rows are checked too (None: the stage is not used).
    """
    if gaps is not None and (len(gaps) != len(folds) or any(int(g) < 0 for g in gaps)):
        raise ValueError("run_job: one idle gap >= 0 per fold")
    if stages is not None and (len(stages) != len(folds) or not cfg.output_stage):
        raise ValueError("run_job: one output stage per fold, on a configuration with the stage (ACC_W 32, out_bits 8)")
    claimed = cfg.rtl_parameters()
    bdir = build(simulator, dut_parameters or claimed)
    run = Path(run_dir) if run_dir else bdir / "runs" / (name or f"job-{os.getpid()}-{next(_counter)}")
    if run.exists():
        shutil.rmtree(run)
    run.mkdir(parents=True)
    results_path, progress_path = run / "results.pkl", run / "progress"
    rtl_waves = run / ("rtl.vcd" if simulator == "verilator" else "rtl.fst")
    model_waves = run / "model.vcd"
    job_path = run / "job.pkl"
    Job(claimed, list(folds), str(results_path), str(progress_path), model,
        str(model_waves) if waves else None, pipeline=cfg.pipeline if pipeline is None else pipeline,
        gaps=None if gaps is None else [int(g) for g in gaps],
        stages=None if stages is None else list(stages)).save(job_path)

    setup_env()
    from cocotb_tools.runner import get_runner

    runner = guard_runner(get_runner(simulator))
    test_args, plusargs = [], []
    if waves and simulator == "verilator":
        test_args = ["--trace-file", str(rtl_waves)]
    elif waves:
        plusargs = [f"+dumpfile_path={rtl_waves}"]
    stop = threading.Event()
    watcher = None
    if progress is not None:
        total = len(folds)  # the testbench writes its folds done (tb.Progress)
        watcher = threading.Thread(target=watch_files, args=([progress_path], lambda done: progress(done, total), stop),
                                   daemon=True)
        watcher.start()
    t0 = time.perf_counter()
    failure = None
    try:
        runner.test(
            test_module="accelsim.rtlsim.tb",
            hdl_toplevel=TOPLEVEL,
            hdl_toplevel_lang="verilog",
            build_dir=str(bdir),
            test_dir=str(run),
            extra_env={JOB_ENV: str(job_path)},
            waves=waves,
            test_args=test_args,
            plusargs=plusargs,
            log_file=str(run / "sim.log"),
            results_xml=str(run / "results.xml"),
        )
    except (SystemExit, RuntimeError) as e:
        # cocotb's runner exits when a test fails; the verdict is in the results file either way.
        failure = e
    finally:
        stop.set()
        if watcher is not None:
            watcher.join()
        job_path.unlink(missing_ok=True)
    wall = time.perf_counter() - t0
    if not results_path.exists():
        log = run / "sim.log"
        tail = log.read_text(errors="replace").splitlines()[-30:] if log.exists() else []
        raise CosimError(f"the {simulator} run in {run} ended without results ({failure}):\n" + "\n".join(tail))
    try:
        result = JobResult.load(results_path)
    finally:
        results_path.unlink(missing_ok=True)
    if not waves and not dut_parameters:
        _record_rate(bdir, result)
    result.run_dir = str(run)
    result.wall_seconds = wall
    if waves:
        result.rtl_waves = str(rtl_waves) if rtl_waves.exists() else None
        result.model_waves = str(model_waves) if model_waves.exists() else None
    if not (keep_run_dir or waves):
        shutil.rmtree(run, ignore_errors=True)
        result.run_dir = ""
    if progress is not None:
        progress(len(result.folds), len(folds))
    return result
