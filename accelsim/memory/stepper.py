"""The memory system stepped one clock at a time: SRAM buffers, residency, two DRAM channels.

The cycle-by-cycle counterpart of ``traffic`` + ``schedule``, written from the contract's
mechanics rather than its formulas, so the two can check each other:

- The read channel moves ``bandwidth`` bytes per cycle (an exact fraction p/q: a transfer of b
  bytes ends in the cycle its cumulative p-units reach b*q) into the buffer the next fold will
  use. With double buffering fold f fills half f mod 2, free once fold f-2 has released it; with
  single buffering the one buffer is free once fold f-1 has released it. A fold releases its
  buffer after its last beat when folds are pipelined, after its ``done`` when they are serial
  (docs/microarchitecture.md, "Memory": be_f).
- Residency is tracked tile by tile: a tile whose reuse footprint for the fold (the fold's block
  of the outer operand, or the whole other operand; see ``traffic``) fits its buffer stays once
  loaded; any other tile is evicted after use. Partial sums stay in the ofmap buffer (the folds
  are chunked so that they fit; a request list that would need a spill is rejected).
- The write channel drains folds' final outputs in order, each once the fold has computed.
- A layer whose A operand is on chip (``ifmap_on_chip``, ``memory.onchip``) fetches no A tiles; one
  whose output stays on chip (``output_on_chip``) writes 0 bytes and puts its final values into the
  ifmap SRAM.

Each cycle the caller first calls ``start(t, computed, released)`` (transfers whose conditions hold begin
at cycle t; zero-byte transfers end at once), then ``tick()`` to move the channels through
cycle t.
"""

from __future__ import annotations

from dataclasses import dataclass

from accelsim.hardware.config import ArrayConfig
from accelsim.mapping.dataflow import Dataflow
from accelsim.mapping.folds import Fold
from accelsim.mapping.space import Mapping, as_mapping
from accelsim.memory.traffic import outer_axis


@dataclass(frozen=True)
class FoldRequest:
    """What fold ``index`` of the layer needs: its tiles, keyed by (group, origin), and its GEMM."""

    group: int
    fold: Fold
    m: int
    k: int
    n: int


class _Channel:
    """One DRAM direction: a queue of transfers served in order at ``p/q`` bytes per cycle."""

    def __init__(self, p: int, q: int):
        self.p, self.q = p, q
        self.active: tuple[int, int] | None = None  # (fold, bytes*q still to move)
        self.end: dict[int, int] = {}

    def begin(self, f: int, nbytes: int, t: int) -> None:
        if nbytes == 0:
            self.end[f] = t
        else:
            self.active = (f, nbytes * self.q)

    def tick(self, t: int) -> None:
        if self.active is None:
            return
        f, left = self.active
        left -= self.p
        if left <= 0:
            self.end[f] = t + 1
            self.active = None
        else:
            self.active = (f, left)

    def done(self, f: int) -> bool:
        return f in self.end


class MemorySystem:
    """Buffers and DRAM channels for one layer's folds (all groups, in order) under ``mapping`` (a Mapping, a
    dataflow's fixed one, or None: the config's); its order decides which operand is reused block by block."""

    def __init__(self, cfg: ArrayConfig, requests: list[FoldRequest], mapping: Mapping | str | Dataflow | None = None,
                 *, ifmap_on_chip: bool = False, output_on_chip: bool = False):
        self.cfg, self.requests = cfg, requests
        self.ifmap_on_chip, self.output_on_chip = ifmap_on_chip, output_on_chip
        self.mapping = as_mapping(mapping, cfg.dataflow)
        self.dataflow = self.mapping.flow
        for r in requests:
            f = r.fold
            if not (f.first_k and f.last_k) and not self._fits("ofmap", f.mt * f.nt * cfg.acc_bytes):
                raise ValueError(f"MemorySystem: fold {f.index}'s {f.mt}x{f.nt} partial sums do not fit the usable "
                                 f"ofmap SRAM; enumerate the folds with the config's stream chunk")
        bw = cfg.bandwidth_fraction
        self.reads, self.writes = _Channel(bw.numerator, bw.denominator), _Channel(bw.numerator, bw.denominator)
        self.next_load = 0
        self.next_write = 0
        self.resident: set[tuple] = set()
        self.read_bytes = [0] * len(requests)
        self.write_bytes = [0] * len(requests)
        self.counts = dict.fromkeys(("ifmap_dram_bytes", "filter_dram_bytes", "ifmap_sram_writes",
                                     "filter_sram_writes"), 0)

    def _fits(self, which: str, nbytes: int) -> bool:
        """Whether ``nbytes`` fit the part of SRAM ``which`` one fold may use."""
        return nbytes * (2 if self.cfg.double_buffer else 1) <= self.cfg.sram_bytes(which)

    def _operand_bytes(self, r: FoldRequest) -> tuple[int, int]:
        """Elements of A and B this fold must fetch, updating residency (tiles whose footprint fits stay)."""
        cfg, f = self.cfg, r.fold
        # what the fold order reuses: the outer loop's block of one operand (all of K), the other whole
        by_m = outer_axis(self.mapping.order) == "m"
        a_foot = f.mt * r.k if by_m else r.m * r.k
        b_foot = r.k * r.n if by_m else r.k * f.nt
        out = []
        for name, which, footprint, key, elems in (
            ("A", "ifmap", a_foot, (f.m0, f.k0), f.mt * f.kt),
            ("B", "filter", b_foot, (f.k0, f.n0), f.kt * f.nt),
        ):
            tag = (r.group, name, *key)
            if tag in self.resident or (name == "A" and self.ifmap_on_chip):
                out.append(0)
                continue
            if self._fits(which, footprint * cfg.data_bytes):
                self.resident.add(tag)
            out.append(elems)
        return out[0], out[1]

    def _can_load(self, f: int, released: int) -> bool:
        if self.reads.active is not None or f >= len(self.requests):
            return False
        if self.cfg.double_buffer:
            return f < 2 or released >= f - 1
        return released >= f

    def start(self, t: int, computed: int, released: int | None = None) -> None:
        """Begin, at cycle t, every transfer whose conditions hold: ``computed`` folds are done (their
        outputs may be written), ``released`` (default ``computed``) no longer read their buffers."""
        released = computed if released is None else released
        while True:
            progressed = False
            if self.writes.active is None and self.next_write < computed:
                f = self.next_write
                r = self.requests[f]
                final = r.fold.mt * r.fold.nt if r.fold.last_k else 0
                nbytes = 0 if self.output_on_chip else final * self.cfg.out_bytes
                if self.output_on_chip:
                    self.counts["ifmap_sram_writes"] += final
                self.write_bytes[f] = nbytes
                self.writes.begin(f, nbytes, t)
                self.next_write += 1
                progressed = True
            if self._can_load(self.next_load, released):
                f = self.next_load
                r = self.requests[f]
                a, b = self._operand_bytes(r)
                db = self.cfg.data_bytes
                self.counts["ifmap_dram_bytes"] += a * db
                self.counts["filter_dram_bytes"] += b * db
                self.counts["ifmap_sram_writes"] += a
                self.counts["filter_sram_writes"] += b
                self.read_bytes[f] = (a + b) * db
                self.reads.begin(f, self.read_bytes[f], t)
                self.next_load += 1
                progressed = True
            if not progressed:
                return

    def loaded(self, f: int) -> bool:
        return self.reads.done(f)

    def tick(self, t: int) -> None:
        """Move both channels through cycle t."""
        self.reads.tick(t)
        self.writes.tick(t)

    def written(self) -> bool:
        """Every fold's output has been written."""
        return len(self.writes.end) == len(self.requests)
