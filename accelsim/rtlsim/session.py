"""One co-simulation run, start to verdict: GEMMs -> folds -> RTL job -> per-GEMM checks -> a summary.

``run_cosim`` is what ``accelsim cosim`` and ``accelsim.cosim(...)`` both call, so the CLI's JSON and
the API's ``.to_json()`` are the same document. The summary's keys are those of
``accelsim.columns`` (``COSIM_GEMMS`` per GEMM, ``COSIM_TOTALS``); the GEMM's name is ``layer``
(a network layer, ``layer/gN`` for a group, or ``gemmMxKxN``).
"""

from __future__ import annotations

import os
import re
import shutil
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from accelsim.hardware.config import ArrayConfig
from accelsim.mapping.folds import folds_for, mapping_for, used_chunk
from accelsim.mapping.space import Mapping
from accelsim.rtlsim.build import build_dir
from accelsim.rtlsim.env import CosimError
from accelsim.rtlsim.gemm import Gemm, GemmCheck, GemmTally, job_plan, job_stages, per_gemm
from accelsim.rtlsim.harness import check_widths, harness_dir, run_harness
from accelsim.rtlsim.job import DEFAULT_MODEL, FoldResult, JobResult
from accelsim.rtlsim.run import run_job
from accelsim.rtlsim.waves import first_divergence
from accelsim.systolic.beats import Beats, fold_beats

WAVE_COMPARE_LIMIT = 64 * 1024 * 1024
FAST_GOLDEN = "accelsim.systolic.fast"  # the fast harness's golden: the fast model's outputs and output cycles


def cosim_config(rows: int, cols: int, dataflow: str, acc_bits: int = 32, pipeline: bool = True) -> ArrayConfig:
    """The configuration ``accelsim cosim`` and ``accelsim.cosim()`` run: with a 32-bit accumulator the int8
    output stage (``out_bits = 8``, so ``OUT_W = 8`` in the RTL), else raw ``acc_bits`` outputs."""
    return ArrayConfig(rows=rows, cols=cols, dataflow=dataflow, acc_bits=acc_bits,
                       out_bits=8 if acc_bits == 32 else acc_bits, pipeline=pipeline)


def cosim_mapping(cfg: ArrayConfig, order: str | Sequence[str] | None = None,
                  chunk: int | None = None) -> Mapping | None:
    """The mapping ``accelsim cosim --order ORDER --chunk S`` (and ``accelsim.cosim(order=, chunk=)``) runs: of
    ``cfg.dataflow``, ``order`` as ``n>m>k`` or a sequence of axes, its chunk checked against the ofmap SRAM
    (``mapping_for``); None (the fixed mapping) when neither is given."""
    if order is None and chunk is None:
        return None
    axes = None if order is None else tuple(
        a.strip().lower() for a in (order.split(">") if isinstance(order, str) else order))
    return mapping_for(cfg, Mapping(cfg.dataflow, axes, chunk))


def run_cosim(cfg: ArrayConfig, gemms: Iterable[Gemm], workload: str, *, simulator: str = "verilator", seed: int = 0,
              golden: str | None = None, waves: bool = False,
              progress: Callable[[int, int], None] | None = None, keep_run_dir: bool = False,
              shapes: Sequence[tuple[int, int, int]] | None = None,
              job_limit_bytes: int | None = None, mappings: Sequence[Mapping | None] | None = None) -> dict:
    """Run ``gemms`` back to back on the RTL of ``cfg`` (built first if needed) and summarize the verdict.

    The folds run as one simulator job or, when they take more than ``job_limit_bytes`` (default
    ``gemm.MAX_JOB_BYTES``), as several (``job_plan``) one after another through the same build, each
    fold checked as it comes back (``GemmTally``); a mismatch in any job fails the run. ``gemms`` may be
    a generator (``iter_network_gemms``): with ``shapes``, their (m, k, n) in order, it is consumed one
    GEMM at a time, so only the beats of the job being built and the GEMMs its folds belong to are held.
    ``progress(done, total)`` is called as folds complete, over the whole run. The run folder's name
    carries the process id so two identical runs at once stay out of each other's way; it is removed
    afterwards unless ``keep_run_dir`` or ``waves`` (``run_dir`` is then empty); a run of several jobs
    keeps one folder per job under it. ``waves`` needs a run of one job.

    Each GEMM runs its own mapping (``mappings``, one per GEMM, parallel to ``shapes``; None: each GEMM's
    ``Gemm.mapping`` when ``gemms`` is a list, else the configuration's fixed mapping): its folds follow the
    mapping's order and chunk, and a GEMM whose dataflow's port differs from the previous fold's starts
    after that fold's ``done`` (the contract's issue rule).
    """
    model = golden or DEFAULT_MODEL
    if shapes is None:
        gemms = list(gemms)
        shapes = [g.shape for g in gemms]
        if mappings is None:
            mappings = [g.mapping for g in gemms]
    chosen = [mapping_for(cfg, mp) for mp in per_gemm(mappings, len(shapes))]
    plan = job_plan(cfg, shapes, job_limit_bytes, chosen)
    if waves and len(plan) > 1:
        raise CosimError(f"cosim: waves are written for a run of one simulator job; this one needs {len(plan)}: "
                         "co-simulate fewer or smaller GEMMs")
    total = sum(plan)
    name = re.sub(r"[^A-Za-z0-9_.-]", "_",
                  f"cosim-{workload.replace(' ', '-')}-{cfg.dataflow}-s{seed}-p{os.getpid()}")
    parent = build_dir(simulator, cfg.rtl_parameters()) / "runs" / name
    run = _Run(cfg, simulator, model, waves, keep_run_dir, progress, total)
    t0 = time.perf_counter()
    pending: list[tuple[GemmTally, Beats]] = []
    at = 0
    for g, shape, mp in zip(gemms, shapes, chosen, strict=True):
        if g.shape != tuple(shape):
            raise CosimError(f"cosim: GEMM {g.name} is {g.shape}, the plan expected {tuple(shape)}")
        if g.mapping is not None and mapping_for(cfg, g.mapping) != mp:
            raise CosimError(f"cosim: GEMM {g.name} carries the mapping {g.mapping.describe()}, the plan "
                             f"{mp.describe()}")
        folds = folds_for(cfg, *g.shape, mp)
        tally = GemmTally(cfg, g, len(folds), mp)
        run.open.append(tally)
        for fold in folds:
            pending.append((tally, fold_beats(cfg, folds.dataflow, g.a, g.b, fold)))
            if len(pending) == plan[at]:
                run.job(pending, None if len(plan) == 1 else parent / f"job{at:04d}", name)
                pending, at = [], at + 1
    if pending or at != len(plan):
        raise CosimError(f"cosim: the GEMMs gave {total - sum(plan[at:]) + len(pending)} folds, the plan {total}")
    if len(plan) > 1 and not keep_run_dir:
        shutil.rmtree(parent, ignore_errors=True)
    wall = time.perf_counter() - t0
    result = run.last
    ok = (not run.errors and run.mismatched == run.missing == 0 and run.folds_run == total
          and all(c.ok for c in run.checks))
    summary = {
        "ok": ok,
        "harness": "cycle",
        **headline(run.folds_run, run.rtl_cycles, sum(not c.ok for c in run.checks) + len(shapes) - len(run.checks),
                   wall),
        "array": f"{cfg.rows}x{cfg.cols}",
        "dataflow": cfg.dataflow,
        "pipeline": cfg.pipeline,
        "simulator": simulator,
        "parameters": cfg.rtl_parameters(),
        "dut_parameters": run.dut_parameters,
        "workload": workload,
        "seed": seed,
        "golden": model,
        "gemms": [
            {"layer": c.name, "mapping": c.mapping, "gemm_m": c.shape[0], "gemm_k": c.shape[1],
             "gemm_n": c.shape[2], "folds": c.folds,
             "mismatched_folds": c.mismatched_folds, "wrong_elements": c.wrong_elements,
             "int8_outputs": c.int8_outputs, "wrong_int8": c.wrong_int8,
             "model_cycles": c.model_cycles, "rtl_cycles": c.rtl_cycles, "ok": c.ok}
            for c in run.checks
        ],
        "totals": {
            "jobs": len(plan),
            "folds": total,
            "folds_run": run.folds_run,
            "mismatched_folds": run.mismatched + run.missing,
            "wrong_elements": sum(c.wrong_elements for c in run.checks),
            "int8_outputs": sum(c.int8_outputs for c in run.checks),
            "wrong_int8": sum(c.wrong_int8 for c in run.checks),
            "model_cycles": run.model_cycles,
            "rtl_cycles": run.rtl_cycles,
            "sim_seconds": round(run.sim_seconds, 3),
            "cycles_per_second": round(run.rtl_cycles / run.sim_seconds) if run.sim_seconds else None,
        },
        "errors": run.errors[:50],
        "run_dir": (str(parent) if keep_run_dir else "") if len(plan) > 1 else result.run_dir,
        "waves": {"rtl": result.rtl_waves, "model": result.model_waves},
        "waves_bytes": {k: os.path.getsize(p) for k, p in (("rtl", result.rtl_waves), ("model", result.model_waves))
                        if p and os.path.isfile(p)},
    }
    summary["first_divergence"] = None if ok or len(plan) > 1 else divergence(result)
    return summary


def check_fast(cfg: ArrayConfig, *, waves: bool = False, golden: str | None = None,
               simulator: str = "verilator") -> None:
    """One line for what the fast harness cannot do: waves, another golden, Icarus, widths that are not whole
    bytes (``harness.check_widths``)."""
    for given, flag, why in ((waves, "waves", "writes the cycle harness's waves"),
                             (golden is not None, "golden", "picks the cycle harness's stepping model"),
                             (simulator != "verilator", "simulator", "the fast harness runs on Verilator only")):
        if given:
            raise CosimError(f"cosim: --{flag} with --harness fast: {why}; use --harness cycle")
    check_widths(cfg)


def headline(tiles: int, rtl_cycles: int, mismatches: int, wall_s: float) -> dict:
    """The keys every cosim summary leads with, whichever harness ran (``mismatches``: GEMMs that differ from
    the golden or did not run; ``wall_s``: the run, the build excluded)."""
    return {"tiles": tiles, "rtl_cycles": rtl_cycles, "mismatches": mismatches, "wall_s": round(wall_s, 3),
            "rtl_cycles_per_s": round(rtl_cycles / wall_s) if wall_s > 0 else None}


def run_fast_cosim(cfg: ArrayConfig, gemms: Iterable[Gemm], workload: str, *, seed: int = 0, jobs: int = 1,
                   progress: Callable[[int, int], None] | None = None, keep_run_dir: bool = False,
                   shapes: Sequence[tuple[int, int, int]] | None = None,
                   mappings: Sequence[Mapping | None] | None = None) -> dict:
    """``gemms`` through the fast harness (``harness.run_harness``: ``jobs`` Verilator processes at once, the GEMMs
    handed over as they are generated) and the summary: each GEMM's verdict against the fast model, the
    headline keys, the run's times. ``progress(words played, words in all)``."""
    if shapes is None:
        gemms = list(gemms)
        shapes = [g.shape for g in gemms]
        mappings = [g.mapping for g in gemms]
    chosen = [mapping_for(cfg, mp) for mp in per_gemm(mappings, len(shapes))]
    name = re.sub(r"[^A-Za-z0-9_.-]", "_", f"fast-{workload.replace(' ', '-')}-{cfg.dataflow}-s{seed}-p{os.getpid()}")
    run_dir = harness_dir(cfg) / "runs" / name if keep_run_dir else None
    r = run_harness(cfg, gemms, jobs=jobs, progress=progress, shapes=shapes, mappings=chosen, run_dir=run_dir)
    gemm_rows = []
    for v, (m, k, n), mp in zip(r.verdicts, shapes, chosen, strict=False):
        gemm_rows.append({"layer": v.name, "mapping": mp.describe(used_chunk(cfg, mp, m, k, n)), "gemm_m": m,
                          "gemm_k": k, "gemm_n": n, "folds": v.folds, "int8_outputs": v.int8_outputs,
                          "wrong_int8": v.wrong_int8, "rtl_cycles": v.cycles, "ok": v.ok})
    errors = r.errors + [f"{v.name}: {e}" for v in r.verdicts for e in v.errors]
    tiles = sum(v.folds for v in r.verdicts)
    return {
        "ok": r.ok and len(r.verdicts) == len(shapes),
        "harness": "fast",
        **headline(tiles, r.rtl_cycles, r.mismatches + len(shapes) - len(r.verdicts), r.wall_seconds),
        "array": f"{cfg.rows}x{cfg.cols}",
        "dataflow": cfg.dataflow,
        "pipeline": cfg.pipeline,
        "simulator": "verilator",
        "parameters": cfg.rtl_parameters(),
        "workload": workload,
        "seed": seed,
        "golden": FAST_GOLDEN,
        "gemms": gemm_rows,
        "jobs": max(1, min(jobs, len(shapes))),
        "int8_outputs": sum(v.int8_outputs for v in r.verdicts),
        "wrong_int8": sum(v.wrong_int8 for v in r.verdicts),
        "errors": errors[:50],
        "run_dir": str(run_dir) if run_dir else "",
    }


class _Run:
    """The jobs of one co-simulation so far: totals, errors (fold indices over the whole run) and the
    verdicts of the GEMMs whose folds have all come back (their operands are then let go)."""

    def __init__(self, cfg: ArrayConfig, simulator: str, model: str, waves: bool, keep_run_dir: bool,
                 progress: Callable[[int, int], None] | None, total: int):
        self.cfg, self.simulator, self.model, self.waves, self.keep = cfg, simulator, model, waves, keep_run_dir
        self.progress, self.total = progress, total
        self.open: list[GemmTally] = []
        self.checks: list[GemmCheck] = []
        self.errors: list[str] = []
        self.dut_parameters: dict[str, int] | None = None
        self.folds_run = self.missing = self.mismatched = self.rtl_cycles = self.model_cycles = 0
        self.sim_seconds = 0.0
        self.jobs = 0
        self.last = JobResult({}, None)

    def job(self, pending: list[tuple[GemmTally, Beats]], run_dir: Path | None, name: str) -> None:
        offset = self.folds_run + self.missing
        progress = self.progress
        step = None if progress is None else (lambda done, _total: progress(offset + done, self.total))
        result = run_job(self.cfg, [b for _, b in pending], simulator=self.simulator, waves=self.waves,
                         name=name, run_dir=run_dir, model=self.model, progress=step, keep_run_dir=self.keep,
                         stages=job_stages(self.cfg, [t.gemm for t, _ in pending]))
        for f in result.folds:
            f.index += offset
        self.jobs += 1
        prefix = f"job {self.jobs}: " if run_dir is not None else ""
        self.errors += [prefix + e for e in result.all_errors()]
        if self.dut_parameters is None:
            self.dut_parameters = result.dut_parameters
        self.folds_run += len(result.folds)
        self.missing += len(pending) - len(result.folds)
        self.mismatched += result.mismatched_folds
        self.rtl_cycles += result.rtl_cycles
        self.model_cycles += result.model_cycles
        self.sim_seconds += result.sim_seconds
        back: list[FoldResult | None] = [*result.folds]
        back += [None] * (len(pending) - len(back))  # folds that never ran (the simulator stopped)
        for (tally, bt), fr in zip(pending, back, strict=True):
            tally.add(bt, fr)
        while self.open and self.open[0].complete:
            c = self.open.pop(0).check()
            c.rtl_c = c.rtl_q = None
            self.checks.append(c)
        self.last = result


def divergence(result: JobResult) -> dict | None:
    """Where the model's waves first leave the RTL's (Verilator VCDs up to 64 MB; FST is not read)."""
    rtl, model = result.rtl_waves, result.model_waves
    if not (rtl and model and rtl.endswith(".vcd") and Path(rtl).stat().st_size <= WAVE_COMPARE_LIMIT):
        return None
    hit = first_divergence(rtl, model, since_ns=result.folds[0].start_ns if result.folds else 0.0)
    return None if hit is None else dict(zip(("time_ns", "signal", "rtl", "model"), hit, strict=True))
