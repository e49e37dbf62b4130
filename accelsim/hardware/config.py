"""ArrayConfig: the one source of truth for the Python models and the RTL parameters."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, replace
from fractions import Fraction
from functools import cached_property
from typing import Any

from accelsim.errors import AccelsimError

DATAFLOWS = ("os", "ws", "is")
ENGINES = ("fast", "stepping")  # timing engines: closed form per fold, or every register every cycle
MAPPERS = ("fixed", "search")  # one mapping per dataflow, or the best mapping per layer (systolic.mapper)
OBJECTIVES = ("cycles", "energy", "edp")  # what the mapping search minimizes
MIN_BANDWIDTH, MAX_BANDWIDTH = 2.0 ** -10, 2.0 ** 32  # DRAM bytes per cycle
MIN_CLOCK_MHZ, MAX_CLOCK_MHZ = 1.0, 100_000.0  # 1 MHz to 100 GHz
MAX_SRAM_KIB = 2.0 ** 30  # 1 TiB per buffer: byte counts stay exact integers well inside int64
MAX_BATCH = 1 << 20
# The RTL selects OS or WS per fold through its `dataflow` input port; IS runs on the WS datapath.
DATAFLOW_PORT = {"os": 0, "ws": 1, "is": 1}


class ConfigError(AccelsimError):
    """An impossible array configuration; names the field."""

    def __init__(self, fld: str, problem: str):
        super().__init__(f"array config: {fld}: {problem}")
        self.field = fld


def _int(fld: str, v: object, lo: int, hi: int | None = None) -> None:
    if isinstance(v, bool) or not isinstance(v, int):
        raise ConfigError(fld, f"expected an integer, got {v!r}")
    if v < lo or (hi is not None and v > hi):
        raise ConfigError(fld, f"must be in [{lo}, {hi}], got {v}" if hi is not None else f"must be >= {lo}, got {v}")


def _number(fld: str, v: object, positive: bool = True) -> None:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or v != v or v in (float("inf"), float("-inf")):
        raise ConfigError(fld, f"expected a finite number, got {v!r}")
    if positive and v <= 0:
        raise ConfigError(fld, f"must be > 0, got {v}")


@dataclass(frozen=True)
class ArrayConfig:
    """A ROWS x COLS systolic array with its SRAMs and DRAM link.

    ``data_bits``/``acc_bits`` are the RTL's DATA_W/ACC_W (signed operands, wrapping
    accumulator); ``out_bits`` is the width of an output element written to DRAM (default 8: the
    output stage's int8, see ``output_stage``; set it to ``acc_bits`` for raw accumulators). SRAM
    sizes are KiB (1024 bytes); ``bandwidth`` is DRAM bytes per cycle in each direction;
    ``clock_mhz`` converts cycles to seconds and TOPS. ``pipeline`` is the fold issue rule
    (docs/microarchitecture.md, "Issue"): the next fold's beats begin as soon as the array can take
    them (true, the default) or the cycle after the previous fold's ``done`` (false, serial); the RTL
    is the same either way, and both models price either. ``on_chip``: a layer's int8 output may stay
    in the ifmap SRAM for the layers that read it, and the output stage computes the layers fused into
    it (docs/microarchitecture.md, "Layers that stay on chip"); false: every layer reads its inputs
    from DRAM and writes its output to DRAM.
    """

    rows: int = 32
    cols: int = 32
    dataflow: str = "ws"
    data_bits: int = 8
    acc_bits: int = 32
    out_bits: int = 8
    ifmap_sram_kib: float = 256
    filter_sram_kib: float = 256
    ofmap_sram_kib: float = 128
    double_buffer: bool = True
    bandwidth: float = 16.0
    clock_mhz: float = 1000.0
    pipeline: bool = True
    on_chip: bool = True

    def __post_init__(self) -> None:
        _int("rows", self.rows, 1, 1024)
        _int("cols", self.cols, 1, 1024)
        if self.dataflow not in DATAFLOWS:
            raise ConfigError("dataflow", f"must be one of {', '.join(DATAFLOWS)}, got {self.dataflow!r}")
        _int("data_bits", self.data_bits, 2, 32)
        _int("acc_bits", self.acc_bits, 2, 64)
        if self.acc_bits < self.data_bits:
            raise ConfigError("acc_bits", f"{self.acc_bits} is narrower than data_bits {self.data_bits}")
        _int("out_bits", self.out_bits, 1, 64)
        for fld in ("data_bits", "acc_bits", "out_bits"):
            if getattr(self, fld) % 8:
                raise ConfigError(fld, f"must be a whole number of bytes (a multiple of 8), got {getattr(self, fld)}")
        for fld in ("ifmap_sram_kib", "filter_sram_kib", "ofmap_sram_kib", "bandwidth", "clock_mhz"):
            _number(fld, getattr(self, fld))
        # Transfers are priced with the bandwidth as a fraction of denominator <= 2^16 (int64 numpy
        # arithmetic): it is within 1e-5 of the given value from 2^-10 up (0 below 2^-17); above 2^32
        # products overflow. Any bandwidth above the largest fold's bytes is as good as infinite anyway.
        if not MIN_BANDWIDTH <= self.bandwidth <= MAX_BANDWIDTH:
            raise ConfigError("bandwidth", f"must be in [1/1024, 2^32] bytes per cycle, got {self.bandwidth:g}")
        if not MIN_CLOCK_MHZ <= self.clock_mhz <= MAX_CLOCK_MHZ:
            raise ConfigError("clock_mhz", f"must be in [1, 100000] MHz (1 MHz to 100 GHz), got {self.clock_mhz:g}")
        for fld in ("ifmap_sram_kib", "filter_sram_kib", "ofmap_sram_kib"):
            if getattr(self, fld) > MAX_SRAM_KIB:
                raise ConfigError(fld, f"must be at most 2^30 KiB (1 TiB), got {getattr(self, fld):g}")
        for fld in ("double_buffer", "pipeline", "on_chip"):
            if not isinstance(getattr(self, fld), bool):
                raise ConfigError(fld, f"expected true or false, got {getattr(self, fld)!r}")
        # The smallest unit the buffers must hold: one array-sized tile of each operand (both halves
        # with double buffering), and one output row of partial sums.
        halves = 2 if self.double_buffer else 1
        need = {
            "ifmap_sram_kib": halves * self.rows * self.cols * self.data_bytes,
            "filter_sram_kib": halves * self.rows * self.cols * self.data_bytes,
            "ofmap_sram_kib": halves * max(self.rows, self.cols) * self.acc_bytes,
        }
        for fld, nbytes in need.items():
            if getattr(self, fld) * 1024 < nbytes:
                raise ConfigError(
                    fld, f"{getattr(self, fld)} KiB cannot hold one {self.rows}x{self.cols} tile "
                    f"({nbytes} bytes{' x2 for double buffering' if halves == 2 else ''})",
                )

    @property
    def data_bytes(self) -> int:
        return self.data_bits // 8

    @property
    def acc_bytes(self) -> int:
        return self.acc_bits // 8

    @property
    def out_bytes(self) -> int:
        return self.out_bits // 8

    @property
    def output_stage(self) -> bool:
        """Whether final outputs pass the int8 output stage (docs/microarchitecture.md): int8 outputs from a
        32-bit accumulator. Otherwise the raw ACC_W accumulators are the outputs."""
        return self.acc_bits == 32 and self.out_bits == 8

    @property
    def pes(self) -> int:
        return self.rows * self.cols

    @cached_property  # every layer's transfers ask for it; a frozen config computes it once
    def bandwidth_fraction(self) -> Fraction:
        """The bandwidth as an exact fraction, so stepping and fast models round identically."""
        return Fraction(self.bandwidth).limit_denominator(1 << 16)

    def sram_bytes(self, which: str) -> int:
        return int(getattr(self, f"{which}_sram_kib") * 1024)

    def rtl_parameters(self) -> dict[str, int]:
        """Verilog parameters of `systolic_top` (see docs/microarchitecture.md): ``OUT_W`` is ``out_bits`` with
        the output stage (``output_stage``), else ``ACC_W`` (no stage in the RTL)."""
        return {"ROWS": self.rows, "COLS": self.cols, "DATA_W": self.data_bits, "ACC_W": self.acc_bits,
                "OUT_W": self.out_bits if self.output_stage else self.acc_bits}

    def with_(self, **changes: Any) -> ArrayConfig:
        return replace(self, **changes)

    def to_dict(self) -> dict:
        return asdict(self)


def check_batch(batch: object) -> int:
    """A batch size: an integer in [1, MAX_BATCH]."""
    if isinstance(batch, bool) or not isinstance(batch, int):
        raise AccelsimError(f"batch: expected an integer, got {batch!r}")
    if not 1 <= batch <= MAX_BATCH:
        raise AccelsimError(f"batch: must be in [1, {MAX_BATCH}], got {batch}")
    return batch


def parse_array(text: str) -> tuple[int, int]:
    """'32x32' -> (32, 32); one clear error otherwise."""
    m = re.fullmatch(r"\s*(\d+)\s*[xX]\s*(\d+)\s*", str(text))
    if not m:
        raise ConfigError("array", f"expected ROWSxCOLS such as 32x32, got {text!r}")
    rows, cols = int(m.group(1)), int(m.group(2))
    if rows <= 0 or cols <= 0:
        raise ConfigError("array", f"rows and cols must be > 0, got {text!r}")
    return rows, cols
