"""What the host hands the testbench (``Job``) and what it hands back (``JobResult``).

Both are pickled into the run directory: the cocotb testbench runs inside the simulator's own
Python, so its inputs and results cross the process boundary as files
(``ACCELSIM_COSIM_JOB`` names the job file).
"""

from __future__ import annotations

import pickle
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from accelsim.lowering.requant import OutputStage
from accelsim.systolic.beats import Beats

DEFAULT_MODEL = "accelsim.systolic.core:ArrayCore"
JOB_ENV = "ACCELSIM_COSIM_JOB"


class Pickled:
    """Saved to and loaded from a file: jobs and results cross into and out of the simulator process."""

    def save(self, path: Path) -> None:
        with open(path, "wb") as fh:
            pickle.dump(self, fh, protocol=pickle.HIGHEST_PROTOCOL)

    @classmethod
    def load(cls, path: str | Path):
        with open(path, "rb") as fh:
            obj = pickle.load(fh)
        if not isinstance(obj, cls):
            raise TypeError(f"{path} holds a {type(obj).__name__}, not a {cls.__name__}")
        return obj


@dataclass
class Job(Pickled):
    """Folds to drive back to back through one DUT, checked against ``model`` (``module:Class``).

    ``parameters`` are the RTL parameters the configuration claims (``ArrayConfig.rtl_parameters()``);
    the testbench reads the DUT's own back and refuses to run on any difference. ``pipeline``: the
    issue rule (docs/microarchitecture.md, "Issue"); ``gaps``: idle cycles before each fold's first
    beat beyond the earliest cycle the rule allows (None: none). ``stages``: per fold, the output stage of
    its GEMM (docs/microarchitecture.md, "Output stage"; None: the job does not use the stage): the
    rows of a fold with ``last_k`` pass it with the partial sums of the block's earlier k-tiles.
    """

    parameters: dict[str, int]
    folds: list[Beats]
    results_path: str
    progress_path: str | None = None
    model: str = DEFAULT_MODEL
    model_waves_path: str | None = None
    period_ns: int = 10
    pipeline: bool = False
    gaps: list[int] | None = None
    stages: list[OutputStage] | None = None


@dataclass
class FoldResult:
    """One fold as the RTL produced it and as the model expected it. Cycles count from the fold's first beat.

    ``rtl_done`` is None when ``done`` never came. ``cycle_count_start``/``cycle_count_done`` are
    the DUT's ``cycle_count`` port in the fold's first cycle and in its ``done`` cycle; ``start`` is
    the cycle (since reset) the driver presented the fold's first beat in. ``rtl_q``/``model_q`` (rows of
    ``COLS`` int8 values) and their cycles are the fold's rows after the output stage, for a fold whose
    rows pass it (None otherwise).
    """

    index: int
    dataflow_port: int
    rtl_out: np.ndarray
    rtl_cycles: np.ndarray
    rtl_done: int | None
    cycle_count_start: int
    cycle_count_done: int | None
    model_out: np.ndarray
    model_cycles: np.ndarray
    model_done: int
    start_ns: float
    errors: list[str] = field(default_factory=list)
    start: int = 0
    rtl_q: np.ndarray | None = None
    rtl_q_cycles: np.ndarray | None = None
    model_q: np.ndarray | None = None
    model_q_cycles: np.ndarray | None = None

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def rtl_fold_cycles(self) -> int | None:
        return None if self.rtl_done is None else self.rtl_done + 1

    @property
    def model_fold_cycles(self) -> int:
        return self.model_done + 1


def span_cycles(folds: list[FoldResult], rtl: bool) -> int:
    """Cycles from the first fold's first beat to the cycle after the latest ``done`` (the DUT's or the
    model's); a fold whose ``done`` never came counts to its first beat only."""
    if not folds:
        return 0
    ends = [f.start + ((f.rtl_fold_cycles or 0) if rtl else f.model_fold_cycles) for f in folds]
    return max(ends) - folds[0].start


@dataclass
class JobResult(Pickled):
    """Every fold's result plus job-level errors (parameter read-back, crashes)."""

    parameters: dict[str, int]
    dut_parameters: dict[str, int] | None
    folds: list[FoldResult] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    folds_expected: int = 0
    run_dir: str = ""
    rtl_waves: str | None = None
    model_waves: str | None = None
    wall_seconds: float = 0.0
    sim_seconds: float = 0.0

    @property
    def mismatched_folds(self) -> int:
        return sum(not f.ok for f in self.folds)

    @property
    def ok(self) -> bool:
        return not self.errors and self.mismatched_folds == 0 and len(self.folds) == self.folds_expected

    @property
    def rtl_cycles(self) -> int:
        """Cycles the RTL took: from the first fold's first beat to the cycle after the last ``done``
        (``span_cycles``); without idle gaps the contract's compute cycles, sum_{f<last} O_f + F_last."""
        return span_cycles(self.folds, rtl=True)

    @property
    def model_cycles(self) -> int:
        return span_cycles(self.folds, rtl=False)

    def all_errors(self) -> list[str]:
        return [*self.errors, *(f"fold {f.index}: {e}" for f in self.folds for e in f.errors)]
