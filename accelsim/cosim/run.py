"""Run a co-simulation job: build (once) the DUT, launch the simulator once for all folds, read the verdict."""

from __future__ import annotations

import itertools
import os
import shutil
import threading
import time
from collections.abc import Callable
from pathlib import Path

from accelsim.cosim.build import build
from accelsim.cosim.env import TOPLEVEL, CosimError, setup_env
from accelsim.cosim.job import DEFAULT_MODEL, JOB_ENV, Job, JobResult
from accelsim.hardware.config import ArrayConfig
from accelsim.systolic.beats import Beats

_counter = itertools.count()


def _watch(path: Path, callback: Callable[[int, int], None], stop: threading.Event) -> None:
    last = None
    while not stop.wait(0.2):
        try:
            done, total = map(int, path.read_text().split())
        except (OSError, ValueError):
            continue
        if (done, total) != last:
            callback(done, total)
            last = (done, total)


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
) -> JobResult:
    """Drive ``folds`` back to back through the RTL of ``cfg`` in one simulator run and check every one.

    ``run_dir`` (default ``<build dir>/runs/<name>``) receives the job, the results, the simulator
    log and, with ``waves``, the RTL waves (Verilator ``rtl.vcd``, Icarus ``rtl.fst``) next to the
    model's ``model.vcd``. ``dut_parameters`` builds the DUT with other parameters than the
    configuration claims (to show that the testbench's read-back catches it). ``progress(done, total)``
    is called as folds complete.
    """
    claimed = cfg.rtl_parameters()
    bdir = build(simulator, dut_parameters or claimed)
    run = Path(run_dir) if run_dir else bdir / "runs" / (name or f"job-{os.getpid()}-{next(_counter)}")
    if run.exists():
        shutil.rmtree(run)
    run.mkdir(parents=True)
    results_path, progress_path = run / "results.pkl", run / "progress"
    rtl_waves = run / ("rtl.vcd" if simulator == "verilator" else "rtl.fst")
    model_waves = run / "model.vcd"
    Job(claimed, list(folds), str(results_path), str(progress_path), model,
        str(model_waves) if waves else None).save(run / "job.pkl")

    setup_env()
    from cocotb_tools.runner import get_runner

    runner = get_runner(simulator)
    test_args, plusargs = [], []
    if waves and simulator == "verilator":
        test_args = ["--trace-file", str(rtl_waves)]
    elif waves:
        plusargs = [f"+dumpfile_path={rtl_waves}"]
    stop = threading.Event()
    watcher = None
    if progress is not None:
        watcher = threading.Thread(target=_watch, args=(progress_path, progress, stop), daemon=True)
        watcher.start()
    t0 = time.perf_counter()
    failure = None
    try:
        runner.test(
            test_module="accelsim.cosim.tb",
            hdl_toplevel=TOPLEVEL,
            hdl_toplevel_lang="verilog",
            build_dir=str(bdir),
            test_dir=str(run),
            extra_env={JOB_ENV: str(run / "job.pkl")},
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
    wall = time.perf_counter() - t0
    if not results_path.exists():
        log = run / "sim.log"
        tail = log.read_text(errors="replace").splitlines()[-30:] if log.exists() else []
        raise CosimError(f"the {simulator} run in {run} ended without results ({failure}):\n" + "\n".join(tail))
    result = JobResult.load(results_path)
    result.run_dir = str(run)
    result.wall_seconds = wall
    if waves:
        result.rtl_waves = str(rtl_waves) if rtl_waves.exists() else None
        result.model_waves = str(model_waves) if model_waves.exists() else None
    if progress is not None:
        progress(len(result.folds), len(folds))
    return result
