"""Area from synthesis of the project's RTL: cells by type from yosys, um^2 from the NanGate 45 nm
cell areas (``accelsim.synth.cells``), SRAMs and the DRAM interface from CACTI (``accelsim.hardware.memory_area``).

Each synthesis (a top module and its parameters) is cached on disk under ``<cache>/synth/``
(``$ACCELSIM_CACHE_DIR`` or the user cache, as for simulator builds), keyed by a SHA-256 of the RTL
sources (names and bytes), the top, the parameters, the yosys script and ``yosys -V``: a variant is
never synthesized twice, also not by two processes at once (a lock per key).

Large arrays are not synthesized whole. The model (``ArrayAreaModel``) is

    area(R, C) = R C a_pe + c0 + c1 R + c2 C + c3 R(R-1)/2 + c4 C(C-1)/2

with a_pe the area of one ``systolic_pe`` synthesized alone and c0..c4 a least-squares fit of
``area(systolic_top) - R C a_pe`` over the small arrays ``FIT_SHAPES``, synthesized whole: the
per-edge terms are the edge PEs' unread registers and constant inputs (removed by synthesis) and the
operand/switch skew lanes at the array's left and top; the triangular terms are the skew and deskew
delay lines (lane i is i stages deep), the constant the control (counters, valid pipe, cycle counter).

The output stage (``rtl/output_stage.v``: bias, requantization, activation; one lane per column,
instantiated by ``systolic_top`` when OUT_W < ACC_W) is priced apart: the arrays above are
synthesized with OUT_W = ACC_W (no stage), and a configuration with an output stage
(``ArrayConfig.output_stage``) adds C x ``output_stage`` synthesized with one lane. One lane alone
carries the stage's per-row control (valid, last, clamp bounds) too, so C of them count that control
C times: an upper bound. Measured at ACC_W=32, OUT_W=8: one lane 10,189.1 um^2 (154 flip-flops), two
lanes 20,250.6 (270), so the shared control is 127.7 um^2 (38 flip-flops) and C lanes are
over-counted by (C-1) x 127.7 um^2, 1.25%. (Synthesizing the stage inside every fitted array would
cost minutes per lane under YoWASP.)

Static power (``leakage_mW``) is priced like the area: each synthesized design's cells x the Liberty
leakage of their library cells (``accelsim.synth.cells.CELL_LEAKAGE_NW``), the array by the same
per-PE plus per-edge model fitted to the leakage of the same small arrays; the SRAMs' from CACTI
(``accelsim.hardware.memory_area``); the DRAM interface's IO circuits are not counted (CACTI-IO gives
their area and dynamic power, no static figure). Another technology node scales area and leakage
(``accelsim.energy.table.Technology``).

Variants: a synthesis is keyed by everything it depends on (the RTL sources, top, parameters, script,
yosys version): DATA_W and ACC_W for the PE and the arrays, ACC_W and OUT_W for the output stage. The
issue mode (``ArrayConfig.pipeline``) is not a variant: one RTL serves serial and pipelined folds (the
driver decides when the next fold comes, docs/microarchitecture.md "Issue"), so both price the same
design; a serial-only PE (commit 63c3c50, 1,371.5 um^2 against 1,741.2, benchmarks/bench_pe_area.py)
is not in the RTL.

Committed snapshot: ``accelsim/synth/snapshot.json`` holds the cells of the designs the defaults, the
examples and the tests use (``python -m accelsim.synth.snapshot`` writes it), keyed by the RTL sources,
top, parameters and script, so ``accelsim simulate`` and sweeps price them without running yosys; an
edited RTL file misses the snapshot and is synthesized (and cached) again.
"""

from __future__ import annotations

import fcntl
import functools
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from accelsim.energy.table import DEFAULT_TECHNOLOGY, Technology
from accelsim.hardware.config import ArrayConfig
from accelsim.hardware.memory_area import dram_interface_area_mm2, sram_area_mm2, sram_leakage_mW
from accelsim.hardware.rtl import RTL_DIR, cache_root
from accelsim.synth.cells import ABC_GATES, CELL_AREA_UM2, CELL_LEAKAGE_NW, FLIP_FLOP, GENERIC_CELL, LIBRARY
from accelsim.synth.yosys import SynthError, run_script, yosys_version

PE_TOP = "systolic_pe"
ARRAY_TOP = "systolic_top"
STAGE_TOP = "output_stage"
FIT_SHAPES = ((2, 2), (2, 3), (3, 2), (3, 3), (2, 4), (4, 2))
IGNORED_TYPES = ("$scopeinfo",)  # yosys's hierarchy notes after flattening: no hardware
SNAPSHOT_PATH = Path(__file__).with_name("snapshot.json")

Notify = Callable[[str], None]


def rtl_files() -> list[Path]:
    """Every Verilog file of the project's RTL (yosys keeps what the top instantiates)."""
    paths = sorted(RTL_DIR.glob("*.v"))
    if not paths:
        raise SynthError(f"synthesis: no Verilog sources in {RTL_DIR}")
    return paths


def synth_script(sources: Sequence[str], top: str, params: Mapping[str, int]) -> str:
    """The yosys script: generic synthesis, flattened; D flip-flops only; gates the library has as X1 cells.

    ``sources`` are file names in the run's folder (YoWASP's yosys sees its own /tmp, so every file it
    reads or writes is named relative to the folder it runs in)."""
    chparam = " ".join(f"-set {k} {int(v)}" for k, v in sorted(params.items()))
    return "\n".join([
        "read_verilog " + " ".join(f'"{p}"' for p in sources),
        *([f"chparam {chparam} {top}"] if params else []),
        f"synth -flatten -top {top}",
        f"dfflegalize -cell {FLIP_FLOP} 01",
        f"abc -g {ABC_GATES}",
        "opt_clean",
        "tee -q -o stat.json stat -json",
    ]) + "\n"


def cell_area_um2(cells: Mapping[str, int]) -> float:
    """Sum of count x the library cell area of each generic cell type."""
    unknown = sorted(t for t in cells if t not in GENERIC_CELL)
    if unknown:
        raise SynthError(f"synthesis: cell types without a library equivalent: {', '.join(unknown)}")
    return sum(n * CELL_AREA_UM2[GENERIC_CELL[t]] for t, n in cells.items())


def cell_leakage_nW(cells: Mapping[str, int]) -> float:
    """Sum of count x the library cell leakage of each generic cell type."""
    cell_area_um2(cells)  # the same check: every type has a library cell
    return sum(n * CELL_LEAKAGE_NW[GENERIC_CELL[t]] for t, n in cells.items())


@dataclass(frozen=True)
class Synthesis:
    """One synthesized design: its cells by yosys generic type and their area."""

    top: str
    params: tuple[tuple[str, int], ...]
    cells: dict[str, int]
    yosys: str
    seconds: float  # wall time of the synthesis run (0 when never run here)
    key: str
    cached: bool = False

    @property
    def area_um2(self) -> float:
        return cell_area_um2(self.cells)

    @property
    def leakage_nW(self) -> float:
        return cell_leakage_nW(self.cells)

    @property
    def flops(self) -> int:
        return self.cells.get(FLIP_FLOP, 0)

    def library_cells(self) -> dict[str, int]:
        """The counts by library cell name (INV_X1, DFF_X1, ...)."""
        out: dict[str, int] = {}
        for t, n in sorted(self.cells.items()):
            out[GENERIC_CELL[t]] = out.get(GENERIC_CELL[t], 0) + n
        return out


def synth_cache_dir() -> Path:
    return cache_root() / "synth"


@functools.lru_cache(maxsize=256)
def _read(path: Path, mtime_ns: int, size: int) -> bytes:
    """A source's bytes, read once per version of the file (a sweep prices thousands of points)."""
    return path.read_bytes()


def _hash(sources: Sequence[Path], script: str, tail: list) -> str:
    h = hashlib.sha256()
    for p in sources:
        st = p.stat()
        h.update(p.name.encode() + b"\0" + _read(p, st.st_mtime_ns, st.st_size) + b"\0")
    h.update(script.encode())
    h.update(json.dumps(tail).encode())
    return h.hexdigest()


def design_key(sources: Sequence[Path], top: str, params: Mapping[str, int], script: str) -> str:
    """SHA-256 of the design: the sources (names and bytes), the script, top and parameters (no tool version):
    the committed snapshot's key."""
    return _hash(sources, script, [top, sorted(params.items())])


def _key(sources: Sequence[Path], top: str, params: Mapping[str, int], script: str) -> str:
    """The disk cache's key: what ``design_key`` hashes and the yosys version."""
    return _hash(sources, script, [top, sorted(params.items()), yosys_version()])


@functools.cache
def load_snapshot(path: Path = SNAPSHOT_PATH) -> dict[str, dict]:
    """The committed snapshot's designs by ``design_key`` (empty when there is no snapshot file)."""
    try:
        doc = json.loads(path.read_text())
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as e:
        raise SynthError(f"synthesis: snapshot {path}: unreadable ({e})") from None
    return {d["design"]: {**d, "yosys": doc["yosys"]} for d in doc["designs"]}


def _parse_stat(path: Path, top: str) -> dict[str, int]:
    doc = json.loads(path.read_text())
    modules = doc.get("modules", {})
    mod = modules.get(f"\\{top}") or modules.get(top)
    if mod is None:
        raise SynthError(f"synthesis of {top}: yosys's statistics name no module {top}")
    return {t: int(n) for t, n in mod["num_cells_by_type"].items() if not t.startswith(IGNORED_TYPES)}


def synthesize(top: str, params: Mapping[str, int], sources: Sequence[Path] | None = None,
               cache_dir: Path | None = None, notify: Notify | None = None, snapshot: bool = True) -> Synthesis:
    """Synthesize ``top`` with ``params``: from the committed snapshot (``snapshot``) or the disk cache when
    the design is there, else with yosys (then cached)."""
    sources = [Path(p) for p in (sources or rtl_files())]
    names = [p.name for p in sources]
    if len(set(names)) != len(names):
        raise SynthError(f"synthesis of {top}: two sources share a file name: {', '.join(sorted(names))}")
    script = synth_script(names, top, params)
    design = design_key(sources, top, params, script)
    if snapshot:
        snap = load_snapshot().get(design)
        if snap is not None:
            return Synthesis(top, tuple(sorted(params.items())), dict(snap["cells"]), snap["yosys"], 0.0, design,
                             cached=True)
    key = _key(sources, top, params, script)
    label = "-".join([top, *(f"{k}{v}" for k, v in sorted(params.items()))])
    name = f"{label}-{key[:16]}"
    folder = cache_dir or synth_cache_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise SynthError(f"synthesis: cannot create the cache folder {folder}: {e.strerror}") from None
    entry = folder / f"{name}.json"
    with open(folder / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another process synthesizing the same variant: wait for it
        if entry.exists():
            doc = json.loads(entry.read_text())
            if doc.get("key") == key:
                return Synthesis(top, tuple(sorted(params.items())), doc["cells"], doc["yosys"], doc["seconds"],
                                 key, cached=True)
        if notify:
            notify(f"synthesizing {label} with yosys (cached afterwards)")
        with tempfile.TemporaryDirectory(prefix="accelsim-synth-") as tmp:
            for p in sources:
                shutil.copyfile(p, Path(tmp) / p.name)
            run = run_script(script, Path(tmp), label)
            cells = _parse_stat(Path(tmp) / "stat.json", top)
        cell_area_um2(cells)  # every type has a library cell, or say which does not
        doc = {"key": key, "top": top, "params": dict(sorted(params.items())), "cells": cells,
               "yosys": yosys_version(), "seconds": round(run.seconds, 3)}
        tmp_entry = folder / f".{name}.{os.getpid()}.json"
        tmp_entry.write_text(json.dumps(doc, indent=1, sort_keys=True) + "\n")
        os.replace(tmp_entry, entry)
    return Synthesis(top, tuple(sorted(params.items())), cells, doc["yosys"], run.seconds, key)


def pe_params(data_bits: int, acc_bits: int) -> dict[str, int]:
    return {"DATA_W": data_bits, "ACC_W": acc_bits}


def array_params(rows: int, cols: int, data_bits: int, acc_bits: int) -> dict[str, int]:
    """The array top's parameters, OUT_W = ACC_W: the array without its output stage (priced apart)."""
    return {"ROWS": rows, "COLS": cols, "DATA_W": data_bits, "ACC_W": acc_bits, "OUT_W": acc_bits}


def _edge_terms(rows: int, cols: int) -> list[float]:
    return [1.0, rows, cols, rows * (rows - 1) / 2, cols * (cols - 1) / 2]


@dataclass(frozen=True)
class ArrayAreaModel:
    """area(R, C) = R C pe_um2 + c0 + c1 R + c2 C + c3 R(R-1)/2 + c4 C(C-1)/2 (see the module doc); the leakage
    likewise, R C pe_nW + the same terms with ``leak_coef``."""

    data_bits: int
    acc_bits: int
    pe: Synthesis
    coef: tuple[float, ...]
    fit: tuple[tuple[int, int, float], ...] = field(default=())  # (rows, cols, synthesized um^2)
    leak_coef: tuple[float, ...] = (0.0,) * 5
    fit_leakage: tuple[tuple[int, int, float], ...] = field(default=())  # (rows, cols, synthesized nW)

    @property
    def pe_um2(self) -> float:
        return self.pe.area_um2

    @property
    def pe_nW(self) -> float:
        return self.pe.leakage_nW

    def rest_um2(self, rows: int, cols: int) -> float:
        return float(np.dot(self.coef, _edge_terms(rows, cols)))

    def array_um2(self, rows: int, cols: int) -> float:
        return rows * cols * self.pe_um2 + self.rest_um2(rows, cols)

    def rest_nW(self, rows: int, cols: int) -> float:
        return float(np.dot(self.leak_coef, _edge_terms(rows, cols)))

    def array_nW(self, rows: int, cols: int) -> float:
        return rows * cols * self.pe_nW + self.rest_nW(rows, cols)

    def max_fit_error(self) -> float:
        """Largest relative error of the model on the arrays it was fitted to."""
        return max(abs(self.array_um2(r, c) - a) / a for r, c, a in self.fit)


@functools.lru_cache(maxsize=64)
def _fit(pe: float, fit: tuple[tuple[int, int, float], ...]) -> tuple[float, ...]:
    """Least-squares edge terms of ``value - R C pe`` over the fitted arrays."""
    a = np.array([_edge_terms(r, c) for r, c, _ in fit])
    b = np.array([v - r * c * pe for r, c, v in fit])
    coef, *_ = np.linalg.lstsq(a, b, rcond=None)
    return tuple(float(x) for x in coef)


def fit_array_model(data_bits: int, acc_bits: int, shapes: Iterable[tuple[int, int]] = FIT_SHAPES,
                    cache_dir: Path | None = None, notify: Notify | None = None,
                    snapshot: bool = True) -> ArrayAreaModel:
    """Synthesize the PE and the small arrays ``shapes`` (snapshot, cached) and fit the per-edge terms."""
    pe = synthesize(PE_TOP, pe_params(data_bits, acc_bits), cache_dir=cache_dir, notify=notify, snapshot=snapshot)
    runs = [(r, c, synthesize(ARRAY_TOP, array_params(r, c, data_bits, acc_bits), cache_dir=cache_dir,
                              notify=notify, snapshot=snapshot)) for r, c in shapes]
    fit = tuple((r, c, s.area_um2) for r, c, s in runs)
    leak = tuple((r, c, s.leakage_nW) for r, c, s in runs)
    return ArrayAreaModel(data_bits, acc_bits, pe, _fit(pe.area_um2, fit), tuple(fit), _fit(pe.leakage_nW, leak),
                          tuple(leak))


def stage_lane(acc_bits: int, out_bits: int, cache_dir: Path | None = None, notify: Notify | None = None,
               snapshot: bool = True) -> Synthesis:
    """The output stage synthesized with one lane (C lanes are priced as C of it)."""
    return synthesize(STAGE_TOP, {"COLS": 1, "ACC_W": acc_bits, "OUT_W": out_bits}, cache_dir=cache_dir,
                      notify=notify, snapshot=snapshot)


def output_stage_um2(cols: int, acc_bits: int, out_bits: int, cache_dir: Path | None = None,
                     notify: Notify | None = None) -> float:
    """C lanes of the output stage, each priced as the stage synthesized with one lane."""
    return cols * stage_lane(acc_bits, out_bits, cache_dir, notify).area_um2


@dataclass(frozen=True)
class AreaBreakdown:
    """The chip's area by part (mm^2) and its static power (mW) for one configuration at ``tech_node_nm``."""

    rows: int
    cols: int
    data_bits: int
    acc_bits: int
    ifmap_sram_kib: float
    filter_sram_kib: float
    ofmap_sram_kib: float
    pe_unit_area_um2: float
    pe_area_mm2: float
    array_rest_area_mm2: float
    output_stage_area_mm2: float
    ifmap_sram_area_mm2: float
    filter_sram_area_mm2: float
    ofmap_sram_area_mm2: float
    dram_interface_area_mm2: float
    sram_leakage_mW: float
    pe_cells: dict[str, int]
    model_fit_error: float
    logic_leakage_mW: float = 0.0
    tech_node_nm: int = DEFAULT_TECHNOLOGY.tech_node_nm

    @property
    def array_area_mm2(self) -> float:
        return self.pe_area_mm2 + self.array_rest_area_mm2 + self.output_stage_area_mm2

    @property
    def sram_area_mm2(self) -> float:
        return self.ifmap_sram_area_mm2 + self.filter_sram_area_mm2 + self.ofmap_sram_area_mm2

    @property
    def area_mm2(self) -> float:
        return self.array_area_mm2 + self.sram_area_mm2 + self.dram_interface_area_mm2

    @property
    def leakage_mW(self) -> float:
        """Static power: the logic's (array and output stage) and the SRAMs'."""
        return self.logic_leakage_mW + self.sram_leakage_mW

    def record(self) -> dict:
        """Flat keys (accelsim.columns names) for JSON and CSV."""
        return {
            "rows": self.rows, "cols": self.cols, "pe_count": self.rows * self.cols,
            "data_bits": self.data_bits, "acc_bits": self.acc_bits, "tech_node_nm": self.tech_node_nm,
            "ifmap_sram_kib": self.ifmap_sram_kib, "filter_sram_kib": self.filter_sram_kib,
            "ofmap_sram_kib": self.ofmap_sram_kib,
            "pe_unit_area_um2": self.pe_unit_area_um2, "pe_area_mm2": self.pe_area_mm2,
            "array_rest_area_mm2": self.array_rest_area_mm2, "output_stage_area_mm2": self.output_stage_area_mm2,
            "array_area_mm2": self.array_area_mm2,
            "ifmap_sram_area_mm2": self.ifmap_sram_area_mm2, "filter_sram_area_mm2": self.filter_sram_area_mm2,
            "ofmap_sram_area_mm2": self.ofmap_sram_area_mm2, "sram_area_mm2": self.sram_area_mm2,
            "dram_interface_area_mm2": self.dram_interface_area_mm2, "area_mm2": self.area_mm2,
            "logic_leakage_mW": self.logic_leakage_mW, "sram_leakage_mW": self.sram_leakage_mW,
            "leakage_mW": self.leakage_mW, "cell_library": LIBRARY,
        }


def technology(tech: Technology | int) -> Technology:
    """A ``Technology`` from itself or a node in nm."""
    return tech if isinstance(tech, Technology) else Technology(tech)


def area_breakdown(cfg: ArrayConfig, cache_dir: Path | None = None, notify: Notify | None = None, *,
                   tech: Technology | int = DEFAULT_TECHNOLOGY, snapshot: bool = True) -> AreaBreakdown:
    """The area and static power of ``cfg``'s array (synthesis model), its three SRAMs and the DRAM interface,
    at ``tech``'s node (``Technology`` or nm; the 45 nm figures scaled, module docstring)."""
    tech = technology(tech)
    model = fit_array_model(cfg.data_bits, cfg.acc_bits, cache_dir=cache_dir, notify=notify, snapshot=snapshot)
    kib = (cfg.ifmap_sram_kib, cfg.filter_sram_kib, cfg.ofmap_sram_kib)
    stage_um2 = stage_nW = 0.0
    if cfg.output_stage:
        lane = stage_lane(cfg.acc_bits, cfg.out_bits, cache_dir=cache_dir, notify=notify, snapshot=snapshot)
        stage_um2, stage_nW = cfg.cols * lane.area_um2, cfg.cols * lane.leakage_nW
    a, leak = tech.area_factor, tech.leakage_factor
    return AreaBreakdown(
        rows=cfg.rows, cols=cfg.cols, data_bits=cfg.data_bits, acc_bits=cfg.acc_bits,
        ifmap_sram_kib=kib[0], filter_sram_kib=kib[1], ofmap_sram_kib=kib[2],
        pe_unit_area_um2=model.pe_um2 * a,
        pe_area_mm2=cfg.rows * cfg.cols * model.pe_um2 / 1e6 * a,
        array_rest_area_mm2=model.rest_um2(cfg.rows, cfg.cols) / 1e6 * a,
        output_stage_area_mm2=stage_um2 / 1e6 * a,
        ifmap_sram_area_mm2=sram_area_mm2(kib[0]) * a, filter_sram_area_mm2=sram_area_mm2(kib[1]) * a,
        ofmap_sram_area_mm2=sram_area_mm2(kib[2]) * a,
        dram_interface_area_mm2=dram_interface_area_mm2(),
        sram_leakage_mW=sum(sram_leakage_mW(k) for k in kib) * leak,
        pe_cells=model.pe.library_cells(),
        model_fit_error=model.max_fit_error(),
        logic_leakage_mW=(model.array_nW(cfg.rows, cfg.cols) + stage_nW) / 1e6 * leak,
        tech_node_nm=tech.tech_node_nm,
    )
