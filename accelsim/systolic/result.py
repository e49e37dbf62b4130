"""``ArrayRun``: what either model (fast or stepping) reports for one conv/linear layer."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, eq=False)
class ArrayRun:
    """One layer's GEMMs (one per group, run back to back) on the array.

    Cycles count from the layer's start. ``compute_start[f]`` is fold f's first beat;
    ``traffic`` holds the totals of ``accelsim.memory.traffic.FoldTraffic`` (bytes and element
    counts). ``outputs`` (per group, M x N int64, wrapped to ACC_W) and ``output_cycles`` (the
    cycle each element's final value leaves the array) are present when numbers were asked for.
    """

    dataflow: str
    m: int
    k: int
    n: int
    groups: int
    fold_cycles: np.ndarray
    compute_start: np.ndarray
    cycles: int
    stream_beats: int
    traffic: dict[str, int]
    peak_dram_bytes_per_cycle: float
    outputs: tuple[np.ndarray, ...] | None = None
    output_cycles: tuple[np.ndarray, ...] | None = None

    @property
    def folds(self) -> int:
        return len(self.fold_cycles)

    @property
    def compute_cycles(self) -> int:
        return int(self.fold_cycles.sum())

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
