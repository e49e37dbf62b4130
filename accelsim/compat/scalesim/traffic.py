"""SCALE-Sim's memory traffic: SRAM request counts, per-line demand streams, the OFMAP write
buffer and the CALC-mode read buffers' DRAM traffic (``memory/*.py``; docs/scalesim.md)."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from accelsim.compat.scalesim.common import (
    ACTIVE_FRAC,
    READ_BACKING_BW,
    READ_PORT_LATENCY,
    WORD_BYTES,
    ScaleSimConventionError,
)
from accelsim.compat.scalesim.timing import Folds
from accelsim.compat.scalesim.topology import TopologyLayer

# The valid addresses of one fold's demand, by shape:
# ("skew", base, a, b): an a x b block skewed by column, element (i, j) on line base + i + j;
# ("rows", first, n, per_line): per_line elements on each of the n lines from first (unskewed).
BlockSpec = tuple[str, int, int, int]


def sram_requests(layer: TopologyLayer, f: Folds) -> tuple[int, int, int]:
    """IFMAP SRAM reads, filter SRAM reads, OFMAP SRAM writes (padding addresses included)."""
    M, N, K = layer.M, layer.N, layer.K
    if f.dataflow == "os":
        return f.nc * M * K, f.nr * K * N, M * N + f.folds * (f.rows + f.cols)
    if f.dataflow == "ws":
        return f.nc * M * K, K * N, f.nr * M * N
    return M * K, f.nc * K * N, f.nr * M * N


def line_counts(spec: BlockSpec, length: int) -> np.ndarray:
    """Valid addresses on each demand line of one fold (``length`` lines) of a ``BlockSpec``."""
    u = np.arange(length)
    if spec[0] == "skew":
        _, base, a, b = spec
        v = u - base
        cnt = np.minimum.reduce([v + 1, np.full_like(v, a), np.full_like(v, b), a + b - 1 - v])
        return np.clip(cnt, 0, None)
    _, first, n, per_line = spec
    return np.where((u >= first) & (u < first + n), per_line, 0)


class DemandStream:
    """One operand's demand over the whole layer: how many valid addresses each line carries,
    with prefix sums to map between line numbers and element numbers (SCALE-Sim's order)."""

    def __init__(self, fold_len: int, fold_specs: list[BlockSpec]):
        self.fold_len = fold_len
        self.n_lines = fold_len * len(fold_specs)
        classes: dict[BlockSpec, int] = {}
        self.class_cum: list[np.ndarray] = []
        cls = np.empty(len(fold_specs), dtype=np.int64)
        for f, spec in enumerate(fold_specs):
            if spec not in classes:
                classes[spec] = len(self.class_cum)
                cum = np.zeros(fold_len + 1, dtype=np.int64)
                np.cumsum(line_counts(spec, fold_len), out=cum[1:])
                self.class_cum.append(cum)
            cls[f] = classes[spec]
        self.cls = cls
        per_fold = np.array([c[-1] for c in self.class_cum], dtype=np.int64)[cls]
        self.fold_cum = np.zeros(len(fold_specs) + 1, dtype=np.int64)
        np.cumsum(per_fold, out=self.fold_cum[1:])
        self.total = int(self.fold_cum[-1])

    @classmethod
    def of(cls, f: Folds, spec: Callable[[int, int], BlockSpec]) -> DemandStream:
        """The stream whose fold with (used rows, used cols) has block ``spec(ru, cu)``."""
        return cls(f.fold_len, [spec(ru, cu) for ru, cu in f.used()])

    def before_line(self, line: int) -> int:
        """Elements on demand lines < line."""
        if line >= self.n_lines:
            return self.total
        f, u = divmod(line, self.fold_len)
        return int(self.fold_cum[f] + self.class_cum[self.cls[f]][u])

    def line_of(self, g: int) -> int:
        """The demand line carrying element g (0-based)."""
        f = int(np.searchsorted(self.fold_cum, g, side="right")) - 1
        u = int(np.searchsorted(self.class_cum[self.cls[f]], g - self.fold_cum[f], side="right")) - 1
        return f * self.fold_len + u


@dataclass(frozen=True)
class DramTraffic:
    """One buffer's DRAM side: words moved and the first/last cycle (``None``: not reproduced)."""

    words: int | None
    start: int
    stop: int | None

    @property
    def bw(self) -> float | None:
        """Average words per cycle over [start, stop] (SCALE-Sim's BANDWIDTH_REPORT)."""
        if self.words is None or self.stop is None:
            return None
        return self.words / (self.stop - self.start + 1)


def ofmap_stream(layer: TopologyLayer, f: Folds) -> DemandStream:
    """The OFMAP demand: each fold writes a skewed block (base line, rows, cols)."""
    R, T = f.rows, f.T
    if f.dataflow == "os":
        return DemandStream.of(f, lambda ru, cu: ("skew", T - 1 + R - ru, ru, cu))
    return DemandStream.of(f, lambda ru, cu: ("skew", 2 * R - 1, T, cu))


class _WriteBuffer:
    """memory/write_buffer.py's state: words free, elements written (``g``), elements closed
    into lines (``glf``), lines made and drained, words written to DRAM, drain cycles."""

    def __init__(self, size_bytes: int, bw: int):
        total = size_bytes // WORD_BYTES
        self.bw = bw
        self.active = math.ceil(total * ACTIVE_FRAC)
        self.lines_per_drain = -(-(total - self.active) // bw)
        self.free = total
        self.g = self.glf = self.lines = self.drained = self.words = 0
        self.start: int | None = None
        self.stop: int | None = None
        self.partial: dict[int, int] = {}

    def force(self, g: int) -> None:
        """append_to_trace_mat(force=True): close the open line."""
        k = g - self.glf
        self.lines += k // self.bw
        if k % self.bw:
            self.partial[self.lines] = k % self.bw
            self.lines += 1
        self.glf = g

    def drain_from(self, cycle: int) -> tuple[int, int]:
        """empty_drain_buf from ``cycle``: (last drain cycle, words drained)."""
        n = min(self.lines_per_drain, self.lines - self.drained)
        last = self.drained + n - 1
        data = n * self.bw - (self.bw - self.partial.get(last, self.bw))
        self.words += data
        self.drained += n
        end = cycle + n - 1
        self.start = cycle if self.start is None else self.start
        self.stop = end if self.stop is None else max(self.stop, end)
        return end, data


def replay_write_buffer(stream: DemandStream, size_bytes: int, bw: int) -> DramTraffic:
    """memory/write_buffer.py, event by event (a drain at a time), for a stall-free run."""
    b = _WriteBuffer(size_bytes, bw)
    G = stream.total
    drain_end = 0
    while True:
        # Writes on lines before cycle drain_end land while a drain is under way.
        gw = stream.before_line(drain_end)
        if gw > b.g:
            b.free -= gw - b.g
            b.g = gw
            if b.free <= 0:  # pragma: no cover - impossible with ArrayWidth words a cycle
                raise AssertionError("SCALE-Sim OFMAP buffer would stall: not modelled")
        if b.g >= G:
            break
        x = max(1, b.free - b.active + 1)  # writes until less than `active` words are free
        gt = b.g + x - 1
        if gt >= G:
            b.free -= G - b.g
            b.g = G
            break
        b.free -= x
        b.g = gt + 1
        b.force(b.g)
        drain_end, data = b.drain_from(stream.line_of(gt))
        b.free += data
    # empty_all_buffers(last demand cycle)
    b.force(G)
    cycle = stream.n_lines - 1
    while b.drained < b.lines:
        end, _ = b.drain_from(cycle)
        cycle = end + 1
    if b.start is None:  # pragma: no cover - every layer writes at least one OFMAP element
        raise AssertionError("SCALE-Sim OFMAP buffer never drained")
    return DramTraffic(b.words, b.start, b.stop)


def read_dram(distinct: int, first_request: int, sram_kb: int, read_once: DemandStream | None = None) -> DramTraffic:
    """ReadBufferEstimateBw (CALC mode): reads, start and stop cycle of one read buffer.

    ``read_once``: the operand's demand stream when every address in it is requested exactly
    once (then every request is a new address and the sliding window never re-fetches).
    """
    words = sram_kb * 1024 // WORD_BYTES
    set_words = words // 100
    half = int(ACTIVE_FRAC * 100)  # sets in the active (= the prefetch) half
    if set_words <= 0:
        raise ScaleSimConventionError("sram_kb", f"{sram_kb} KB holds fewer than 100 words")
    if distinct < half * set_words:
        # Never filled half the buffer: everything prefetched once, before cycle 0.
        sets = -(-distinct // set_words)
        cycles = -(-(sets * set_words) // READ_BACKING_BW)
        end = -1 - READ_PORT_LATENCY
        return DramTraffic(distinct, end - cycles + 1 + READ_PORT_LATENCY, end + READ_PORT_LATENCY)
    # The first 50 sets are timed to end just before the first request ...
    cycles = -(-(half * set_words) // READ_BACKING_BW)
    start = first_request - 1 - READ_PORT_LATENCY - cycles + 1 + READ_PORT_LATENCY
    if read_once is None:
        return DramTraffic(None, start, None)
    # ... and every later prefetch ends at the cycle the 50 sets before it completed; the last
    # one (at the end of the layer) reuses the window of the last completion.
    last_trigger = read_once.line_of((distinct // (half * set_words)) * half * set_words - 1)
    return DramTraffic(distinct, start, last_trigger + READ_PORT_LATENCY)


def filter_read_once(layer: TopologyLayer, f: Folds) -> DemandStream | None:
    """The filter's demand stream when every filter address is requested once (the filter in WS,
    or a single fold along the other axis), else ``None``."""
    R, K, N = f.rows, layer.K, layer.N
    if f.dataflow == "os":
        return DemandStream.of(f, lambda ru, cu: ("skew", 0, K, cu)) if f.nr == 1 else None
    if f.dataflow == "ws":
        return DemandStream.of(f, lambda ru, cu: ("rows", R - ru, ru, cu))
    return DemandStream.of(f, lambda ru, cu: ("skew", R, N, ru)) if f.nc == 1 else None


def ifmap_read_once(layer: TopologyLayer, f: Folds) -> DemandStream | None:
    """The IFMAP's demand stream when every IFMAP address is requested once (a single fold along
    the other axis, windows that neither overlap nor cross the IFMAP's edge), else ``None``."""
    L, R = layer, f.rows
    disjoint = L.S >= L.FH and L.S >= L.FW and (L.H - L.FH) % L.S == 0 and (L.W - L.FW) % L.S == 0
    if not disjoint:
        return None
    if f.dataflow == "os":
        return DemandStream.of(f, lambda ru, cu: ("skew", 0, L.K, ru)) if f.nc == 1 else None
    if f.dataflow == "ws":
        return DemandStream.of(f, lambda ru, cu: ("skew", R, L.M, ru)) if f.nc == 1 else None
    return DemandStream.of(f, lambda ru, cu: ("rows", R - ru, ru, cu))
