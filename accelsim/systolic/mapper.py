"""Per-layer mapping search: each conv/linear layer's mapping (dataflow, fold order, chunk S) by an objective.

The mapper ``fixed`` runs every layer under the config's fixed mapping (``Mapping.fixed(cfg.dataflow)``);
``search`` prices every candidate mapping of a layer with the fast model (closed form, ``fast_layer``)
and picks the best by the objective: ``cycles``, ``energy`` (``energy.model.energy_arrays``: dynamic
energy of the layer's access counts plus ``leakage_mW`` x its time) or ``edp`` (the network's energy x
delay; below).

**Candidates** (``candidates``): every dataflow x both fold orders (``mapping.space.orders``) x, in WS
and IS, the chunks S of ``chunk_set``. Let L be the streamed axis's length (M in WS, N in IS),
S_max = ``stream_chunk(cfg)`` (the most beats whose partial sums fit the ofmap SRAM; no S above it is
legal) and R the array's rows:

- ``min(S_max, L)``: the fewest chunks, so the fewest reloads of the pinned tiles (folds, filter/ifmap
  SRAM tile reads, and DRAM re-reads when the pinned operand does not fit its SRAM);
- S_fit, the largest S whose streamed-operand block (S rows x K of A in WS, K x S columns of B in IS)
  fits the usable part of its SRAM (``memory.traffic.fits``): under the order whose outer loop is the
  chunk, that block is then read from DRAM once rather than once per tile of the other axis, at the
  price of more chunks than S_max;
- the balanced ``ceil(L / ceil(L / S))`` of both: the same number of chunks cut evenly, so no short last
  chunk whose fold costs max(R, S_f) > S_f cycles;
- R and the powers of two between R and S_max: the load/compute recurrence pairs each fold's DRAM
  transfer with another's compute (double buffering), so a shorter chunk can stall less than a longer
  one; these sample that effect.

The rest is dominated: an S below min(R, S_fit) costs max(R, S) = R cycles a fold (pipelined; serial:
the same fixed 2R + C - 1 a fold) like S = min(R, S_fit) with more folds, more pinned reloads and the
same residency; an S strictly between two listed sizes on the same side of S_fit has the residency of
the larger one with more chunks, hence more folds, reloads and fill/drain cycles, and differs only in
the stall pattern the powers of two sample.

**Pruning**: per candidate, cheap lower bounds on cycles and energy (``lower_bounds``), from closed forms
of the contract's counts: the compute cycles (``Dataflow.occupancy``/``fold_cycles`` summed over the
chunk lengths: sum of O_f plus the last fold's F) and the DRAM reads (``memory.traffic``'s reuse rule per
operand block: once if it fits, else once per pass), both exact, and the SRAM counts (tile counts per
axis). The recurrence serializes loads and writes and starts a fold only once its tiles are in, so
cycles >= max(first fold's load + compute, all loads + the last fold's F, all writes); energy >= the
exact dynamic energy of those counts plus leakage over that cycle bound. Candidates are priced
exactly in the order of their bound, and the scan stops at the first bound above the best exact cost
found so far (the fixed mapping is always priced first: its cost is reported beside the choice).

**Network EDP** = (sum_i E_i)(sum_i D_i) (E: energy, D: cycles, vector-unit layers constants) is not a
sum of per-layer terms. The search starts from the fixed mapping and repeats: lam = E / D of the current
network solution; every layer picks ``argmin E_i + lam D_i`` (keeping its current mapping unless another
is strictly better); until no layer changes. Each step never raises the network EDP: the new choice
(E', D') minimizes E' + lam D' over all per-layer choices, the current one included, so
E' + lam D' <= E + lam D = 2E; by AM-GM E' + lam D' >= 2 sqrt(lam E' D'), so sqrt(lam E' D') <= E and
E' D' <= E^2 / lam = E D. A step that changes a layer lowers E' + lam D' strictly, hence the EDP
strictly, so no solution repeats and the iteration ends. It ends on the lower convex hull of the
layers' (E_i, D_i) points; a polish then moves one layer at a time (the others fixed) to the candidate
of least exact network EDP (E_o + w E_i)(D_o + w D_i) (w: the layer shape's count), pruned by the same
product of its bounds, until no single layer improves: each move lowers the EDP strictly, so it ends
too, and a one-layer network gets its exact optimum. Cycles and energy are sums over the layers, so
the per-layer argmin is the network's. Every objective's result is therefore never worse than the fixed
mapping (a candidate of every layer); ``search`` asserts it.

Layers of equal (m, k, n, groups, on-chip flags) share one ``LayerSearch`` (VGG-16 repeats shapes).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

from accelsim.columns import SRAM_COUNTS
from accelsim.energy.model import energy_arrays
from accelsim.energy.table import DEFAULT_TABLE, EnergyTable
from accelsim.hardware.config import DATAFLOWS, MAPPERS, OBJECTIVES, ArrayConfig
from accelsim.mapping.dataflow import Dataflow
from accelsim.mapping.folds import stream_chunk, used_chunk
from accelsim.mapping.space import Mapping, orders
from accelsim.memory.traffic import fits
from accelsim.systolic.fast import fast_layer
from accelsim.systolic.result import ArrayRun

__all__ = ["MAPPERS", "OBJECTIVES", "LayerKey", "LayerSearch", "LayerTask", "Priced", "candidates", "chunk_set",
           "compute_cycles", "dram_reads", "lower_bounds", "run_counts", "search"]

_REL = 1e-9  # float tolerance of the "never worse than fixed" assertion (sums of pJ in another order)


def _ceil(a: int, b: int) -> int:
    return -(-a // b)


@dataclass(frozen=True)
class LayerKey:
    """What a layer's mapping cost depends on besides the config: its GEMMs and where A and C live."""

    m: int
    k: int
    n: int
    groups: int = 1
    ifmap_on_chip: bool = False
    output_on_chip: bool = False


@dataclass(frozen=True)
class LayerTask:
    """One array layer to map: its name, key and (optionally) a mapping the caller forces."""

    name: str
    key: LayerKey
    forced: Mapping | None = None


def chunk_set(cfg: ArrayConfig, dataflow: str | Dataflow, m: int, k: int, n: int) -> tuple[int, ...]:
    """The chunks S the search tries for a WS/IS layer (module docstring), largest first, each <= the
    streamed length; ``()`` for OS."""
    df = Mapping(dataflow if isinstance(dataflow, str) else dataflow.name).flow
    if not df.chunked:
        return ()
    length = df.stream_length(m, k, n)
    cap = max(min(stream_chunk(cfg), length), 1)
    sram = "ifmap" if df.streamed == "m" else "filter"   # the streamed operand's buffer: A in WS, B in IS
    halves = 2 if cfg.double_buffer else 1
    s_fit = cfg.sram_bytes(sram) // (halves * max(k, 1) * cfg.data_bytes)
    assert s_fit < 1 or fits(cfg, sram, s_fit * k * cfg.data_bytes)
    out = {cap, _ceil(length, _ceil(length, cap))}
    if 1 <= s_fit < cap:
        out |= {s_fit, _ceil(length, _ceil(length, s_fit))}
    s = cfg.rows
    while s < cap:
        out.add(s)
        s = 1 << s.bit_length() if s & (s - 1) else s * 2
    return tuple(sorted(out, reverse=True))


def candidates(cfg: ArrayConfig, m: int, k: int, n: int) -> tuple[Mapping, ...]:
    """Every mapping the search prices for an (m, k, n) GEMM on ``cfg``, the fixed mapping first. A chunk
    equal to the fixed one's S is given as None (the canonical form: ``Mapping.fixed`` when the order is
    the default); equal fold sequences appear once."""
    fixed = Mapping.fixed(cfg.dataflow)
    out, seen = [fixed], {(fixed.dataflow, fixed.order, used_chunk(cfg, fixed, m, k, n))}
    for name in DATAFLOWS:
        sizes = chunk_set(cfg, name, m, k, n)
        default = used_chunk(cfg, Mapping(name), m, k, n)
        for order in orders(name):
            for s in sizes or (default,):
                ident = (name, order, s)
                if ident not in seen:
                    seen.add(ident)
                    out.append(Mapping(name, order, None if s == default else s))
    return tuple(out)


def compute_cycles(cfg: ArrayConfig, mapping: Mapping, m: int, k: int, n: int, groups: int = 1,
                   chunk: int | None = None) -> int:
    """The layer's compute cycles under ``mapping`` in closed form: ``sum_{f < last} O_f + F_last`` over its
    folds (serial: O = F), from the fold counts per chunk length (the contract's "Issue"). ``chunk``: the
    ``used_chunk``, when the caller has it."""
    df = mapping.flow
    if not m * k * n * groups:
        return 0
    r, c = cfg.rows, cfg.cols
    length = {"m": m, "k": k, "n": n}
    streamed = length[df.streamed]
    s = chunk or used_chunk(cfg, mapping, m, k, n)
    tiles = _ceil(length[df.rows], r) * _ceil(length[df.cols], c)
    full, rem = divmod(streamed, s)

    def occ(beats: int) -> int:
        return int(df.occupancy(r, beats)) if cfg.pipeline else int(df.fold_cycles(r, c, beats))

    total = tiles * (full * occ(s) + (occ(rem) if rem else 0)) * groups
    last = rem or s
    return total - occ(last) + int(df.fold_cycles(r, c, last))


def _operand_reads(cfg: ArrayConfig, which: str, block: int, other: int, length: int, uses: int) -> int:
    """Elements of one operand read from DRAM (``memory.traffic``'s rule in closed form): its blocks of
    ``block`` x ``other`` elements cut along an axis of ``length`` (one block of ``length`` x ``other`` for
    an operand reused whole) are read once if they fit the usable SRAM ``which``, else by each of their
    ``uses`` passes."""
    db = cfg.data_bytes
    full, rem = divmod(length, block)
    total = 0
    for count, rows in ((full, block), (1 if rem else 0, rem)):
        elems = rows * other
        total += count * elems * (1 if fits(cfg, which, elems * db) else uses)
    return total


def dram_reads(cfg: ArrayConfig, mapping: Mapping, key: LayerKey, chunk: int | None = None) -> tuple[int, int]:
    """(A, B) elements the layer reads from DRAM under ``mapping``, in closed form: the outermost fold
    loop's operand (A after m, B after n) by blocks of its tile or chunk x all of K, the other whole; a
    block that fits is read once, one that does not once per tile of the axis it is not cut along.
    ``chunk``: the ``used_chunk``, when the caller has it."""
    df = mapping.flow
    m, k, n, g = key.m, key.k, key.n, key.groups
    size = {df.rows: cfg.rows, df.cols: cfg.cols, df.streamed: chunk or used_chunk(cfg, mapping, m, k, n)}
    seg_m, seg_n = _ceil(m, size["m"]), _ceil(n, size["n"])
    outer = (mapping.order or df.order)[0]
    a_block = size["m"] if outer == "m" else m
    b_block = size["n"] if outer == "n" else n
    a = 0 if key.ifmap_on_chip else _operand_reads(cfg, "ifmap", a_block, k, m, seg_n)
    b = _operand_reads(cfg, "filter", b_block, k, n, seg_m)
    return a * g, b * g


def lower_bounds(cfg: ArrayConfig, key: LayerKey, mappings: Sequence[Mapping], table: EnergyTable = DEFAULT_TABLE,
                 leakage_mW: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """(cycles, total_pJ) lower bounds of each mapping of the layer ``key`` (module docstring), as arrays."""
    m, k, n, g = key.m, key.k, key.n, key.groups
    db = cfg.data_bytes
    names = ("cycles", "ifmap_sram_reads", "filter_sram_reads", "ofmap_sram_reads", "ofmap_sram_writes",
             "ifmap_sram_writes", "filter_sram_writes")
    cols: dict[str, list[int]] = {c: [] for c in names}
    length = {"m": m, "k": k, "n": n}
    write = 0 if key.output_on_chip else m * n * g * cfg.out_bytes
    bw = cfg.bandwidth_fraction
    write_cycles = _ceil(write * bw.denominator, bw.numerator)
    for mp in mappings:
        df = mp.flow
        s = used_chunk(cfg, mp, m, k, n)
        size = {df.rows: cfg.rows, df.cols: cfg.cols, df.streamed: s}
        seg = {ax: _ceil(length[ax], size[ax]) for ax in "mkn"}
        a, b = dram_reads(cfg, mp, key, s)
        read_cycles = _ceil((a + b) * db * bw.denominator, bw.numerator)
        tile = {ax: min(size[ax], length[ax]) for ax in "mkn"}  # the first fold's tiles, read before it starts
        first = ((0 if key.ifmap_on_chip else tile["m"] * tile["k"]) + tile["k"] * tile["n"]) * db
        first_cycles = _ceil(first * bw.denominator, bw.numerator)
        last = int(df.fold_cycles(cfg.rows, cfg.cols, df.stream_length(m, k, n) % s or s))  # the last fold's F
        compute = compute_cycles(cfg, mp, m, k, n, g, s)
        cols["cycles"].append(max(first_cycles + compute, read_cycles + last, write_cycles))
        cols["ifmap_sram_reads"].append(m * k * seg["n"] * g)     # each A element once per segment of n
        cols["filter_sram_reads"].append(k * n * seg["m"] * g)    # each B element once per segment of m
        cols["ofmap_sram_writes"].append(m * n * seg["k"] * g)    # each C element once per k-tile
        cols["ofmap_sram_reads"].append(m * n * (seg["k"] - 1) * g)
        cols["ifmap_sram_writes"].append(a + (m * n * g if key.output_on_chip else 0))
        cols["filter_sram_writes"].append(b)
        cols.setdefault("dram_read_bytes", []).append((a + b) * db)
    count = len(mappings)
    layers = {name: np.array(v, dtype=float) for name, v in cols.items()}
    layers.update(macs=np.full(count, float(m * k * n * g)), dram_write_bytes=np.full(count, float(write)))
    return np.array(cols["cycles"], dtype=np.int64), energy_arrays(layers, count, cfg, table, leakage_mW)["total_pJ"]


def run_counts(run: ArrayRun) -> dict[str, int]:
    """The counts the energy model reads, of one layer's array run."""
    return {"macs": run.macs, "cycles": run.cycles, "dram_read_bytes": run.dram_read_bytes,
            "dram_write_bytes": run.dram_write_bytes, **{c: run.traffic[c] for c in SRAM_COUNTS}}


@dataclass(frozen=True, eq=False)
class Priced:
    """A mapping of one layer priced by the fast model: its run and its total energy (leakage included)."""

    mapping: Mapping
    run: ArrayRun
    total_pJ: float

    @property
    def cycles(self) -> int:
        return self.run.cycles

    @property
    def dram_bytes(self) -> int:
        return self.run.dram_read_bytes + self.run.dram_write_bytes


Score = Callable[[Any, Any], Any]  # (total_pJ, cycles) -> the value to minimize; numbers or numpy arrays


class LayerSearch:
    """One layer's candidates, their bounds, and the exact prices computed so far (on demand)."""

    def __init__(self, cfg: ArrayConfig, key: LayerKey, table: EnergyTable = DEFAULT_TABLE, leakage_mW: float = 0.0):
        self.cfg, self.key, self.table, self.leakage_mW = cfg, key, table, leakage_mW
        self.mappings = candidates(cfg, key.m, key.k, key.n)
        self._priced: dict[Mapping, Priced] = {}

    @cached_property
    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """(cycles, total_pJ) lower bounds of ``mappings``."""
        return lower_bounds(self.cfg, self.key, self.mappings, self.table, self.leakage_mW)

    @property
    def evaluated(self) -> int:
        """Mappings priced exactly so far."""
        return len(self._priced)

    def price(self, mapping: Mapping) -> Priced:
        """``mapping``'s exact cost (memoized)."""
        got = self._priced.get(mapping)
        if got is None:
            k = self.key
            run = fast_layer(self.cfg, k.m, k.k, k.n, k.groups, mapping=mapping, ifmap_on_chip=k.ifmap_on_chip,
                             output_on_chip=k.output_on_chip)
            total = float(energy_arrays(run_counts(run), 1, self.cfg, self.table, self.leakage_mW)["total_pJ"][0])
            got = self._priced[mapping] = Priced(mapping, run, total)
        return got

    @property
    def fixed(self) -> Priced:
        return self.price(self.mappings[0])

    def best(self, score: Score, then: str = "cycles") -> Priced:
        """The candidate minimizing ``score(total_pJ, cycles)`` (ties: ``then``, the other quantity, then the
        earlier candidate, so the fixed mapping wins a tie), pricing candidates in the order of
        ``score(energy bound, cycles bound)`` until no bound can win. ``score`` must not decrease in either
        argument (the bound of a candidate is then never above its score) and must take numpy arrays."""
        d_lb, e_lb = self.bounds
        bound = np.asarray(score(e_lb, d_lb), dtype=float)
        best_i, best = 0, self._key(0, score, then)
        for i in np.argsort(bound, kind="stable").tolist():
            if bound[i] > best[0]:
                break
            if i:
                got = self._key(i, score, then)
                if got < best:
                    best_i, best = i, got
        return self.price(self.mappings[best_i])

    def _key(self, i: int, score: Score, then: str) -> tuple[float, float, int]:
        p = self.price(self.mappings[i])
        return float(score(p.total_pJ, p.cycles)), (p.cycles if then == "cycles" else p.total_pJ), i


def search(cfg: ArrayConfig, tasks: Sequence[LayerTask], objective: str = "edp", table: EnergyTable = DEFAULT_TABLE,
           leakage_mW: float = 0.0, base_pJ: float = 0.0, base_cycles: int = 0,
           searches: dict[LayerKey, LayerSearch] | None = None,
           trace: list[tuple[float, int]] | None = None) -> dict[str, tuple[Priced, Priced]]:
    """Each task's (chosen, fixed) priced mappings under ``objective`` (module docstring). ``base_pJ`` /
    ``base_cycles``: the rest of the network (vector-unit layers), constants of the EDP; a task's forced
    mapping is its choice. ``searches``: the per-key memo (pass a dict to see the work done); ``trace``
    gets the network's (total_pJ, cycles) of the start (fixed) and of every EDP step."""
    if objective not in OBJECTIVES:
        raise ValueError(f"search: objective must be one of {', '.join(OBJECTIVES)}, got {objective!r}")
    memo: dict[LayerKey, LayerSearch] = {} if searches is None else searches
    for t in tasks:
        if t.key not in memo:
            memo[t.key] = LayerSearch(cfg, t.key, table, leakage_mW)
    free = {t.key for t in tasks if t.forced is None}
    forced = {t.name: memo[t.key].price(t.forced) for t in tasks if t.forced is not None}
    weight = {key: sum(1 for t in tasks if t.key == key and t.forced is None) for key in free}
    choice = {key: memo[key].fixed for key in free}
    log = trace if trace is not None else []
    log.append(_network(choice, weight, forced, base_pJ, base_cycles))
    fixed_pJ, fixed_cycles = log[-1]

    if objective == "edp":
        while True:  # the lam iteration
            pJ, cycles = log[-1]
            lam = pJ / cycles if cycles else 0.0
            changed = False
            for key in free:
                cur, new = choice[key], memo[key].best(_linear(1.0, lam))
                if new is not cur and new.total_pJ + lam * new.cycles < cur.total_pJ + lam * cur.cycles:
                    choice[key], changed = new, True
            if not changed:
                break
            log.append(_network(choice, weight, forced, base_pJ, base_cycles))
        while True:  # the polish: one layer at a time, the others fixed, on the exact network EDP
            changed = False
            for key in free:
                pJ, cycles = log[-1]
                cur, w = choice[key], weight[key]
                e0, d0 = max(pJ - w * cur.total_pJ, 0.0), cycles - w * cur.cycles  # the rest: >= 0
                new = memo[key].best(_product(e0, d0, w))
                if new is not cur and (e0 + w * new.total_pJ) * (d0 + w * new.cycles) < pJ * cycles * (1 - _REL):
                    choice[key], changed = new, True
                    log.append(_network(choice, weight, forced, base_pJ, base_cycles))
            if not changed:
                break
    else:
        if objective == "cycles":
            choice = {key: memo[key].best(_linear(0.0, 1.0), "energy") for key in free}
        else:
            choice = {key: memo[key].best(_linear(1.0, 0.0)) for key in free}
        log.append(_network(choice, weight, forced, base_pJ, base_cycles))

    pJ, cycles = log[-1]
    worse = {"cycles": cycles > fixed_cycles, "energy": pJ > fixed_pJ * (1 + _REL),
             "edp": pJ * cycles > fixed_pJ * fixed_cycles * (1 + _REL)}[objective]
    assert not worse, f"mapper: the search is worse than the fixed mapping on {objective}"
    return {t.name: (forced[t.name] if t.forced is not None else choice[t.key], memo[t.key].fixed) for t in tasks}


def _linear(w_energy: float, w_cycles: float) -> Score:
    """``w_energy x total_pJ + w_cycles x cycles`` (non-negative weights: never decreasing in either)."""
    def score(e: Any, d: Any) -> Any:
        return w_energy * e + w_cycles * d
    return score


def _product(e0: float, d0: float, w: int) -> Score:
    """The network's EDP with ``w`` layers of one shape at (e, d) and the rest at (e0, d0) (both >= 0)."""
    def score(e: Any, d: Any) -> Any:
        return (e0 + w * e) * (d0 + w * d)
    return score


def _network(choice: dict[LayerKey, Priced], weight: dict[LayerKey, int], forced: dict[str, Priced], base_pJ: float,
             base_cycles: int) -> tuple[float, int]:
    """The network's (total_pJ, cycles) under ``choice`` (each key ``weight`` times) and the forced layers."""
    pJ = base_pJ + sum(p.total_pJ * weight[key] for key, p in choice.items()) + sum(p.total_pJ for p in forced.values())
    cycles = base_cycles + sum(p.cycles * weight[key] for key, p in choice.items()) + sum(
        p.cycles for p in forced.values())
    return pJ, cycles
