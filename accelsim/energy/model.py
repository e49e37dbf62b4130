"""Per-layer and per-network energy from the simulator's access counts, by level.

What each level counts (per layer; no clock tree; idle PEs and padding lanes cost only their
leakage). Counts are those of ``accelsim.systolic.simulate`` (see
``accelsim.memory.traffic``):

- ``mac_pJ``: the layer's MACs x ``mac_pJ`` (conv and linear layers, on the array).
- ``vector_pJ``: the vector unit's operations (pooling, activations, LRN, softmax) x
  ``vector_op_pJ``.
- ``rf_pJ``: per MAC, the PE's registers move ``2 x data_bytes + 2 x acc_bytes`` bytes (operands a
  and b are each read once from their forwarding registers; the accumulator in OS, or the partial
  sum in WS/IS, is read and written once), x ``rf_pJ_per_byte``.
- ``sram_pJ``: every SRAM element access, ``{ifmap,filter,ofmap}_sram_{reads,writes}`` (operand
  tiles delivered to the array, DRAM fills of ifmap/filter, output rows and read-modify-writes
  of the ofmap), plus the ofmap's DRAM side: the bytes written to DRAM are read out of it. Each at
  the per-byte cost of its buffer's bank: a double-buffered SRAM is two banks of half its size,
  a single-buffered one is one bank. The vector unit streams from DRAM and skips the SRAMs.
- ``dram_pJ``: DRAM bytes read and written (array and vector unit) x ``dram_pJ_per_byte``.
- ``leakage_pJ``: the chip's static power ``leakage_mW`` (the caller's: it depends on the area)
  x the layer's time, ``cycles`` at ``clock_mhz``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from accelsim.columns import ENERGY
from accelsim.energy.table import DEFAULT_TABLE, EnergyTable
from accelsim.hardware.config import ArrayConfig

if TYPE_CHECKING:  # pandas only where a DataFrame is built: the simulator prices rows without it
    import pandas as pd

ENERGY_COLUMNS = ENERGY  # mac_pJ .. leakage_pJ, then total_pJ (``accelsim.columns``)
BUFFERS = ("ifmap", "filter", "ofmap")


def bank_kib(cfg: ArrayConfig, buffer: str) -> float:
    """The capacity of one physically accessed bank of ``buffer``."""
    kib = getattr(cfg, f"{buffer}_sram_kib")
    return kib / 2 if cfg.double_buffer else kib


def _col(layers: Mapping[str, Any] | pd.DataFrame, name: str, n: int) -> np.ndarray:
    return np.asarray(layers[name], dtype=float) if name in layers else np.zeros(n)


def leakage_pJ(cycles: Any, cfg: ArrayConfig, leakage_mW: float) -> np.ndarray:
    """Static energy of ``cycles`` at ``cfg.clock_mhz`` with ``leakage_mW`` of static power (mW x ms = uJ)."""
    return np.asarray(cycles, dtype=float) * (leakage_mW * 1e3 / cfg.clock_mhz)


def energy_arrays(
    layers: Mapping[str, Any] | pd.DataFrame, n: int, cfg: ArrayConfig, table: EnergyTable = DEFAULT_TABLE,
    leakage_mW: float = 0.0,
) -> dict[str, np.ndarray]:
    """``ENERGY_COLUMNS`` as arrays for ``n`` layers given as column -> array (or a DataFrame).

    Uses ``macs``, ``vector_ops``, ``dram_read_bytes``, ``dram_write_bytes``, the per-buffer SRAM
    counts and (for leakage) ``cycles``; a missing column counts as zero.
    """
    cost = {b: table.sram_cost(bank_kib(cfg, b)) for b in BUFFERS}
    elem = {"ifmap": cfg.data_bytes, "filter": cfg.data_bytes, "ofmap": cfg.acc_bytes}
    macs = _col(layers, "macs", n)
    sram = np.zeros(n)
    for b in BUFFERS:
        sram += (_col(layers, f"{b}_sram_reads", n) + _col(layers, f"{b}_sram_writes", n)) * elem[b] * cost[b]
    wr = _col(layers, "dram_write_bytes", n)
    sram += np.where(macs > 0, wr, 0.0) * cost["ofmap"]
    out = {
        "mac_pJ": macs * table.mac_pJ,
        "vector_pJ": _col(layers, "vector_ops", n) * table.vector_op_pJ,
        "rf_pJ": macs * (2 * cfg.data_bytes + 2 * cfg.acc_bytes) * table.rf_pJ_per_byte,
        "sram_pJ": sram,
        "dram_pJ": (_col(layers, "dram_read_bytes", n) + wr) * table.dram_pJ_per_byte,
        "leakage_pJ": leakage_pJ(_col(layers, "cycles", n), cfg, leakage_mW),
    }
    out["total_pJ"] = sum((out[c] for c in ENERGY_COLUMNS[:-1]), np.zeros(n))
    return out


def layer_energy(layers: pd.DataFrame, cfg: ArrayConfig, table: EnergyTable = DEFAULT_TABLE) -> pd.DataFrame:
    """``ENERGY_COLUMNS`` for each row of a per-layer simulation result (same index)."""
    import pandas as pd

    return pd.DataFrame(energy_arrays(layers, len(layers), cfg, table), index=layers.index)


def network_energy(layers: pd.DataFrame, cfg: ArrayConfig, table: EnergyTable = DEFAULT_TABLE) -> dict[str, float]:
    """The network's ``ENERGY_COLUMNS``: the per-layer energies summed."""
    e = energy_arrays(layers, len(layers), cfg, table)
    return {c: float(e[c].sum()) for c in ENERGY_COLUMNS}
