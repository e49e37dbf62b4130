"""Per-access energy costs (pJ): MAC, vector-unit op, register file, SRAM, DRAM.

Sources and choices (45 nm, 0.9 V unless stated); the names say the unit:

- **MAC** ``mac_pJ = 0.3``: an int8 x int8 multiply (0.2 pJ) plus the int32 accumulate add
  (0.1 pJ), M. Horowitz, "Computing's energy problem (and what we can do about it)", ISSCC 2014,
  table of operation energies (8b mult 0.2 pJ, 32b add 0.1 pJ). The array's accumulator is ACC_W =
  32 bits wide (docs/microarchitecture.md), hence the 32-bit add.
- **Vector op** ``vector_op_pJ = 0.03``: one 8-bit add (Horowitz: 0.03 pJ) for every pooling
  comparison or add, activation, LRN and softmax operation of the vector unit (operands are
  requantized to int8 between layers). It ignores that exp/divide cost more; these layers are a
  negligible share of a CNN's energy either way.
- **Register file** ``rf_pJ_per_byte = 0.15``: Horowitz gives no register-file figure, so we take
  Eyeriss's normalized cost (Y.-H. Chen, J. Emer, V. Sze, "Eyeriss: a spatial architecture for
  energy-efficient dataflow for CNNs", ISCA 2016, fig. 1: a 0.5-1 kB RF access costs 1x a MAC, a
  100-500 kB buffer 6x, DRAM 200x, per 16-bit word) and scale it by our MAC: 0.3 pJ per 2-byte word.
- **SRAM** ``sram_pJ_per_byte``: Horowitz's 64-bit (8-byte) SRAM reads, 8 KB 10 pJ, 32 KB 20 pJ,
  1 MB 100 pJ, i.e. 1.25, 2.5 and 12.5 pJ/byte at 8, 32 and 1024 KiB. A bank of another size is
  interpolated linearly in log(size)-log(energy) between the two nearest anchors (the cost grows
  roughly with the square root of the capacity, wire length); below the smallest anchor it costs
  the smallest anchor's, above the largest it follows the last segment's slope. Writes cost the
  same as reads.
- **DRAM** ``dram_pJ_per_byte = 160``: Horowitz's DRAM access, 1.3-2.6 nJ per 64 bits; we take
  the low end, 1.3 nJ / 8 bytes ~ 160 pJ/byte, which is also the 640 pJ per 32-bit access used
  by Han et al. (EIE, ISCA 2016) from the same source.

Absolute Horowitz numbers are used for MAC, SRAM and DRAM because Eyeriss's ratios are
normalized to a 16-bit MAC in 65 nm; mixing the two for SRAM/DRAM would not be one technology.
Every value can be overridden from a sweep spec's ``energy:`` mapping.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any

from accelsim.errors import AccelsimError

HOROWITZ_SRAM_PJ_PER_BYTE = ((8.0, 1.25), (32.0, 2.5), (1024.0, 12.5))


class EnergyError(AccelsimError):
    """A bad energy-table value; names the key."""

    def __init__(self, key: str, problem: str):
        super().__init__(f"energy: {key}: {problem}")
        self.key, self.problem = key, problem


def _positive(key: str, v: object) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        raise EnergyError(key, f"expected a finite number, got {v!r}")
    if v <= 0:
        raise EnergyError(key, f"must be > 0, got {v}")
    return float(v)


@dataclass(frozen=True)
class EnergyTable:
    """Energy per access: ``mac_pJ`` per MAC, ``vector_op_pJ`` per vector-unit op, the rest per byte
    moved (see the module docstring).

    ``sram_pJ_per_byte`` is a tuple of (bank KiB, pJ/byte) anchors, sorted by size.
    """

    mac_pJ: float = 0.3
    vector_op_pJ: float = 0.03
    rf_pJ_per_byte: float = 0.15
    sram_pJ_per_byte: tuple[tuple[float, float], ...] = HOROWITZ_SRAM_PJ_PER_BYTE
    dram_pJ_per_byte: float = 160.0

    def __post_init__(self) -> None:
        for key in ("mac_pJ", "vector_op_pJ", "rf_pJ_per_byte", "dram_pJ_per_byte"):
            object.__setattr__(self, key, _positive(key, getattr(self, key)))
        anchors = self.sram_pJ_per_byte
        if isinstance(anchors, dict):
            anchors = anchors.items()
        try:
            pairs = [(k, v) for k, v in anchors]
        except (TypeError, ValueError):
            raise EnergyError("sram_pJ_per_byte", f"expected a mapping of KiB to pJ/byte, got {anchors!r}") from None
        if not pairs:
            raise EnergyError("sram_pJ_per_byte", "must have at least one size")
        clean = sorted((_positive("sram_pJ_per_byte", k), _positive("sram_pJ_per_byte", v)) for k, v in pairs)
        if len({k for k, _ in clean}) != len(clean):
            raise EnergyError("sram_pJ_per_byte", "a size appears twice")
        object.__setattr__(self, "sram_pJ_per_byte", tuple(clean))

    def sram_cost(self, kib: float) -> float:
        """pJ per byte of an SRAM bank of ``kib`` KiB (log-log interpolation of the anchors)."""
        pts = self.sram_pJ_per_byte
        if len(pts) == 1 or kib <= pts[0][0]:
            return pts[0][1]
        for lo, hi in itertools.pairwise(pts):
            if kib <= hi[0]:
                return _loglog(*lo, *hi, kib)
        return _loglog(*pts[-2], *pts[-1], kib)

    def to_dict(self) -> dict:
        """Plain, JSON-able form; the sweep key hashes it."""
        d = asdict(self)
        d["sram_pJ_per_byte"] = [[k, v] for k, v in self.sram_pJ_per_byte]
        return d

    @classmethod
    def from_mapping(cls, doc: Mapping[str, Any], base: EnergyTable | None = None) -> EnergyTable:
        """``base`` (default: DEFAULT_TABLE) with the keys of ``doc`` replaced; unknown keys are errors."""
        base = base or DEFAULT_TABLE
        if not isinstance(doc, dict):
            raise EnergyError("energy", f"expected a mapping, got {doc!r}")
        allowed = {f.name for f in fields(cls)}
        for key in doc:
            if key not in allowed:
                raise EnergyError(str(key), f"unknown key (allowed: {', '.join(sorted(allowed))})")
        kwargs = {f.name: getattr(base, f.name) for f in fields(cls)}
        kwargs.update(doc)
        return cls(**kwargs)


def _loglog(k0: float, e0: float, k1: float, e1: float, k: float) -> float:
    t = math.log(k / k0) / math.log(k1 / k0)
    return math.exp(math.log(e0) + t * (math.log(e1) - math.log(e0)))


DEFAULT_TABLE = EnergyTable()
