"""One co-simulation run, start to verdict: GEMMs -> folds -> RTL job -> per-GEMM checks -> a summary.

``run_cosim`` is what ``accelsim cosim`` and ``accelsim.cosim(...)`` both call, so the CLI's JSON and
the API's ``.to_json()`` are the same document. The summary's keys are those of
``accelsim.columns`` (``COSIM_GEMMS`` per GEMM, ``COSIM_TOTALS``); the GEMM's name is ``layer``
(a network layer, ``layer/gN`` for a group, or ``gemmMxKxN``).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path

from accelsim.hardware.config import ArrayConfig
from accelsim.rtlsim.gemm import Gemm, check_gemms, gemm_folds
from accelsim.rtlsim.job import DEFAULT_MODEL, JobResult
from accelsim.rtlsim.run import run_job
from accelsim.rtlsim.waves import first_divergence

WAVE_COMPARE_LIMIT = 64 * 1024 * 1024


def run_cosim(cfg: ArrayConfig, gemms: list[Gemm], workload: str, *, simulator: str = "verilator", seed: int = 0,
              golden: str | None = None, waves: bool = False,
              progress: Callable[[int, int], None] | None = None, keep_run_dir: bool = False) -> dict:
    """Run ``gemms`` back to back on the RTL of ``cfg`` (built first if needed) and summarize the verdict.

    ``progress(done, total)`` is called as folds complete. The run folder's name carries the process id
    so two identical runs at once stay out of each other's way; it is removed afterwards unless
    ``keep_run_dir`` or ``waves`` (``run_dir`` is then empty).
    """
    model = golden or DEFAULT_MODEL
    beats = [gemm_folds(cfg, cfg.dataflow, g) for g in gemms]
    folds = [b for bl in beats for b in bl]
    name = re.sub(r"[^A-Za-z0-9_.-]", "_",
                  f"cosim-{workload.replace(' ', '-')}-{cfg.dataflow}-s{seed}-p{os.getpid()}")
    result = run_job(cfg, folds, simulator=simulator, waves=waves, name=name, model=model, progress=progress,
                     keep_run_dir=keep_run_dir)
    checks = check_gemms(cfg, gemms, beats, result)
    ok = result.ok and all(c.ok for c in checks)
    summary = {
        "ok": ok,
        "array": f"{cfg.rows}x{cfg.cols}",
        "dataflow": cfg.dataflow,
        "simulator": simulator,
        "parameters": cfg.rtl_parameters(),
        "dut_parameters": result.dut_parameters,
        "workload": workload,
        "seed": seed,
        "golden": model,
        "gemms": [
            {"layer": c.name, "gemm_m": c.shape[0], "gemm_k": c.shape[1], "gemm_n": c.shape[2], "folds": c.folds,
             "mismatched_folds": c.mismatched_folds, "wrong_elements": c.wrong_elements,
             "model_cycles": c.model_cycles, "rtl_cycles": c.rtl_cycles, "ok": c.ok}
            for c in checks
        ],
        "totals": {
            "folds": result.folds_expected,
            "folds_run": len(result.folds),
            "mismatched_folds": result.mismatched_folds + result.folds_expected - len(result.folds),
            "wrong_elements": sum(c.wrong_elements for c in checks),
            "model_cycles": result.model_cycles,
            "rtl_cycles": result.rtl_cycles,
            "sim_seconds": round(result.sim_seconds, 3),
            "cycles_per_second": round(result.rtl_cycles / result.sim_seconds) if result.sim_seconds else None,
        },
        "errors": result.all_errors()[:50],
        "run_dir": result.run_dir,
        "waves": {"rtl": result.rtl_waves, "model": result.model_waves},
        "waves_bytes": {k: os.path.getsize(p) for k, p in (("rtl", result.rtl_waves), ("model", result.model_waves))
                        if p and os.path.isfile(p)},
    }
    summary["first_divergence"] = None if ok else divergence(result)
    return summary


def divergence(result: JobResult) -> dict | None:
    """Where the model's waves first leave the RTL's (Verilator VCDs up to 64 MB; FST is not read)."""
    rtl, model = result.rtl_waves, result.model_waves
    if not (rtl and model and rtl.endswith(".vcd") and Path(rtl).stat().st_size <= WAVE_COMPARE_LIMIT):
        return None
    hit = first_divergence(rtl, model, since_ns=result.folds[0].start_ns if result.folds else 0.0)
    return None if hit is None else dict(zip(("time_ns", "signal", "rtl", "model"), hit, strict=True))
