"""The memory system stepped one clock at a time: SRAM buffers, residency, two DRAM channels.

The cycle-by-cycle counterpart of ``traffic`` + ``schedule``, written from the contract's
mechanics rather than its formulas, so the two can check each other:

- The read channel moves ``bandwidth`` bytes per cycle (an exact fraction p/q: a transfer of b
  bytes ends in the cycle its cumulative p-units reach b*q) into the buffer the next fold will
  use. With double buffering fold f fills half f mod 2, free once fold f-2 has computed; with
  single buffering the one buffer is free once fold f-1 has computed.
- Residency is tracked tile by tile: an operand that fits its buffer keeps every tile it loaded;
  one that does not is evicted after use. Partial sums of a block that does not fit the ofmap
  buffer are written out and read back (after the previous fold's write has finished).
- The write channel drains folds' outputs in order, each once the fold has computed.

Each cycle the caller first calls ``start(t, computed)`` (transfers whose conditions hold begin
at cycle t; zero-byte transfers end at once), then ``tick()`` to move the channels through
cycle t.
"""

from __future__ import annotations

from dataclasses import dataclass

from accelsim.systolic.config import ArrayConfig
from accelsim.systolic.mapping import Fold


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
    """Buffers and DRAM channels for one layer's folds (all groups, in order)."""

    def __init__(self, cfg: ArrayConfig, requests: list[FoldRequest]):
        self.cfg, self.requests = cfg, requests
        bw = cfg.bandwidth_fraction
        self.reads, self.writes = _Channel(bw.numerator, bw.denominator), _Channel(bw.numerator, bw.denominator)
        self.next_load = 0
        self.next_write = 0
        self.resident: set[tuple] = set()
        self.read_bytes = [0] * len(requests)
        self.write_bytes = [0] * len(requests)
        self.counts = dict.fromkeys(("ifmap_dram_bytes", "filter_dram_bytes", "psum_dram_bytes",
                                     "ifmap_sram_writes", "filter_sram_writes"), 0)

    def _fits(self, which: str, nbytes: int) -> bool:
        """Whether ``nbytes`` fit the part of SRAM ``which`` one fold may use."""
        return nbytes * (2 if self.cfg.double_buffer else 1) <= self.cfg.sram_bytes(which)

    def _spills(self, r: FoldRequest) -> bool:
        f = r.fold
        return not (f.first_k and f.last_k) and not self._fits("ofmap", f.mt * f.nt * self.cfg.acc_bytes)

    def _operand_bytes(self, r: FoldRequest) -> tuple[int, int]:
        """Bytes of A and B this fold must fetch, updating residency (tiles of operands that fit stay)."""
        cfg, f = self.cfg, r.fold
        out = []
        for name, which, footprint, key, elems in (
            ("A", "ifmap", r.m * r.k, (f.m0, f.k0), f.mt * f.kt),
            ("B", "filter", r.k * r.n, (f.k0, f.n0), f.kt * f.nt),
        ):
            tag = (r.group, name, *key)
            if tag in self.resident:
                out.append(0)
                continue
            if self._fits(which, footprint * cfg.data_bytes):
                self.resident.add(tag)
            out.append(elems)
        return out[0], out[1]

    def _can_load(self, f: int, computed: int) -> bool:
        if self.reads.active is not None or f >= len(self.requests):
            return False
        if self.cfg.double_buffer:
            free = f < 2 or computed >= f - 1
        else:
            free = computed >= f
        r = self.requests[f]
        if free and self._spills(r) and not r.fold.first_k:
            free = self.writes.done(f - 1)
        return free

    def start(self, t: int, computed: int) -> None:
        """Begin, at cycle t, every transfer whose conditions hold (``computed`` folds are done)."""
        while True:
            progressed = False
            if self.writes.active is None and self.next_write < computed:
                f = self.next_write
                r = self.requests[f]
                elems = r.fold.mt * r.fold.nt
                nbytes = elems * self.cfg.out_bytes if r.fold.last_k else (
                    elems * self.cfg.acc_bytes if self._spills(r) else 0)
                self.write_bytes[f] = nbytes
                self.writes.begin(f, nbytes, t)
                self.next_write += 1
                progressed = True
            if self._can_load(self.next_load, computed):
                f = self.next_load
                r = self.requests[f]
                a, b = self._operand_bytes(r)
                psum = r.fold.mt * r.fold.nt * self.cfg.acc_bytes if (self._spills(r) and not r.fold.first_k) else 0
                db = self.cfg.data_bytes
                self.counts["ifmap_dram_bytes"] += a * db
                self.counts["filter_dram_bytes"] += b * db
                self.counts["psum_dram_bytes"] += psum
                self.counts["ifmap_sram_writes"] += a
                self.counts["filter_sram_writes"] += b
                self.read_bytes[f] = (a + b) * db + psum
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
