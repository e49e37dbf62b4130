"""``ArrayRun``: what either model (fast or stepping) reports for one conv/linear layer."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property, partial

import numpy as np

from accelsim.lowering.requant import OUT_STAGE_CYCLES, OutputStage
from accelsim.mapping.space import Mapping

Timeline = Callable[[], tuple[np.ndarray, np.ndarray]]


def group_stages(stages: Sequence[OutputStage], groups: int) -> Sequence[OutputStage]:
    """A layer's output stages, checked: one a group."""
    if len(stages) != groups:
        raise ValueError(f"expected {groups} output stages, one a group, got {len(stages)}")
    return stages


def _given(fold_cycles: np.ndarray, compute_start: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return fold_cycles, compute_start


def fixed_timeline(fold_cycles: np.ndarray, compute_start: np.ndarray) -> Timeline:
    """A timeline that is already per-fold arrays (the stepping model's)."""
    return partial(_given, fold_cycles, compute_start)


@dataclass(frozen=True, eq=False)
class ArrayRun:
    """One layer's GEMMs (one per group, run back to back) on the array.

    Cycles count from the layer's start. ``folds``, ``compute_cycles`` (their cycles summed) and
    the rest are totals; the per-fold ``fold_cycles`` and ``compute_start`` (fold f's first beat)
    come from ``timeline`` on first use: the fast model evaluates its runs of folds without them and
    expands them only when asked (memory proportional to the folds). ``traffic`` holds the totals of
    ``accelsim.memory.traffic.FoldTraffic`` (bytes and element counts). ``outputs`` (per group,
    M x N int64, wrapped to ACC_W) and ``output_cycles`` (the cycle each element's final value
    leaves the array) are present when numbers were asked for; ``stage_outputs`` (per group, M x N
    int8) when the output stages were given too: each element leaves the stage ``OUT_STAGE_CYCLES``
    after it leaves the array (``stage_output_cycles``). ``mapping``: the mapping the folds ran (its
    chunk resolved: ``mapping.folds.mapping_for``).
    """

    dataflow: str
    m: int
    k: int
    n: int
    groups: int
    folds: int
    compute_cycles: int
    cycles: int
    stream_beats: int
    traffic: dict[str, int]
    peak_dram_bytes_per_cycle: float
    timeline: Timeline = field(repr=False)
    outputs: tuple[np.ndarray, ...] | None = None
    output_cycles: tuple[np.ndarray, ...] | None = None
    stage_outputs: tuple[np.ndarray, ...] | None = None
    mapping: Mapping | None = None

    @property
    def stage_output_cycles(self) -> tuple[np.ndarray, ...] | None:
        """The cycle each int8 output leaves the output stage (None without stage outputs)."""
        if self.stage_outputs is None or self.output_cycles is None:
            return None
        return tuple(c + OUT_STAGE_CYCLES for c in self.output_cycles)

    @cached_property
    def _expanded(self) -> tuple[np.ndarray, np.ndarray]:
        fold_cycles, compute_start = self.timeline()
        if len(fold_cycles) != self.folds or len(compute_start) != self.folds:
            raise ValueError(f"ArrayRun: the timeline has {len(fold_cycles)} folds, not {self.folds}")
        return fold_cycles, compute_start

    @property
    def fold_cycles(self) -> np.ndarray:
        """Each fold's cycles (int64, expanded on first use)."""
        return self._expanded[0]

    @property
    def compute_start(self) -> np.ndarray:
        """Each fold's first beat, from the layer's start (int64, expanded on first use)."""
        return self._expanded[1]

    @property
    def stall_cycles(self) -> int:
        return self.cycles - self.compute_cycles

    @property
    def macs(self) -> int:
        return self.m * self.k * self.n * self.groups

    @property
    def dram_read_bytes(self) -> int:
        t = self.traffic
        return t["ifmap_dram_bytes"] + t["filter_dram_bytes"]

    @property
    def dram_write_bytes(self) -> int:
        return self.traffic["write_bytes"]
