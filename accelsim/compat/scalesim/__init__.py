"""``--convention scalesim``: SCALE-Sim v3's per-layer numbers, reproduced in closed form.

SCALE-Sim (PyPI ``scalesim`` 3.0.0, https://github.com/scalesim-project/scale-sim-v3) builds, for
every layer, the full address matrices of the three operands and their per-cycle demand matrices,
then pushes every demand line through a Python model of its double-buffered SRAMs. Its cycle
counts however follow from the shape of those matrices alone; this module computes them without
building any matrix, and reproduces what SCALE-Sim 3.0.0 writes to ``COMPUTE_REPORT.csv``,
``BANDWIDTH_REPORT.csv`` and ``DETAILED_ACCESS_REPORT.csv`` for a convolution layer, in its
default ``InterfaceBandwidth: CALC`` mode (the mode of the ``configs/scale.cfg`` it ships).
``tests/systolic/test_scalesim_convention.py`` checks every value against numbers recorded from
the real SCALE-Sim (``benchmarks/make_scalesim_reference.py``).

How SCALE-Sim counts (source: ``topology_utils.py``, ``compute/systolic_compute_{os,ws,is}.py``,
``memory/*.py``, ``single_layer_sim.py``)
============================================================================================

Layer. A topology row is (IFMAP H, W, filter FH, FW, channels C, filters N, stride S); the IFMAP is
already padded and the same stride is used along both axes. Output size is rounded *up*:
``OH = ceil((H - FH + S) / S)`` (likewise OW), so when ``(H - FH) % S != 0`` SCALE-Sim computes one
more output row/column than PyTorch, whose windows hang over the IFMAP edge (their missing pixels
are address -1: counted as SRAM reads, never fetched from DRAM). GEMM: ``M = OH*OW``,
``K = FH*FW*C``, ``N``; MACs = ``M*N*K``.

Mapping ("Sr x Sc" pinned, "T" streamed), folds ``ceil(Sr/R) * ceil(Sc/C)`` on an R x C array,
in the order ``for fc in col folds: for fr in row folds`` for all three dataflows:

==========  =====  =====  =====
dataflow     Sr     Sc     T
==========  =====  =====  =====
OS           M      N      K
WS           K      N      M
IS           K      M      N
==========  =====  =====  =====

Fold length (demand lines, one a cycle, the same for every fold, partial or not):

- OS: ``T + R + C - 2``  (the IFMAP column is skewed over R rows, followed by C-1 idle lines);
- WS and IS: ``2R + C + T - 2`` (R weight-load lines, T streamed lines, C-1 drain lines, all
  skewed over R).

``compute_cycles = folds * fold_length - 1`` (SCALE-Sim's "Total Cycles" counts the index of the
last demand line, from 0). ``total_cycles = compute_cycles + stall_cycles``. ``stall_cycles`` is
0 in CALC mode: the IFMAP/filter buffers are then "estimate bandwidth" buffers that always hit,
and the OFMAP write buffer drains ``ArrayWidth`` words a cycle, which the array can never
outpace (it writes at most ``ArrayWidth`` words a cycle); this module replays the write buffer
anyway and would raise if it ever stalled. In ``InterfaceBandwidth: USER`` mode the read
buffers stall on DRAM misses through a per-address prefetch model that has no closed form; see
"Not reproduced" below.

Report columns (``scalesim_layer`` keys in brackets):

- "Total Cycles" [``total_cycles``], "Stall Cycles" [``stall_cycles``].
- "Total Cycles (incl. prefetch)" [``total_cycles_incl_prefetch``] = last OFMAP DRAM write cycle
  minus the first IFMAP/filter DRAM read cycle (the initial prefetch starts before cycle 0).
- "Overall Util %" = ``100 * M*N*K / (total_cycles * R*C)``.
- "Mapping Efficiency %" = mean over folds of ``used_rows*used_cols / (R*C)``.
- "Compute Util %" = mean over folds of ``used_rows*used_cols*T / (R*C*L_f)`` with
  ``L_f = T + R + C - 2`` (OS) but ``2R + 2C + T - 3`` (WS, IS: SCALE-Sim adds C-1 twice here).
- SRAM reads/writes (the array's requests, -1 padding addresses of ceil'd windows included):
  OS: IFMAP ``ceil(N/C)*M*K``, filter ``ceil(M/R)*K*N``, OFMAP ``M*N + folds*(R+C)`` (SCALE-Sim
  adds the demand tile's R + C a second time per fold); WS: IFMAP ``ceil(N/C)*M*K``, filter
  ``K*N``, OFMAP ``ceil(K/R)*M*N`` (every k-tile writes its partial sums); IS: IFMAP ``M*K``,
  filter ``ceil(M/C)*K*N``, OFMAP ``ceil(K/R)*M*N``.
- DRAM, CALC mode. Each read buffer groups the distinct addresses it sees into sets of
  ``floor(SRAM bytes / 100)`` words; while fewer than 50 sets (half the SRAM) have filled, every
  address is fetched once and the whole prefetch is timed at 10 words a cycle ending at cycle -1:
  reads = distinct addresses, start = ``-ceil(sets * set_words / 10)``, stop = -1. Once 50 sets
  fill (the operand does not fit in half its SRAM) SCALE-Sim slides a 100-set window through the
  stream and re-fetches what fell out; then the start is ``first_request_cycle -
  ceil(50 * set_words / 10)``. When every address is requested once (the filter in WS, or any
  operand with a single fold along the other axis, for the IFMAP also with windows that neither
  overlap nor cross its edge) nothing is re-fetched: reads = distinct addresses and the stop
  cycle is one after the line on which the last multiple of 50 sets completed. Otherwise the read
  count and stop cycle depend on the address order: not reproduced (``None``). OFMAP writes go
  through a buffer that, once more than
  half of it is occupied, drains ``ceil(half / ArrayWidth)`` lines of ``ArrayWidth`` words, one a
  cycle; at the end everything left is drained from the last compute cycle on. Its DRAM write count
  includes the -1 padding of partly filled lines that are not the last of a drain: replayed
  exactly (event by event, not element by element).

How this differs from accelsim's own convention (docs/microarchitecture.md) and why
================================================================================

- Fold length. OS: ours is ``K + 2R + C - 2``: after the last MAC (cycle ``K + R + C - 3``) the
  accumulators drain through the bottom row for R cycles, and the next fold starts after that.
  SCALE-Sim's fold ends with the last MAC, ``K + R + C - 2`` lines: it writes the R output rows
  during the fold (its OFMAP demand is a skewed R-row block starting on line ``K - 1``, before
  most of those sums are final) and never spends cycles on the drain. WS/IS: ours
  ``2R + C + M - 1`` vs SCALE-Sim ``2R + C + M - 2``: our deskewed output row m appears in cycle
  ``2R + C - 1 + m``, one register later than SCALE-Sim's write of its last column.
- OS fold order: ours m-tile outer, n-tile inner; SCALE-Sim's n-tile outer, m-tile inner (cycles
  are the same; DRAM re-reads differ). WS and IS orders agree.
- Cycle count: ours counts cycles (layer cycles = sum of fold cycles + stalls); SCALE-Sim reports
  the index of the last demand line (one less) and sums nothing across layers.
- Output size: ours floors (PyTorch), SCALE-Sim ceils (see above).
- Memory. Ours moves whole operand tiles between DRAM and double-buffered SRAMs at the configured
  bytes per cycle, element sizes from DATA_W/ACC_W/out_bits, stalls when a load is late. SCALE-Sim
  uses one-byte words for everything (psums too), and in CALC mode assumes DRAM is always fast
  enough (no stalls: the "bandwidth" it reports is the bandwidth the layer *would need*), and in
  USER mode uses a per-address prefetch model with its own bugs (a stall is counted twice, and
  the layout section's ``IfmapSRAMBankBandwidth``/``FilterSRAMBankBandwidth``, not ``Bandwidth``,
  sets the read bandwidth). Neither matches a cycle-exact datapath, which is why accelsim keeps its
  own contract and offers this module only to compare against SCALE-Sim's published numbers.

Not reproduced
==============

- USER-mode stalls (closed-form numbers are exact in USER mode only when SCALE-Sim reports 0
  stalls; its compute-side numbers never depend on the mode).
- CALC-mode IFMAP/filter DRAM read counts, stop cycles and DRAM bandwidths of an operand that
  does not fit in half its SRAM and whose addresses repeat in the demand stream (``None``).
- Sparsity, custom layouts, Ramulator traces, GEMM (``-i gemm``) topologies, depthwise ("DP")
  rows and batch > 1.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from accelsim.errors import AccelsimError

DATAFLOWS = ("os", "ws", "is")

# Fixed by SCALE-Sim 3.0.0's single_layer_sim.py / memory/*.py in CALC mode.
_WORD_BYTES = 1  # word_size
_ACTIVE_FRAC = 0.5  # active_buf_frac of every buffer
_READ_BACKING_BW = 10  # "The number 10 elems per cycle is arbitrary"
_READ_PORT_LATENCY = 1  # read_port.latency (the DRAM side of the read buffers)
_HIT_LATENCY = 1  # read buffers' SRAM hit latency; writes have none


class ScaleSimConventionError(AccelsimError):
    """A layer or configuration SCALE-Sim cannot express (names the field)."""

    def __init__(self, fld: str, problem: str):
        super().__init__(f"scalesim convention: {fld}: {problem}")
        self.field = fld


def _pos_int(fld: str, v) -> int:
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v <= 0:
        raise ScaleSimConventionError(fld, f"expected a positive integer, got {v!r}")
    return int(v)


@dataclass(frozen=True)
class _Layer:
    H: int
    W: int
    FH: int
    FW: int
    C: int
    N: int
    S: int

    @property
    def OH(self) -> int:
        return -(-(self.H - self.FH + self.S) // self.S)

    @property
    def OW(self) -> int:
        return -(-(self.W - self.FW + self.S) // self.S)

    @property
    def M(self) -> int:
        return self.OH * self.OW

    @property
    def K(self) -> int:
        return self.FH * self.FW * self.C

    # --- IFMAP address validity (operand_matrix.calc_ifmap_elem_addr) ---------------------------
    # Element (m, k) of the IFMAP operand is pixel (oh*S + r, ow*S + c, ch) with
    # m = oh*OW + ow, k = (r*FW + c)*C + ch; it is -1 when the pixel is outside the IFMAP.

    def _k_rc(self, k):
        return k // (self.FW * self.C), (k // self.C) % self.FW

    def last_valid_m(self, k):
        """Largest m whose window element k is inside the IFMAP (vectorised over k)."""
        r, c = self._k_rc(np.asarray(k))
        oh = np.minimum((self.H - 1 - r) // self.S, self.OH - 1)
        ow = np.minimum((self.W - 1 - c) // self.S, self.OW - 1)
        return oh * self.OW + ow

    def last_valid_k(self, m):
        """Largest k valid for output pixel m, -1 if its window is wholly outside (vectorised)."""
        oh, ow = np.divmod(np.asarray(m), self.OW)
        rmax = np.minimum(self.FH - 1, self.H - 1 - oh * self.S)
        cmax = np.minimum(self.FW - 1, self.W - 1 - ow * self.S)
        return np.where((rmax < 0) | (cmax < 0), -1, (rmax * self.FW + cmax) * self.C + self.C - 1)

    def valid(self, m0: int, m1: int, k0: int, k1: int) -> np.ndarray:
        """Validity of the IFMAP operand tile [m0:m1, k0:k1] (bool, m x k)."""
        oh, ow = np.divmod(np.arange(m0, m1)[:, None], self.OW)
        r, c = self._k_rc(np.arange(k0, k1)[None, :])
        return (r + oh * self.S < self.H) & (c + ow * self.S < self.W)

    def ifmap_distinct(self) -> int:
        """Distinct IFMAP pixels*channels any window touches."""

        def axis(n, f, o):
            if self.S <= f:
                return n
            return sum(max(0, min(f, n - i * self.S)) for i in range(o))

        return axis(self.H, self.FH, self.OH) * axis(self.W, self.FW, self.OW) * self.C


def _tiles(extent: int, size: int) -> list[int]:
    n = -(-extent // size)
    return [size] * (n - 1) + [extent - size * (n - 1)]


def _line_counts(spec: tuple, length: int) -> np.ndarray:
    """Valid addresses on each demand line of one fold (``length`` lines).

    ``("skew", base, a, b)``: an a x b block skewed by column, element (i, j) on line
    ``base + i + j``; ``("rows", first, n, per_line)``: ``per_line`` elements on each of the n lines
    from ``first`` (an unskewed block).
    """
    u = np.arange(length)
    if spec[0] == "skew":
        _, base, a, b = spec
        v = u - base
        cnt = np.minimum.reduce([v + 1, np.full_like(v, a), np.full_like(v, b), a + b - 1 - v])
        return np.clip(cnt, 0, None)
    _, first, n, per_line = spec
    return np.where((u >= first) & (u < first + n), per_line, 0)


class _Stream:
    """One operand's demand over the whole layer: how many valid addresses each line carries,
    with prefix sums to map between line numbers and element numbers (SCALE-Sim's order)."""

    def __init__(self, fold_len: int, fold_specs: list[tuple]):
        self.fold_len = fold_len
        self.n_lines = fold_len * len(fold_specs)
        classes: dict[tuple, int] = {}
        self.class_cum: list[np.ndarray] = []
        cls = np.empty(len(fold_specs), dtype=np.int64)
        for f, spec in enumerate(fold_specs):
            if spec not in classes:
                classes[spec] = len(self.class_cum)
                cum = np.zeros(fold_len + 1, dtype=np.int64)
                np.cumsum(_line_counts(spec, fold_len), out=cum[1:])
                self.class_cum.append(cum)
            cls[f] = classes[spec]
        self.cls = cls
        per_fold = np.array([c[-1] for c in self.class_cum], dtype=np.int64)[cls]
        self.fold_cum = np.zeros(len(fold_specs) + 1, dtype=np.int64)
        np.cumsum(per_fold, out=self.fold_cum[1:])
        self.total = int(self.fold_cum[-1])

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


def _replay_write_buffer(stream: _Stream, size_bytes: int, bw: int) -> dict:
    """memory/write_buffer.py, event by event (a drain at a time), for a stall-free run."""
    total = size_bytes // _WORD_BYTES
    active = math.ceil(total * _ACTIVE_FRAC)
    drain = total - active
    lines_per_drain = -(-drain // bw)

    st = {"free": total, "g": 0, "glf": 0, "lines": 0, "ds": 0, "acc": 0, "start": None, "stop": None}
    partial: dict[int, int] = {}

    def force(g: int) -> None:  # append_to_trace_mat(force=True): close the open line
        k = g - st["glf"]
        st["lines"] += k // bw
        if k % bw:
            partial[st["lines"]] = k % bw
            st["lines"] += 1
        st["glf"] = g

    def drain_from(cycle: int) -> tuple[int, int]:  # empty_drain_buf
        n = min(lines_per_drain, st["lines"] - st["ds"])
        last = st["ds"] + n - 1
        data = n * bw - (bw - partial.get(last, bw))
        st["acc"] += data
        st["ds"] += n
        end = cycle + n - 1
        st["start"] = cycle if st["start"] is None else st["start"]
        st["stop"] = end if st["stop"] is None else max(st["stop"], end)
        return end, data

    G = stream.total
    drain_end = 0
    while True:
        # Writes on lines before cycle drain_end land while a drain is under way.
        gw = stream.before_line(drain_end)
        if gw > st["g"]:
            st["free"] -= gw - st["g"]
            st["g"] = gw
            if st["free"] <= 0:  # pragma: no cover - impossible with ArrayWidth words a cycle
                raise AssertionError("SCALE-Sim OFMAP buffer would stall: not modelled")
        if st["g"] >= G:
            break
        x = max(1, st["free"] - active + 1)  # writes until less than `active` words are free
        gt = st["g"] + x - 1
        if gt >= G:
            st["free"] -= G - st["g"]
            st["g"] = G
            break
        st["free"] -= x
        st["g"] = gt + 1
        force(st["g"])
        drain_end, data = drain_from(stream.line_of(gt))
        st["free"] += data
    # empty_all_buffers(last demand cycle)
    force(G)
    cycle = stream.n_lines - 1
    while st["ds"] < st["lines"]:
        end, _ = drain_from(cycle)
        cycle = end + 1
    return {"writes": st["acc"], "start": st["start"], "stop": st["stop"]}


def _read_dram(distinct: int, first_request: int, sram_kb: int, read_once: _Stream | None = None) -> dict:
    """ReadBufferEstimateBw (CALC mode): start/stop cycle and reads of one read buffer.

    ``read_once``: the operand's demand stream when every address in it is requested exactly
    once (then every request is a new address and the sliding window never re-fetches).
    """
    words = sram_kb * 1024 // _WORD_BYTES
    set_words = words // 100
    half = int(_ACTIVE_FRAC * 100)  # sets in the active (= the prefetch) half
    if set_words <= 0:
        raise ScaleSimConventionError("sram_kb", f"{sram_kb} KB holds fewer than 100 words")
    if distinct < half * set_words:
        # Never filled half the buffer: everything prefetched once, before cycle 0.
        sets = -(-distinct // set_words)
        cycles = -(-(sets * set_words) // _READ_BACKING_BW)
        end = -1 - _READ_PORT_LATENCY
        return {"reads": distinct, "start": end - cycles + 1 + _READ_PORT_LATENCY, "stop": end + _READ_PORT_LATENCY}
    # The first 50 sets are timed to end just before the first request ...
    cycles = -(-(half * set_words) // _READ_BACKING_BW)
    start = first_request - 1 - _READ_PORT_LATENCY - cycles + 1 + _READ_PORT_LATENCY
    if read_once is None:
        return {"reads": None, "start": start, "stop": None}
    # ... and every later prefetch ends at the cycle the 50 sets before it completed; the last
    # one (at the end of the layer) reuses the window of the last completion.
    last_trigger = read_once.line_of((distinct // (half * set_words)) * half * set_words - 1)
    return {"reads": distinct, "start": start, "stop": last_trigger + _READ_PORT_LATENCY}


def scalesim_layer(
    ifmap_h: int,
    ifmap_w: int,
    filt_h: int,
    filt_w: int,
    channels: int,
    num_filters: int,
    stride: int,
    rows: int,
    cols: int,
    dataflow: str,
    ifmap_sram_kb: int = 64,
    filter_sram_kb: int = 64,
    ofmap_sram_kb: int = 64,
) -> dict:
    """SCALE-Sim 3.0.0's numbers for one topology row on a ``rows`` x ``cols`` array (CALC mode).

    Arguments are a SCALE-Sim topology row (IFMAP already padded) and the config's
    ``ArrayHeight``/``ArrayWidth``/``Dataflow``/``*SramSzkB`` (defaults: ``configs/scale.cfg``).
    Returns a dict:

    - COMPUTE_REPORT: ``total_cycles_incl_prefetch``, ``total_cycles``, ``stall_cycles``,
      ``overall_util``, ``mapping_efficiency``, ``compute_util`` (percent, as SCALE-Sim);
      ``compute_cycles`` = total_cycles - stall_cycles.
    - BANDWIDTH_REPORT: ``avg_{ifmap,filter,ofmap}_sram_bw``, ``avg_{ifmap,filter,ofmap}_dram_bw``
      (words/cycle).
    - DETAILED_ACCESS_REPORT: ``{ifmap,filter,ofmap}_{sram,dram}_{start,stop}``,
      ``ifmap_sram_reads``, ``filter_sram_reads``, ``ofmap_sram_writes``, ``ifmap_dram_reads``,
      ``filter_dram_reads``, ``ofmap_dram_writes``.
    - Mapping: ``ofmap_h``, ``ofmap_w``, ``M``, ``N``, ``K``, ``macs``, ``Sr``, ``Sc``, ``T``,
      ``row_folds``, ``col_folds``, ``folds``, ``fold_cycles``.

    Values SCALE-Sim's estimate-bandwidth model makes order-dependent are ``None`` (see the module
    docstring).
    """
    H, W, FH, FW = (_pos_int(n, v) for n, v in
                    (("ifmap_h", ifmap_h), ("ifmap_w", ifmap_w), ("filt_h", filt_h), ("filt_w", filt_w)))
    C, N, S = _pos_int("channels", channels), _pos_int("num_filters", num_filters), _pos_int("stride", stride)
    R, Ca = _pos_int("rows", rows), _pos_int("cols", cols)
    ifmap_sram_kb, filter_sram_kb, ofmap_sram_kb = (
        _pos_int(n, v) for n, v in
        (("ifmap_sram_kb", ifmap_sram_kb), ("filter_sram_kb", filter_sram_kb), ("ofmap_sram_kb", ofmap_sram_kb)))
    if dataflow not in DATAFLOWS:
        raise ScaleSimConventionError("dataflow", f"must be one of {', '.join(DATAFLOWS)}, got {dataflow!r}")
    if FH > H or FW > W:
        raise ScaleSimConventionError("filt_h" if FH > H else "filt_w", "filter larger than the IFMAP")

    L = _Layer(H, W, FH, FW, C, N, S)
    M, K = L.M, L.K
    Sr, Sc, T = {"os": (M, N, K), "ws": (K, N, M), "is": (K, M, N)}[dataflow]
    row_tiles, col_tiles = _tiles(Sr, R), _tiles(Sc, Ca)
    nr, nc = len(row_tiles), len(col_tiles)
    folds = nr * nc
    fold_len = T + R + Ca - 2 if dataflow == "os" else 2 * R + Ca + T - 2
    compute_cycles = folds * fold_len - 1

    # Per-fold averages, summed in SCALE-Sim's order (fc outer, fr inner) so floats agree.
    pes = R * Ca
    util_len = fold_len if dataflow == "os" else 2 * R + 2 * Ca + T - 3
    map_eff = []
    comp_util = []
    for cu in col_tiles:
        for ru in row_tiles:
            used = ru * cu
            if dataflow == "ws":
                map_eff.append((pes - (pes - used)) / pes)
            else:
                map_eff.append(used / pes)
            comp_util.append(used * T / (pes * util_len))
    mapping_efficiency = sum(map_eff) / len(map_eff) * 100
    compute_util = sum(comp_util) / len(comp_util) * 100

    # SRAM requests.
    if dataflow == "os":
        ifmap_sram, filter_sram = nc * M * K, nr * K * N
        ofmap_sram = M * N + folds * (R + Ca)
    elif dataflow == "ws":
        ifmap_sram, filter_sram, ofmap_sram = nc * M * K, K * N, nr * M * N
    else:
        ifmap_sram, filter_sram, ofmap_sram = M * K, nc * K * N, nr * M * N

    # OFMAP demand blocks: base line, rows, cols of the skewed block of each fold.
    shapes = []
    for cu in col_tiles:
        for ru in row_tiles:
            if dataflow == "os":
                shapes.append((T - 1 + R - ru, ru, cu))
            else:
                shapes.append((2 * R - 1, T, cu))
    stream = _Stream(fold_len, [("skew", *shape) for shape in shapes])
    wb = _replay_write_buffer(stream, ofmap_sram_kb * 1024, Ca)
    stall_cycles = 0
    total_cycles = compute_cycles + stall_cycles

    # First / last demand lines that carry a valid address, per operand.
    last_base = (folds - 1) * fold_len
    r0, rl, cl = row_tiles[0], row_tiles[-1], col_tiles[-1]
    if dataflow == "os":
        ifmap_first, filter_first = 0, 0
        ifmap_last = None
        for f in range(folds - 1, -1, -1):  # the last fold with a valid IFMAP element
            m0 = (f % nr) * R  # (a window past the IFMAP edge can be wholly outside it when S > FH)
            kmax = L.last_valid_k(np.arange(m0, m0 + row_tiles[f % nr]))
            ok = kmax >= 0
            if ok.any():
                ifmap_last = f * fold_len + int(np.max((kmax + np.arange(len(kmax)))[ok]))
                break
        filter_last = last_base + K - 1 + cl - 1
        ofmap_first = K - 1 + R - r0
        ofmap_last = last_base + K - 1 + R - 1 + cl - 1
    elif dataflow == "ws":
        ifmap_first, filter_first = R, R - r0
        k_last = np.arange(K - rl, K)
        ifmap_last = last_base + R + int(np.max(L.last_valid_m(k_last) + np.arange(rl)))
        filter_last = last_base + R - 1
        ofmap_first = 2 * R - 1
        ofmap_last = last_base + 2 * R - 1 + M - 1 + cl - 1
    else:
        ifmap_first, filter_first = R - r0, R
        ifmap_last = None
        for f in range(folds - 1, -1, -1):  # the last fold with a valid IFMAP element
            fc, fr = divmod(f, nr)
            m0, k0 = fc * Ca, fr * R
            v = L.valid(m0, m0 + col_tiles[fc], k0, k0 + row_tiles[fr]).any(axis=0)
            if v.any():
                ifmap_last = f * fold_len + R - 1 - int(np.argmax(v))
                break
        filter_last = last_base + R + N - 1 + rl - 1
        ofmap_first = 2 * R - 1
        ofmap_last = last_base + 2 * R - 1 + N - 1 + cl - 1

    # Operands whose every address is requested exactly once (the filter in WS, or when there is a
    # single fold along the other axis; the IFMAP also needs windows that neither overlap nor
    # cross its edge): SCALE-Sim's DRAM reads and stop cycle then have a closed form too.
    def stream(spec) -> _Stream:
        return _Stream(fold_len, [spec(ru, cu) for cu in col_tiles for ru in row_tiles])

    filter_once = {"os": nr == 1, "ws": True, "is": nc == 1}[dataflow]
    filter_spec = {"os": lambda ru, cu: ("skew", 0, K, cu), "ws": lambda ru, cu: ("rows", R - ru, ru, cu),
                   "is": lambda ru, cu: ("skew", R, N, ru)}[dataflow]
    disjoint = S >= FH and S >= FW and (H - FH) % S == 0 and (W - FW) % S == 0
    ifmap_once = disjoint and {"os": nc == 1, "ws": nc == 1, "is": True}[dataflow]
    ifmap_spec = {"os": lambda ru, cu: ("skew", 0, K, ru), "ws": lambda ru, cu: ("skew", R, M, ru),
                  "is": lambda ru, cu: ("rows", R - ru, ru, cu)}[dataflow]
    ifmap_dram = _read_dram(L.ifmap_distinct(), ifmap_first, ifmap_sram_kb,
                            stream(ifmap_spec) if ifmap_once else None)
    filter_dram = _read_dram(K * N, filter_first, filter_sram_kb, stream(filter_spec) if filter_once else None)
    incl_prefetch = int(wb["stop"] - min(ifmap_dram["start"], filter_dram["start"]))

    def dram_bw(d):
        if d["reads"] is None:
            return None
        return d["reads"] / (d["stop"] - d["start"] + 1)

    macs = M * N * K
    return {
        # COMPUTE_REPORT.csv
        "total_cycles_incl_prefetch": incl_prefetch,
        "total_cycles": total_cycles,
        "stall_cycles": stall_cycles,
        "overall_util": (macs * 100) / (total_cycles * pes),
        "mapping_efficiency": mapping_efficiency,
        "compute_util": compute_util,
        "compute_cycles": compute_cycles,
        # BANDWIDTH_REPORT.csv
        "avg_ifmap_sram_bw": ifmap_sram / total_cycles,
        "avg_filter_sram_bw": filter_sram / total_cycles,
        "avg_ofmap_sram_bw": ofmap_sram / total_cycles,
        "avg_ifmap_dram_bw": dram_bw(ifmap_dram),
        "avg_filter_dram_bw": dram_bw(filter_dram),
        "avg_ofmap_dram_bw": wb["writes"] / (wb["stop"] - wb["start"] + 1),
        # DETAILED_ACCESS_REPORT.csv
        "ifmap_sram_start": ifmap_first + _HIT_LATENCY,
        "ifmap_sram_stop": ifmap_last + _HIT_LATENCY,
        "ifmap_sram_reads": ifmap_sram,
        "filter_sram_start": filter_first + _HIT_LATENCY,
        "filter_sram_stop": filter_last + _HIT_LATENCY,
        "filter_sram_reads": filter_sram,
        "ofmap_sram_start": ofmap_first,
        "ofmap_sram_stop": ofmap_last,
        "ofmap_sram_writes": ofmap_sram,
        "ifmap_dram_start": ifmap_dram["start"],
        "ifmap_dram_stop": ifmap_dram["stop"],
        "ifmap_dram_reads": ifmap_dram["reads"],
        "filter_dram_start": filter_dram["start"],
        "filter_dram_stop": filter_dram["stop"],
        "filter_dram_reads": filter_dram["reads"],
        "ofmap_dram_start": wb["start"],
        "ofmap_dram_stop": wb["stop"],
        "ofmap_dram_writes": wb["writes"],
        # Mapping
        "ofmap_h": L.OH,
        "ofmap_w": L.OW,
        "M": M,
        "N": N,
        "K": K,
        "macs": macs,
        "Sr": Sr,
        "Sc": Sc,
        "T": T,
        "row_folds": nr,
        "col_folds": nc,
        "folds": folds,
        "fold_cycles": fold_len,
    }


# Keys that add up when one accelsim layer is several SCALE-Sim rows (groups).
_ADDITIVE = (
    "total_cycles_incl_prefetch", "total_cycles", "stall_cycles", "compute_cycles", "macs", "folds",
    "ifmap_sram_reads", "filter_sram_reads", "ofmap_sram_writes",
    "ifmap_dram_reads", "filter_dram_reads", "ofmap_dram_writes",
)
# Per-fold averages keep their value; per-layer timing details make no sense summed.
_KEPT = ("mapping_efficiency", "compute_util", "ofmap_h", "ofmap_w", "M", "N", "K", "Sr", "Sc", "T",
         "row_folds", "col_folds", "fold_cycles")


def topology_row(node) -> tuple[str, int, int, int, int, int, int, int] | None:
    """The SCALE-Sim topology row of an ``accelsim.workload.network.Node`` (one group of it).

    Conv2d: IFMAP H+2P x W+2P (SCALE-Sim takes the padded size), filter, in_channels/groups,
    out_channels/groups, stride. Linear: a 1x1 convolution of a 1x1 IFMAP with in_features
    channels and out_features filters. Other layers (pooling, activations, ...) run no GEMM on
    the array: ``None``. Raises for what SCALE-Sim cannot express (dilation, unequal strides).
    """
    from accelsim.workload.layers import Conv2d, Linear

    layer = node.layer
    if isinstance(layer, Linear):
        return (layer.name, 1, 1, 1, 1, layer.in_features, layer.out_features, 1)
    if isinstance(layer, Conv2d):
        if layer.dilation != (1, 1):
            raise ScaleSimConventionError(f"layer '{layer.name}': dilation", "SCALE-Sim has no dilated convolution")
        sh, sw = layer.stride
        if sh != sw:
            raise ScaleSimConventionError(f"layer '{layer.name}': stride", f"SCALE-Sim needs equal strides, got {sh}x{sw}")
        _, h, w = node.input_shape
        (kh, kw), (ph, pw) = layer.kernel_size, layer.padding
        g = layer.groups
        return (layer.name, h + 2 * ph, w + 2 * pw, kh, kw, layer.in_channels // g, layer.out_channels // g, sh)
    return None


def scalesim_node(node, rows: int, cols: int, dataflow: str, **sram_kb) -> dict | None:
    """``scalesim_layer`` for an accelsim network node (``None`` for layers without a GEMM).

    A grouped convolution is ``groups`` identical SCALE-Sim rows run one after another (as
    SCALE-Sim's own "DP" rows split a depthwise layer): cycles and access counts are summed,
    per-fold averages kept, ``overall_util`` recomputed; per-layer start/stop cycles and
    bandwidths are dropped when groups > 1. ``layers`` tells how many rows were summed.
    """
    row = topology_row(node)
    if row is None:
        return None
    one = scalesim_layer(*row[1:], rows=rows, cols=cols, dataflow=dataflow, **sram_kb)
    groups = getattr(node.layer, "groups", 1)
    if groups == 1:
        return {**one, "layers": 1}
    out = {k: one[k] for k in _KEPT}
    for k in _ADDITIVE:
        out[k] = None if one[k] is None else one[k] * groups
    out["overall_util"] = out["macs"] * 100 / (out["total_cycles"] * rows * cols)
    out["layers"] = groups
    return out


def scalesim_network(network, rows: int, cols: int, dataflow: str, **sram_kb) -> list[tuple[str, dict]]:
    """``scalesim_node`` for every GEMM layer of a network, in order: [(layer name, result), ...]."""
    out = []
    for node in network:
        r = scalesim_node(node, rows, cols, dataflow, **sram_kb)
        if r is not None:
            out.append((node.layer.name, r))
    return out


# The name the task brief asked for; same function.
scalesim_layer_cycles = scalesim_layer


def scalesim_simulation(network, cfg, batch: int = 1):
    """``accelsim simulate --convention scalesim``: SCALE-Sim's per-layer report as a DataFrame.

    One row per conv/linear layer (SCALE-Sim has no pooling or activation layers), with the
    columns of our own ``simulate`` where SCALE-Sim has the quantity: ``cycles`` is its "Total
    Cycles", ``utilization``/``compute_utilization``/``mapping_efficiency`` its percentages as
    fractions, DRAM bytes its one-byte words (NaN where ``scalesim_layer`` cannot reproduce
    them). SRAM sizes are the config's KiB (SCALE-Sim's ``*SramSzkB``); bandwidth, buffering and
    element widths do not enter (CALC mode). Returns ``(layers, totals)``.
    """
    import pandas as pd

    if batch != 1:
        raise ScaleSimConventionError("batch", f"SCALE-Sim simulates batch 1 only, got {batch}")
    sram = {f"{b}_sram_kb": max(1, int(round(getattr(cfg, f"{b}_sram_kib")))) for b in ("ifmap", "filter", "ofmap")}
    rows = []
    for name, r in scalesim_network(network, cfg.rows, cfg.cols, cfg.dataflow, **sram):
        reads = (None if r["ifmap_dram_reads"] is None or r["filter_dram_reads"] is None
                 else (r["ifmap_dram_reads"] + r["filter_dram_reads"]) * _WORD_BYTES)
        rows.append({
            "layer": name, "gemm_m": r["M"], "gemm_k": r["K"], "gemm_n": r["N"], "gemm_groups": r["layers"],
            "folds": r["folds"], "macs": r["macs"], "cycles": r["total_cycles"],
            "compute_cycles": r["compute_cycles"], "stall_cycles": r["stall_cycles"],
            "ideal_cycles": math.ceil(r["macs"] / (cfg.rows * cfg.cols)),
            "utilization": r["overall_util"] / 100, "compute_utilization": r["compute_util"] / 100,
            "mapping_efficiency": r["mapping_efficiency"] / 100,
            "ifmap_sram_reads": r["ifmap_sram_reads"], "filter_sram_reads": r["filter_sram_reads"],
            "ofmap_sram_writes": r["ofmap_sram_writes"],
            "dram_read_bytes": float("nan") if reads is None else reads,
            "dram_write_bytes": r["ofmap_dram_writes"] * _WORD_BYTES,
        })
    if not rows:
        raise ScaleSimConventionError("model", "has no conv or linear layer to simulate")
    df = pd.DataFrame(rows)
    df.attrs.update(network=network.name, convention="scalesim")
    summed = ("macs", "folds", "cycles", "compute_cycles", "stall_cycles", "ideal_cycles", "ifmap_sram_reads",
              "filter_sram_reads", "ofmap_sram_writes", "dram_write_bytes")
    totals = {k: int(df[k].sum()) for k in summed}
    totals["dram_read_bytes"] = None if df["dram_read_bytes"].isna().any() else int(df["dram_read_bytes"].sum())
    totals["utilization"] = totals["macs"] / (cfg.rows * cfg.cols * totals["cycles"])
    totals["latency_ms"] = totals["cycles"] / (cfg.clock_mhz * 1e3)
    return df, totals
