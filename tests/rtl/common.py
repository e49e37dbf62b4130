"""Shared pieces of the RTL tests: which builds run, the contract's timing formulas, job helpers.

Builds are the expensive part (cold on 2 cores: ~15 CPU s for a small array, ~60 for 16x16; with
Verilator's runtime objects cached, ~4-8 for a small one). The default run builds every shape the
issue asks for: 1x1, 2x2, 4x4, 8x8, 16x16 (marked slow, still run by default), 4x8, 8x4, 1x8,
8x1, and 8x4 and 8x8 with a narrow 16-bit accumulator. ``ACCELSIM_RTL_SHAPES=quick`` keeps five
of them (R = 1 and C = 1, R < C, R > C, square, 16x16, the 16-bit accumulator) for a quick run.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

from accelsim.hardware.config import ArrayConfig
from accelsim.rtlsim import check_gemms, gemm_folds, run_job
from accelsim.rtlsim.gemm import job_stages

# (rows, cols, acc_bits); the most expensive build first so that xdist workers start it early.
QUICK_SHAPES = [(16, 16, 32), (8, 8, 32), (8, 4, 16), (4, 8, 32), (1, 1, 32)]
EXTRA_SHAPES = [(2, 2, 32), (4, 4, 32), (1, 8, 32), (8, 1, 32), (8, 4, 32), (8, 8, 16)]
SHAPES = QUICK_SHAPES + ([] if os.environ.get("ACCELSIM_RTL_SHAPES") == "quick" else EXTRA_SHAPES)
DATAFLOWS = ("os", "ws", "is")


def shape_id(shape) -> str:
    r, c, a = shape
    return f"{r}x{c}" + ("" if a == 32 else f"-acc{a}")


shapes = pytest.mark.parametrize("shape", [
    pytest.param(s, id=shape_id(s), marks=[pytest.mark.slow] if s[0] * s[1] >= 256 else []) for s in SHAPES
])


def config(shape, dataflow: str = "ws") -> ArrayConfig:
    """The shape's configuration; a 32-bit accumulator has the int8 output stage (``OUT_W = 8``)."""
    r, c, a = shape
    return ArrayConfig(rows=r, cols=c, dataflow=dataflow, acc_bits=a, out_bits=8 if a == 32 else a)


def contract_output_cycles(dataflow: str, rows: int, cols: int, stream: int) -> np.ndarray:
    """Output-row cycles straight from docs/microarchitecture.md (independent of the models' code).

    OS: the R drain rows start at K + R + C - 2; WS/IS: row m appears in cycle R + m + R + C - 1.
    """
    if dataflow == "os":
        return stream + rows + cols - 2 + np.arange(rows)
    return 2 * rows + cols - 1 + np.arange(stream)


def contract_fold_cycles(dataflow: str, rows: int, cols: int, stream: int) -> int:
    """OS: K + 2R + C - 2; WS: 2R + C + M - 1; IS: 2R + C + N - 1."""
    return stream + 2 * rows + cols - 2 if dataflow == "os" else 2 * rows + cols + stream - 1


def contract_occupancy(dataflow: str, rows: int, stream: int, next_stream: int) -> int:
    """Pipelined issue, from the contract: WS/IS max(R, S_f); OS max(K_f, K_f + R - K_{f+1})."""
    if dataflow == "os":
        return max(stream, stream + rows - next_stream)
    return max(rows, stream)


def run_gemms(cfg: ArrayConfig, jobs, tmp_path, **kw):
    """Run ``[(gemm, dataflow or Mapping), ...]`` back to back in one simulation; (result, checks, beats per job)."""
    beats = [gemm_folds(cfg, df, g) for g, df in jobs]
    kw.setdefault("stages", job_stages(cfg, [g for (g, _), bl in zip(jobs, beats, strict=True) for _ in bl]))
    result = run_job(cfg, [b for bl in beats for b in bl], run_dir=tmp_path / "run", **kw)
    return result, check_gemms(cfg, [g for g, _ in jobs], beats, result, [df for _, df in jobs]), beats
