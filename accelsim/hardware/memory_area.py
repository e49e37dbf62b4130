"""SRAM area and leakage per buffer size, and the DRAM interface's area, at 45 nm (the node of the
NanGate cell areas in ``accelsim.synth.cells`` and of Horowitz's energies in ``accelsim.energy.table``).
A leaf data module: it imports nothing from accelsim.

**SRAM** (``SRAM_CACTI45``): CACTI 7.0 (github.com/HewlettPackard/cacti, commit 1ffd8dfb1030; N.
Muralimanohar, R. Balasubramonian, N. P. Jouppi, "CACTI 6.0: a tool to model large caches", HP Labs
HPL-2009-85, and R. Balasubramonian et al., "CACTI 7", ACM TACO 14(2), 2017), run on its sample
``cache.cfg`` with six lines changed: ``-size (bytes)`` the buffer, ``-block size (bytes) 8``,
``-associativity 1``, ``-technology (u) 0.045``, ``-output/input bus width 64``,
``-cache type "ram"`` (a scratchpad: no tag array); one bank, one read/write port, ITRS-HP cells
and periphery (the sample's choice), 360 K. Per size: area = CACTI's "Cache height x width (mm)",
leakage = "Total leakage power of a bank (mW)" + "Total gate leakage power of a bank (mW)". Other
sizes are interpolated linearly in log(size)-log(value) between the two nearest anchors and
extrapolated along the end segments. ITRS-HP leaks about 1.2 mW per KiB; the same buffers in
ITRS-LSTP cells and periphery have about the same area (64 KiB: 0.236 vs 0.234 mm^2) and leak
0.017 mW per 64 KiB, so leakage here is an upper end (high-performance transistors).

**DRAM interface** (``dram_interface_area_mm2``): CACTI-IO's area of the external IO circuits
(N. P. Jouppi, A. B. Kahng, N. Muthali, V. Srinivas, "CACTI-IO: CACTI with off-chip power-area-timing
models", IEEE TVLSI 23(7), 2015; ``Extio::extio_area`` in CACTI 7's ``extio.cc`` with the DDR3
coefficients of ``extio_technology.cc``): per IO ``c + k0 / R_on + (k1 f + k2 f^2 + k3 f^3) / R_on``
mm^2 with f in MHz, times the signal IOs (DQ + DQS + CA + CLK). It covers the IO drivers and
termination only (no PHY logic, no decap, no pads). CACTI 7's own run prints an infinite IO area for
its sample configs (it never reads ``-ron_value``, so R_on is 0); we evaluate the same formula with the
sample's ``-ron_value 34`` and ``-bus_freq 800 MHz`` (DDR3-1600), for one x64 channel without ECC:
64 DQ, 16 DQS (8 differential strobes), the sample's 25 CA and 2 CLK pins.
"""

from __future__ import annotations

import math

NODE_NM = 45

# (KiB, area mm^2, subthreshold leakage mW, gate leakage mW), CACTI 7 at 45 nm as above.
SRAM_CACTI45: tuple[tuple[float, float, float, float], ...] = (
    (4, 0.015032, 5.9255, 0.1794),       # 0.192095 x 0.0782532 mm
    (8, 0.029403, 10.9893, 0.3231),      # 0.192995 x 0.152351 mm
    (16, 0.054929, 21.7743, 0.6048),     # 0.361367 x 0.152003 mm
    (32, 0.106242, 40.9298, 1.0943),     # 0.362987 x 0.292688 mm
    (64, 0.234013, 81.8597, 2.1887),     # 0.728314 x 0.321308 mm
    (128, 0.435513, 149.7450, 3.7813),   # 0.734614 x 0.592846 mm
    (256, 0.894783, 299.4900, 7.5627),   # 1.46959 x 0.608866 mm
    (512, 1.775142, 598.9800, 15.1253),  # 1.49623 x 1.18641 mm
    (1024, 3.565399, 1197.9600, 30.2507),  # 2.96383 x 1.20297 mm
    (2048, 7.029594, 2395.9200, 60.5013),  # 2.99389 x 2.34798 mm
    (4096, 13.946801, 4786.6800, 120.8490),  # 5.89617 x 2.3654 mm
)

# CACTI-IO DDR3 coefficients (extio_technology.cc) and the interface evaluated.
DDR3_IOAREA = {"c": 0.01, "k0": 0.5, "k1": 0.00015, "k2": 0.000000045, "k3": 0.000000000015}
DDR3_R_ON_OHM = 34.0
DDR3_BUS_MHZ = 800.0
DDR3_X64_SIGNAL_IOS = 64 + 16 + 25 + 2

# The table in log-log space, computed once: each row's log(KiB) and the logs of its three values.
_LOG_TABLE = tuple(tuple(math.log(v) for v in row) for row in SRAM_CACTI45)


def _loglog(kib: float, column: int) -> float:
    """The table's ``column`` at ``kib``, log-log interpolated between anchors (end segments extended)."""
    if not (math.isfinite(kib) and kib > 0):
        raise ValueError(f"SRAM size must be > 0 KiB, got {kib}")
    points = [(row[0], row[column]) for row in _LOG_TABLE]
    x = math.log(kib)
    i = 1
    while i < len(points) - 1 and x > points[i][0]:
        i += 1
    (x0, y0), (x1, y1) = points[i - 1], points[i]
    return math.exp(y0 + (y1 - y0) * (x - x0) / (x1 - x0))


def sram_area_mm2(kib: float) -> float:
    """Area of one SRAM buffer of ``kib`` KiB (CACTI 7, 45 nm)."""
    return _loglog(kib, 1)


def sram_leakage_mW(kib: float) -> float:
    """Leakage power (subthreshold + gate) of one SRAM buffer of ``kib`` KiB (CACTI 7, 45 nm, ITRS-HP)."""
    return _loglog(kib, 2) + _loglog(kib, 3)


def dram_io_area_mm2(signal_ios: int = DDR3_X64_SIGNAL_IOS, bus_mhz: float = DDR3_BUS_MHZ,
                     r_on_ohm: float = DDR3_R_ON_OHM) -> float:
    """CACTI-IO's DDR3 IO area: per-IO area times ``signal_ios``."""
    k, f = DDR3_IOAREA, bus_mhz
    per_io = k["c"] + k["k0"] / r_on_ohm + (k["k1"] * f + k["k2"] * f**2 + k["k3"] * f**3) / r_on_ohm
    return signal_ios * per_io


def dram_interface_area_mm2() -> float:
    """One DDR3-1600 x64 channel's IO circuits (CACTI-IO), the interface every design here has."""
    return dram_io_area_mm2()
