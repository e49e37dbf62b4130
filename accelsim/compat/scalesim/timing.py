"""SCALE-Sim's timing: folds, fold length, compute cycles, utilizations and the first/last demand
line of each operand (``compute/systolic_compute_{os,ws,is}.py``; docs/scalesim.md)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from accelsim.compat.scalesim.topology import TopologyLayer


def tiles(extent: int, size: int) -> tuple[int, ...]:
    """``extent`` cut into tiles of ``size`` (the last one partial)."""
    n = -(-extent // size)
    return (size,) * (n - 1) + (extent - size * (n - 1),)


@dataclass(frozen=True)
class Folds:
    """A layer mapped on a ``rows`` x ``cols`` array: ``Sr`` x ``Sc`` pinned, ``T`` streamed,
    folds in SCALE-Sim's order (column tile outer, row tile inner) for every dataflow."""

    dataflow: str
    rows: int
    cols: int
    Sr: int
    Sc: int
    T: int
    row_tiles: tuple[int, ...]
    col_tiles: tuple[int, ...]

    @classmethod
    def of(cls, layer: TopologyLayer, rows: int, cols: int, dataflow: str) -> Folds:
        M, N, K = layer.M, layer.N, layer.K
        Sr, Sc, T = {"os": (M, N, K), "ws": (K, N, M), "is": (K, M, N)}[dataflow]
        return cls(dataflow, rows, cols, Sr, Sc, T, tiles(Sr, rows), tiles(Sc, cols))

    @property
    def nr(self) -> int:
        return len(self.row_tiles)

    @property
    def nc(self) -> int:
        return len(self.col_tiles)

    @property
    def folds(self) -> int:
        return self.nr * self.nc

    @property
    def fold_len(self) -> int:
        """Demand lines per fold, partial or not."""
        R, C, T = self.rows, self.cols, self.T
        return T + R + C - 2 if self.dataflow == "os" else 2 * R + C + T - 2

    @property
    def compute_cycles(self) -> int:
        """SCALE-Sim's "Total Cycles" without stalls: the index of the last demand line."""
        return self.folds * self.fold_len - 1

    def used(self) -> list[tuple[int, int]]:
        """(used rows, used cols) of every fold, in SCALE-Sim's order."""
        return [(ru, cu) for cu in self.col_tiles for ru in self.row_tiles]


def utilization(f: Folds) -> tuple[float, float]:
    """SCALE-Sim's "Mapping Efficiency %" and "Compute Util %", per-fold values summed in its order
    (column tile outer, row tile inner) so the floats agree to the last bit."""
    pes = f.rows * f.cols
    util_len = f.fold_len if f.dataflow == "os" else 2 * f.rows + 2 * f.cols + f.T - 3
    map_eff = []
    comp_util = []
    for ru, cu in f.used():
        used = ru * cu
        if f.dataflow == "ws":
            map_eff.append((pes - (pes - used)) / pes)
        else:
            map_eff.append(used / pes)
        comp_util.append(used * f.T / (pes * util_len))
    return sum(map_eff) / len(map_eff) * 100, sum(comp_util) / len(comp_util) * 100


@dataclass(frozen=True)
class DemandSpans:
    """First and last demand line carrying a valid address, per operand."""

    ifmap_first: int
    ifmap_last: int
    filter_first: int
    filter_last: int
    ofmap_first: int
    ofmap_last: int


def demand_spans(layer: TopologyLayer, f: Folds) -> DemandSpans:
    """The demand lines on which each operand's valid addresses start and end."""
    R, Ca, K, M, N = f.rows, f.cols, layer.K, layer.M, layer.N
    nr, fold_len = f.nr, f.fold_len
    last_base = (f.folds - 1) * fold_len
    r0, rl, cl = f.row_tiles[0], f.row_tiles[-1], f.col_tiles[-1]
    if f.dataflow == "os":
        for fi in range(f.folds - 1, -1, -1):  # the last fold with a valid IFMAP element
            m0 = (fi % nr) * R  # (a window past the IFMAP edge can be wholly outside it when S > FH)
            kmax = layer.last_valid_k(np.arange(m0, m0 + f.row_tiles[fi % nr]))
            ok = kmax >= 0
            if ok.any():
                ifmap_last = fi * fold_len + int(np.max((kmax + np.arange(len(kmax)))[ok]))
                break
        else:  # pragma: no cover - fold 0's first window always starts on pixel (0, 0)
            raise AssertionError("no valid IFMAP address")
        return DemandSpans(
            ifmap_first=0, ifmap_last=ifmap_last, filter_first=0, filter_last=last_base + K - 1 + cl - 1,
            ofmap_first=K - 1 + R - r0, ofmap_last=last_base + K - 1 + R - 1 + cl - 1,
        )
    if f.dataflow == "ws":
        k_last = np.arange(K - rl, K)
        return DemandSpans(
            ifmap_first=R, ifmap_last=last_base + R + int(np.max(layer.last_valid_m(k_last) + np.arange(rl))),
            filter_first=R - r0, filter_last=last_base + R - 1,
            ofmap_first=2 * R - 1, ofmap_last=last_base + 2 * R - 1 + M - 1 + cl - 1,
        )
    for fi in range(f.folds - 1, -1, -1):  # the last fold with a valid IFMAP element
        fc, fr = divmod(fi, nr)
        m0, k0 = fc * Ca, fr * R
        v = layer.valid(m0, m0 + f.col_tiles[fc], k0, k0 + f.row_tiles[fr]).any(axis=0)
        if v.any():
            ifmap_last = fi * fold_len + R - 1 - int(np.argmax(v))
            break
    else:  # pragma: no cover - fold 0's first window always starts on pixel (0, 0)
        raise AssertionError("no valid IFMAP address")
    return DemandSpans(
        ifmap_first=R - r0, ifmap_last=ifmap_last, filter_first=R, filter_last=last_base + R + N - 1 + rl - 1,
        ofmap_first=2 * R - 1, ofmap_last=last_base + 2 * R - 1 + N - 1 + cl - 1,
    )
