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

**Static power** (``leakage_pJ`` = static power x time, ``accelsim.energy.model``) is not a per-access
cost: it comes from the design's area model, ``accelsim.synth.area.AreaBreakdown.leakage_mW`` (logic:
the synthesized cells x the NanGate 45 nm Liberty leakage, ``accelsim.synth.cells``; SRAMs: CACTI 7,
``accelsim.hardware.memory_area``).

**Technology node** (``Technology``, ``tech_node_nm``): every figure above and the area and leakage
figures are 45 nm. Another node scales them by A. Stillmaker and B. Baas, "Scaling equations for the
accurate prediction of CMOS device performance from 180 nm to 7 nm", Integration, the VLSI Journal 58
(2017) 74-81 (their fitted HSPICE results of PTM and PTM-MG high-performance models):

- area x ``AREA_FACTOR`` (their table of area scaling factors, the 45 nm row): logic cells and SRAMs;
- dynamic energy per access (MAC, vector op, register file, SRAM) x E(node) / E(45), E the paper's
  energy polynomial ``a V^2 + b V + c`` of the node at its nominal supply (``NODE_FIT``);
- static power (logic and SRAM leakage) x P(node) / P(45), P the paper's power polynomial likewise
  (the paper fits power dissipation as a whole, it does not separate leakage: an approximation);
- not scaled: DRAM energy per byte and the DRAM interface's area (the DRAM chips and the off-chip
  signalling are not built in the accelerator's node).

Nodes offered: the paper's high-performance ones, 45, 32, 20, 16, 14, 10 and 7 nm, each at its nominal
supply (PTM 45/32 nm: 1.0/0.9 V; PTM-MG 20/16/14/10/7 nm: 0.9/0.85/0.8/0.75/0.7 V). Factors
(45 nm = 1): area 0.46, 0.21, 0.19, 0.17, 0.1, 0.059; energy 0.531, 0.233, 0.161, 0.112, 0.0816,
0.0555; power 0.524, 0.357, 0.234, 0.157, 0.118, 0.0805 (32 ... 7 nm; ``Technology.describe()``).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any

from accelsim.errors import AccelsimError

HOROWITZ_SRAM_PJ_PER_BYTE = ((8.0, 1.25), (32.0, 2.5), (1024.0, 12.5))

BASE_NODE_NM = 45  # the node of every figure here, of the NanGate cells and of the CACTI SRAMs
# Stillmaker & Baas 2017, high-performance models: node nm -> (nominal V, energy a, b, c, power a, b, c);
# E(V) = a V^2 + b V + c (their energy table), P(V) likewise (their power table).
NODE_FIT: dict[int, tuple[float, tuple[float, float, float], tuple[float, float, float]]] = {
    45: (1.0, (1.018, -0.3107, 0.1539), (5462.0, -1760.0, 522.4)),
    32: (0.9, (0.8367, -0.4341, 0.1701), (4001.0, -1733.0, 533.6)),
    20: (0.9, (0.373, -0.1582, 0.04104), (2922.0, -1286.0, 299.9)),
    16: (0.85, (0.2958, -0.1241, 0.03024), (2133.0, -882.6, 197.7)),
    14: (0.8, (0.2363, -0.09675, 0.02239), (1675.0, -711.0, 159.0)),
    10: (0.75, (0.2068, -0.09311, 0.02375), (1456.0, -621.6, 143.8)),
    7: (0.7, (0.1776, -0.09097, 0.02447), (1179.0, -515.7, 123.4)),
}
# Their area scaling factors from 45 nm to each node.
AREA_FACTOR: dict[int, float] = {45: 1.0, 32: 0.46, 20: 0.21, 16: 0.19, 14: 0.17, 10: 0.1, 7: 0.059}
TECH_NODES_NM = tuple(sorted(NODE_FIT, reverse=True))


def _poly(coef: tuple[float, float, float], v: float) -> float:
    a, b, c = coef
    return a * v * v + b * v + c


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


@dataclass(frozen=True)
class Technology:
    """A technology node: the factors that take the 45 nm figures to ``tech_node_nm`` (module docstring)."""

    tech_node_nm: int = BASE_NODE_NM

    def __post_init__(self) -> None:
        n = self.tech_node_nm
        if isinstance(n, bool) or not isinstance(n, int) or n not in NODE_FIT:
            raise EnergyError("tech_node_nm", f"must be one of {', '.join(map(str, TECH_NODES_NM))} (nm), got {n!r}")

    @property
    def area_factor(self) -> float:
        """On-chip area (logic cells, SRAMs) relative to 45 nm."""
        return AREA_FACTOR[self.tech_node_nm]

    @property
    def energy_factor(self) -> float:
        """Dynamic energy per on-chip access relative to 45 nm, each node at its nominal supply."""
        v, e, _ = NODE_FIT[self.tech_node_nm]
        v0, e0, _ = NODE_FIT[BASE_NODE_NM]
        return _poly(e, v) / _poly(e0, v0)

    @property
    def leakage_factor(self) -> float:
        """Static power relative to 45 nm (the paper's power fit), each node at its nominal supply."""
        v, _, p = NODE_FIT[self.tech_node_nm]
        v0, _, p0 = NODE_FIT[BASE_NODE_NM]
        return _poly(p, v) / _poly(p0, v0)

    def energy_table(self, base: EnergyTable | None = None) -> EnergyTable:
        """``base`` (45 nm figures; default DEFAULT_TABLE) at this node: on-chip costs scaled, DRAM kept."""
        base = base or DEFAULT_TABLE
        if self.tech_node_nm == BASE_NODE_NM:
            return base
        f = self.energy_factor
        return EnergyTable(mac_pJ=base.mac_pJ * f, vector_op_pJ=base.vector_op_pJ * f,
                           rf_pJ_per_byte=base.rf_pJ_per_byte * f,
                           sram_pJ_per_byte=tuple((k, v * f) for k, v in base.sram_pJ_per_byte),
                           dram_pJ_per_byte=base.dram_pJ_per_byte)

    def describe(self) -> str:
        return (f"{self.tech_node_nm} nm (from 45 nm: area x{self.area_factor:.3g}, dynamic energy "
                f"x{self.energy_factor:.3g}, leakage x{self.leakage_factor:.3g}; Stillmaker & Baas 2017)")


def _loglog(k0: float, e0: float, k1: float, e1: float, k: float) -> float:
    t = math.log(k / k0) / math.log(k1 / k0)
    return math.exp(math.log(e0) + t * (math.log(e1) - math.log(e0)))


DEFAULT_TABLE = EnergyTable()
DEFAULT_TECHNOLOGY = Technology()
