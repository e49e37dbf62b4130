"""The Python API that ``import accelsim`` exposes: load, profile, forward, simulate, cosim, sweep.

Every call takes a model as a zoo name (``"vgg16"``), a model file path, or a ``Network``, and
returns a result with ``.layers`` (a pandas DataFrame, one row per layer, ``layer`` first),
``.totals`` (a dict) and ``.to_json()`` (the same document as the CLI's ``--format json``); the
names are those of ``accelsim.columns``. Energy for one design point is ``simulate(...).energy()``.
The figures of ``accelsim.report.figures`` take these results directly. Bad arguments raise
``AccelsimError`` with one line naming the argument. See docs/api.md.
"""

from __future__ import annotations

import inspect
import json
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from os import PathLike
from pathlib import Path

import numpy as np
import pandas as pd

from accelsim.columns import COSIM_HEADLINE, ENERGY, ENERGY_LAYERS
from accelsim.dse.run import DEFAULT_WORKERS, SweepSummary, run_sweep
from accelsim.dse.spec import SweepSpec, read_spec_doc, spec_from_mapping
from accelsim.dse.store import load_layers, load_results
from accelsim.energy import EnergyTable
from accelsim.energy.model import energy_arrays
from accelsim.energy.table import DEFAULT_TECHNOLOGY, Technology
from accelsim.errors import AccelsimError
from accelsim.hardware.config import DATAFLOWS, ENGINES, ArrayConfig, parse_array
from accelsim.lowering import forward as _forward
from accelsim.lowering import forward_int, quantize_network
from accelsim.report.profile_view import render_profile
from accelsim.report.simulate_view import config_summary, render_simulation
from accelsim.report.tables import to_json
from accelsim.rtlsim import Gemm, build, random_gemm, simulator_missing
from accelsim.rtlsim.gemm import check_gemm_sizes, iter_network_gemms, network_mappings, network_shapes
from accelsim.rtlsim.harness import build_harness
from accelsim.rtlsim.session import check_fast, cosim_config, cosim_mapping, run_cosim, run_fast_cosim
from accelsim.synth.area import AreaBreakdown, area_breakdown
from accelsim.systolic.simulate import Simulation
from accelsim.systolic.simulate import simulate as _simulate
from accelsim.workload import Network, resolve
from accelsim.workload.fold import fold_bn as fold_bn_network
from accelsim.workload.fold import is_onnx
from accelsim.workload.network import parse_input_shape
from accelsim.workload.profile import profile as _profile
from accelsim.workload.profile import totals as _profile_totals

__all__ = [
    "ArrayConfig", "CosimResult", "EnergyResult", "ProfileResult", "SimulationResult", "SweepResult", "cosim",
    "forward", "load", "profile", "simulate", "sweep",
]

Model = str | PathLike | Network


def load(model: Model, strict: bool = False, fold_bn: bool | None = None, input_size=None) -> Network:
    """A network from a zoo name (``"alexnet"``), a model file (.csv, .yaml, .json, .onnx) or a ``Network``.

    ``strict`` rejects strides that leave a remainder; ``fold_bn`` folds each BN into the conv before
    it (None: on for an ONNX file, whose importer folds its BatchNormalization nodes; off otherwise).
    An imported ONNX model carries its weights. ``input_size`` (``"3x32x32"`` or ``(3, 32, 32)``)
    runs a zoo model on another input size (``accelsim.workload.zoo.get``).
    """
    if isinstance(model, Network):
        if input_size is not None:
            raise AccelsimError("input_size: applies to zoo names; resize a Network with .with_input_shape()")
        net = model.with_strict(True) if strict else model
        return fold_bn_network(net) if fold_bn else net
    if isinstance(model, PathLike):
        model = str(model)
    if not isinstance(model, str) or not model:
        raise AccelsimError(f"model: expected a zoo name, a model file path or a Network, got {model!r}")
    return resolve(model, strict, fold_bn, None if input_size is None else parse_input_shape(input_size, "input_size"))


# ---- profile ------------------------------------------------------------------------------------

@dataclass(frozen=True, eq=False)
class ProfileResult:
    """Per-layer budgets of a network (``accelsim.workload.profile``): ``layers`` and ``totals``."""

    network: Network
    layers: pd.DataFrame
    totals: dict
    batch: int
    dtype: str

    def to_json(self) -> str:
        """The document of ``accelsim profile MODEL --format json``."""
        return render_profile(self.layers, self.totals, "json")

    def table(self, fmt: str = "table") -> str:
        """The CLI's view: ``table``, ``md``, ``csv`` or ``json``."""
        return render_profile(self.layers, self.totals, _fmt(fmt))

    def __repr__(self) -> str:
        return (f"ProfileResult({self.network.name!r}, {len(self.layers)} layers, batch {self.batch}, {self.dtype}, "
                f"{self.totals['macs']:,} MACs)")


def profile(model: Model, batch: int = 1, dtype: str = "fp32", training: bool = False,
            strict: bool = False, fold_bn: bool | None = None, input_size=None) -> ProfileResult:
    """Parameters, MACs/FLOPs, memory and GEMM shape of every layer of ``model`` at ``batch``.

    ``dtype`` (int8, fp16, fp32) sizes the activation and weight bytes; ``training`` adds the
    weight- and input-gradient GEMMs; ``fold_bn`` folds each BN into the conv before it (default:
    on for an .onnx file) and the totals say how the parameter count changed; ``input_size`` as
    for ``load``.
    """
    here = fold_bn is not None and _flag("fold_bn", fold_bn) and not is_onnx(model)  # the profile notes the change
    net = load(model, strict, None if here else fold_bn, input_size)
    df = _profile(net, batch=batch, dtype=dtype, training=_flag("training", training), fold_bn=here)
    return ProfileResult(net, df, _profile_totals(df), batch, dtype)


# ---- forward ------------------------------------------------------------------------------------

FORWARD_DTYPES = ("float32", "int8")


def forward(model: Model, x, dtype: str = "float32", seed: int = 0):
    """The network's output for the input batch ``x`` (shape ``(N, *input_shape)``), as float32.

    Weights: the network's own (an imported model's ``Network.weights``) or else seeded random
    ones (``accelsim.lowering.init_params(net, seed)``, as for every zoo model). ``dtype="int8"``
    runs the bit-exact integer path (``accelsim.lowering.forward_int``), calibrated on ``x``, and
    returns its int8 output dequantized (``q * scale``).
    """
    net = load(model)
    if dtype not in FORWARD_DTYPES:
        raise AccelsimError(f"dtype: must be one of {', '.join(FORWARD_DTYPES)}, got {dtype!r}")
    if x is None:
        raise AccelsimError(f"x: expected an input batch of shape (N, {', '.join(map(str, net.input_shape))})")
    if not net.chained:
        raise AccelsimError(f"model: '{net.name}' is a set of independent layers (a SCALE-Sim topology): "
                            "it has no network output; use accelsim.lowering.forward with one input per layer")
    if dtype == "float32":
        return _forward(net, None, x, seed=seed, keep=False).output
    run = forward_int(quantize_network(net, None, x, seed=seed), x, keep=False)
    scale = run.layers[-1].scale
    assert scale is not None
    return (run.output.astype(np.float64) * scale).astype(np.float32)


# ---- simulate and energy -------------------------------------------------------------------------

@dataclass(frozen=True, eq=False)
class EnergyResult:
    """Energy of one design point by level, in pJ: ``layers`` (``layer`` + ``accelsim.columns.ENERGY``)
    and ``totals`` (the sums and ``energy_per_inference_uJ``), at the costs of ``table``."""

    simulation: SimulationResult
    layers: pd.DataFrame
    totals: dict
    table: EnergyTable

    def to_json(self) -> str:
        """``{"network", "config", "layers", "totals"}`` like the simulation's document."""
        return to_json(self.layers, self.totals, config=config_summary(self.simulation, self.simulation.area))

    def __repr__(self) -> str:
        uj = self.totals["energy_per_inference_uJ"]
        return f"EnergyResult({self.layers.attrs.get('network')!r}, {uj:,.3f} uJ/inference)"


@dataclass(frozen=True, eq=False)
class SimulationResult(Simulation):
    """A simulated network (``accelsim.systolic.simulate.Simulation``) with the API's conveniences:
    ``energy()``, ``to_json()``, ``table()``. ``engine`` is the timing engine; ``area`` the design's area and
    static power (``accelsim.synth.area``) at ``technology``'s node, whose leakage the energy columns carry."""

    area: AreaBreakdown | None = None
    technology: Technology = DEFAULT_TECHNOLOGY

    def energy(self, table: EnergyTable | Mapping | None = None) -> EnergyResult:
        """Energy of this design point by level (``accelsim.energy``), at ``table``'s per-access costs (default:
        the run's, ``accelsim.energy.DEFAULT_TABLE`` at its technology node; a mapping replaces some of the
        45 nm table's keys, used as given) and the design's static power (``area.leakage_mW``)."""
        if table is None:
            table = self.technology.energy_table()
        elif isinstance(table, Mapping):
            table = EnergyTable.from_mapping(dict(table))
        elif not isinstance(table, EnergyTable):
            raise AccelsimError(f"energy: table: expected an EnergyTable or a mapping, got {type(table).__name__}")
        leakage_mW = self.area.leakage_mW if self.area is not None else 0.0
        e = energy_arrays(self.layers, len(self.layers), self.config, table, leakage_mW)
        df = pd.concat([self.layers[["layer"]], pd.DataFrame(e, index=self.layers.index)], axis=1)
        df = df[list(ENERGY_LAYERS)]
        df.attrs.update(self.layers.attrs)
        totals = {c: float(df[c].sum()) for c in ENERGY}
        totals["energy_per_inference_uJ"] = totals["total_pJ"] / 1e6 / self.batch
        return EnergyResult(self, df, totals, table)

    def to_json(self) -> str:
        """The document of ``accelsim simulate MODEL ... --format json``."""
        return render_simulation(self, "json", self.area)

    def table(self, fmt: str = "table") -> str:
        """The CLI's view: ``table``, ``md``, ``csv`` or ``json``."""
        return render_simulation(self, _fmt(fmt), self.area)

    def __repr__(self) -> str:
        c = self.config
        return (f"SimulationResult({self.network.name!r} on {c.rows}x{c.cols} {c.dataflow.upper()}, "
                f"{self.totals['cycles']:,} cycles, utilization {self.totals['utilization']:.1%})")


def _sram(value) -> tuple[float, float, float]:
    """(ifmap, filter, ofmap) KiB from ``(256, 256, 128)`` or ``"256,256,128"``."""
    parts: Sequence = value.split(",") if isinstance(value, str) else value
    try:
        kib = tuple(float(p) for p in parts)
    except (TypeError, ValueError):
        kib = ()
    if len(kib) != 3 or not all(math.isfinite(k) and k > 0 for k in kib):
        raise AccelsimError(f"sram: expected IFMAP,FILTER,OFMAP sizes in KiB (three numbers > 0), got {value!r}")
    return kib


def _array(value) -> tuple[int, int]:
    if isinstance(value, str):
        return parse_array(value)
    if (isinstance(value, (tuple, list)) and len(value) == 2
            and all(isinstance(v, int) and not isinstance(v, bool) for v in value)):
        return value[0], value[1]
    raise AccelsimError(f"array: expected 'ROWSxCOLS' such as '32x32' or (rows, cols), got {value!r}")


def _flag(name: str, value) -> bool:
    if not isinstance(value, bool):
        raise AccelsimError(f"{name}: expected True or False, got {value!r}")
    return value


def _fmt(fmt: str) -> str:
    from accelsim.report.formats import FORMATS

    if fmt not in FORMATS:
        raise AccelsimError(f"format: must be one of {', '.join(FORMATS)}, got {fmt!r}")
    return fmt


def array_config(array="32x32", dataflow="ws", sram=(256, 256, 128), bandwidth=16, clock_mhz=1000,
                 double_buffer=True, data_bits=8, acc_bits=32, out_bits=8, pipeline=True,
                 on_chip=True) -> ArrayConfig:
    """An ``ArrayConfig`` from ``simulate``'s arguments (validated; errors name the argument)."""
    rows, cols = _array(array)
    if dataflow not in DATAFLOWS:
        raise AccelsimError(f"dataflow: must be one of {', '.join(DATAFLOWS)}, got {dataflow!r}")
    ifmap, filt, ofmap = _sram(sram)
    return ArrayConfig(rows=rows, cols=cols, dataflow=dataflow, ifmap_sram_kib=ifmap, filter_sram_kib=filt,
                       ofmap_sram_kib=ofmap, double_buffer=_flag("double_buffer", double_buffer),
                       pipeline=_flag("pipeline", pipeline),
                       bandwidth=_number("bandwidth", bandwidth), clock_mhz=_number("clock_mhz", clock_mhz),
                       data_bits=data_bits, acc_bits=acc_bits, out_bits=out_bits, on_chip=_flag("on_chip", on_chip))


# simulate's hardware arguments at their defaults: array_config's own, so there is one list of them.
_HARDWARE_DEFAULTS = {name: p.default for name, p in inspect.signature(array_config).parameters.items()}


def _number(name: str, value) -> float:
    """A float like the CLI's (so ``to_json()`` prints ``16.0`` either way); the range is ArrayConfig's to check."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise AccelsimError(f"{name}: expected a number, got {value!r}")
    return float(value)


def simulate(model: Model, array="32x32", dataflow: str = "ws", sram="256,256,128", bandwidth: float = 16,
             clock_mhz: float = 1000, batch: int = 1, engine: str = "fast", check: bool = False,
             double_buffer: bool = True, data_bits: int = 8, acc_bits: int = 32, out_bits: int = 8,
             config: ArrayConfig | None = None, strict: bool = False, seed: int = 0,
             fold_bn: bool | None = None, input_size=None, pipeline: bool = True,
             on_chip: bool = True, tech_node_nm: int = DEFAULT_TECHNOLOGY.tech_node_nm,
             mapper: str = "fixed", objective: str = "edp") -> SimulationResult:
    """Run ``model`` layer by layer on a ROWSxCOLS systolic array (``accelsim.systolic.simulate``).

    The array is given by the keyword arguments (``sram`` = ifmap, filter, ofmap KiB as a tuple or
    ``"I,F,O"``; ``bandwidth`` DRAM bytes per cycle each way; ``pipeline``: folds issued pipelined, the default, or
    serially) or whole as ``config=ArrayConfig(...)``.
    ``engine`` is ``fast`` (closed form) or ``stepping`` (cycle by cycle); ``check`` runs the int8
    numbers through the array and compares them with the reference bit for bit (``.mismatches``);
    ``fold_bn`` folds each BN into the conv before it (default: on for an .onnx file); ``input_size``
    as for ``load``; ``on_chip``: layers' outputs may stay in the ifmap SRAM (docs/microarchitecture.md,
    "Layers that stay on chip"; ``False`` sends every tensor through DRAM). ``mapper`` ``fixed`` (the
    dataflow's mapping) or ``search`` (each layer's best by ``objective``: ``cycles``, ``energy``, ``edp``).
    Energy: the per-access costs of ``accelsim.energy.table`` and the design's static power
    (``area_breakdown(cfg).leakage_mW``: synthesized logic and CACTI SRAMs), both at ``tech_node_nm``
    (45, 32, 20, 16, 14, 10 or 7); the rows carry the energy columns, the totals energy per inference,
    pJ/MAC and EDP, ``.area`` the area and static power. The default widths' designs are in the committed
    synthesis snapshot; other ``data_bits``/``acc_bits``/``out_bits`` are synthesized once with yosys (about a
    minute) and cached.
    """
    given = {"array": array, "dataflow": dataflow, "sram": sram, "bandwidth": bandwidth, "clock_mhz": clock_mhz,
             "double_buffer": double_buffer, "pipeline": pipeline, "data_bits": data_bits, "acc_bits": acc_bits,
             "out_bits": out_bits, "on_chip": on_chip}
    if config is not None:
        if not isinstance(config, ArrayConfig):
            raise AccelsimError(f"config: expected an ArrayConfig, got {type(config).__name__}")
        changed = [k for k, v in given.items() if not _same(v, _HARDWARE_DEFAULTS[k])]
        if changed:
            raise AccelsimError(f"config: give the array either as config= or as arguments, not both "
                                f"(also given: {', '.join(changed)})")
        cfg = config
    else:
        cfg = array_config(**given)
    if engine not in ENGINES:
        raise AccelsimError(f"engine: must be one of {', '.join(ENGINES)}, got {engine!r}")
    tech = Technology(tech_node_nm)
    net = load(model, strict, fold_bn if fold_bn is None else _flag("fold_bn", fold_bn), input_size)
    area = area_breakdown(cfg, tech=tech)
    sim = _simulate(net, cfg, batch=batch, engine=engine, check=_flag("check", check), seed=seed, mapper=mapper,
                    objective=objective, energy=tech.energy_table(), leakage_mW=area.leakage_mW)
    return SimulationResult(**{f.name: getattr(sim, f.name) for f in fields(sim)}, area=area, technology=tech)


def _same(value, default) -> bool:
    if isinstance(default, tuple):
        try:
            return _sram(value) == default
        except AccelsimError:
            return False
    return bool(value == default)


# ---- cosim --------------------------------------------------------------------------------------

@dataclass(frozen=True, eq=False)
class CosimResult:
    """A co-simulation of the RTL against the stepping model: ``ok``, ``layers`` (one row per GEMM,
    ``accelsim.columns.COSIM_GEMMS``), ``totals`` and the whole ``summary`` (the CLI's JSON)."""

    summary: dict

    @property
    def ok(self) -> bool:
        return bool(self.summary["ok"])

    @property
    def layers(self) -> pd.DataFrame:
        df = pd.DataFrame(self.summary["gemms"])
        df.attrs["network"] = self.summary["workload"]
        return df

    @property
    def totals(self) -> dict:
        """The cycle harness's totals (``COSIM_TOTALS``); the fast harness's headline keys (``COSIM_HEADLINE``)."""
        if "totals" in self.summary:
            return dict(self.summary["totals"])
        return {k: self.summary[k] for k in COSIM_HEADLINE}

    @property
    def errors(self) -> list[str]:
        return list(self.summary["errors"])

    def to_json(self) -> str:
        """The document of ``accelsim cosim ... --format json``."""
        return json.dumps(self.summary, indent=2) + "\n"

    def __repr__(self) -> str:
        s = self.summary
        return (f"CosimResult({s['workload']!r} on {s['array']} {s['dataflow'].upper()}, {s['harness']} harness, "
                f"{'ok' if self.ok else 'MISMATCH'}, {s['tiles']} tiles, {s['rtl_cycles']:,} RTL cycles)")


def _gemm(value) -> tuple[int, int, int]:
    if isinstance(value, str):
        parts: Sequence = value.lower().split("x")
        try:
            dims = tuple(int(p) for p in parts)
        except ValueError:
            dims = ()
    else:
        dims = tuple(value) if isinstance(value, (tuple, list)) else ()
    if len(dims) != 3 or not all(isinstance(d, int) and not isinstance(d, bool) and d > 0 for d in dims):
        raise AccelsimError(f"gemm: expected 'MxKxN' or (m, k, n) with positive sizes such as '64x27x16', got "
                            f"{value!r}")
    return dims


def cosim(gemm=None, model: str | None = None, array="8x8", dataflow: str = "ws", acc_bits: int = 32, seed: int = 0,
          simulator: str = "verilator", waves: bool = False, golden: str | None = None,
          progress: Callable[[int, int], None] | None = None, input_size=None,
          pipeline: bool = True, order: str | Sequence[str] | None = None, chunk: int | None = None,
          mappings: Mapping | None = None, harness: str = "cycle", jobs: int = 2) -> CosimResult:
    """Co-simulate the Verilog RTL against the model, every fold bit- and cycle-exact.

    Give ``gemm`` (``"MxKxN"`` or ``(m, k, n)``: seeded random operands) or ``model`` (a zoo network:
    every conv/linear GEMM of its int8 forward pass, on ``input_size`` if given, e.g. ``"3x32x32"``).
    ``order`` (e.g. ``"n>m>k"``) and ``chunk`` (S) pick the mapping of ``dataflow`` every GEMM runs
    (docs/microarchitecture.md, "Mappings"); ``mappings`` (model only, e.g. ``Simulation.mappings``) gives
    layers by name their own mapping instead.
    A large network runs as several simulator jobs one after another (``run_cosim``). The simulator
    (``verilator`` or ``icarus``) is built on first use. ``progress(done, total)`` is called as folds
    complete. ``pipeline``: folds issued pipelined (the default) or serially
    (docs/microarchitecture.md, "Issue"). ``harness``: ``"cycle"`` (every port driven from Python, the stepping
    model in lock step; ``progress`` counts folds) or ``"fast"`` (``accelsim cosim --harness fast``: the beats
    played inside Verilator by ``jobs`` processes at once, checked against the fast model; ``progress`` counts
    RTL cycles; the summary has the headline keys and no ``totals``).
    """
    if harness not in ("cycle", "fast"):
        raise AccelsimError(f"harness: must be cycle or fast, got {harness!r}")
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise AccelsimError(f"jobs: expected an integer >= 1, got {jobs!r}")
    if not isinstance(pipeline, bool):
        raise AccelsimError(f"pipeline: expected true or false, got {pipeline!r}")
    if (gemm is None) == (model is None):
        raise AccelsimError("cosim: give exactly one of gemm='MxKxN' or model=MODEL")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise AccelsimError(f"seed: expected an integer >= 0, got {seed!r}")
    rows, cols = _array(array)
    if dataflow not in DATAFLOWS:
        raise AccelsimError(f"dataflow: must be one of {', '.join(DATAFLOWS)}, got {dataflow!r}")
    cfg = cosim_config(rows, cols, dataflow, acc_bits, pipeline)
    mapping = cosim_mapping(cfg, order, chunk)
    if mappings is not None and (gemm is not None or mapping is not None):
        raise AccelsimError("cosim: mappings= names a model's layers: give it with model=, without order/chunk")
    reason = simulator_missing(simulator)
    if reason:
        raise AccelsimError(f"cosim: simulator {simulator!r}: {reason}")
    if harness == "fast":
        check_fast(cfg, waves=waves, golden=golden, simulator=simulator)
    gemms: Iterable[Gemm]
    if gemm is not None:
        if input_size is not None:
            raise AccelsimError("input_size: applies to model=, not to gemm=")
        m, k, n = _gemm(gemm)
        chosen = [mapping]
        check_gemm_sizes(cfg, [("gemm", m, k, n)], chosen)
        one = random_gemm(cfg, m, k, n, seed)
        one.mapping = mapping
        gemms, workload, shapes = [one], f"gemm {m}x{k}x{n}", [(m, k, n)]
    else:
        if acc_bits != 32:
            raise AccelsimError("cosim: model= runs the int8 forward pass, whose accumulators are 32-bit; drop "
                                "acc_bits")
        name = str(model)
        shape = None if input_size is None else parse_input_shape(input_size, "input_size")
        load(name, input_size=shape)  # a clear error for a bad name or size before any build
        named = network_shapes(name, input_shape=shape)
        per_layer = dict(mappings) if mappings is not None else mapping
        chosen = network_mappings(name, per_layer, input_shape=shape)
        check_gemm_sizes(cfg, named, chosen)
        shapes = [s[1:] for s in named]
        gemms = iter_network_gemms(cfg, name, seed, input_shape=shape, mappings=per_layer)
        workload = name if shape is None else f"{name} {'x'.join(map(str, shape))}"
    if harness == "fast":
        build_harness(cfg)
        return CosimResult(run_fast_cosim(cfg, gemms, workload, seed=seed, jobs=jobs, progress=progress,
                                          shapes=shapes, mappings=chosen))
    build(simulator, cfg.rtl_parameters())
    return CosimResult(run_cosim(cfg, gemms, workload, simulator=simulator, seed=seed, golden=golden, waves=waves,
                                 progress=progress, shapes=shapes, mappings=chosen))


# ---- sweep --------------------------------------------------------------------------------------

@dataclass(frozen=True, eq=False)
class SweepResult:
    """A sweep's results store: ``points`` (one row per design point, ``accelsim.columns.STORE_POINTS``
    without key/status/error), ``layers`` (every point's layers, its ``key`` last) and ``totals``
    (how many points were planned, evaluated, already stored, failed)."""

    output: Path
    summary: SweepSummary

    @property
    def points(self) -> pd.DataFrame:
        return load_results(self.output)

    @property
    def layers(self) -> pd.DataFrame:
        return load_layers(self.output)

    def point_layers(self, key: str) -> pd.DataFrame:
        """The per-layer table of one point (the columns of ``simulate().layers``, then its energy)."""
        return load_layers(self.output, key)

    @property
    def totals(self) -> dict:
        s = self.summary
        return {"point_count": s.points, "evaluated": s.evaluated, "already_done": s.already_done,
                "failed": s.failed, "wall_seconds": round(s.wall_s, 3)}

    def to_json(self) -> str:
        """``{"output", "totals", "points"}``: the store's ok points as records."""
        from accelsim.report.tables import to_records

        doc = {"output": str(self.output), "totals": self.totals, "points": to_records(self.points)}
        return json.dumps(doc, indent=2, allow_nan=False) + "\n"

    def __repr__(self) -> str:
        return f"SweepResult({str(self.output)!r}, {self.summary.line().splitlines()[0]})"


def sweep(spec: str | PathLike | Mapping | SweepSpec, output: str | PathLike, *, name: str | None = None,
          scheduler: str | None = None, workers: int | None = None, chunk_size: int | None = None,
          retry_errors: bool = False, progress: bool = False) -> SweepResult:
    """Evaluate every point of a design-space grid into the SQLite store ``output`` (resumable).

    ``spec`` is a YAML spec path or the same keys as a mapping (``{"model": "lenet5", "array":
    ["8x8", "16x16"], ...}``; model files resolve against the current folder). ``workers=0`` runs in
    this process without Dask; ``scheduler`` sends the points to a running Dask scheduler.
    """
    if isinstance(spec, SweepSpec):
        parsed = spec
    else:
        if isinstance(spec, (str, PathLike)):
            doc, source, base = read_spec_doc(Path(spec))
        elif isinstance(spec, Mapping):
            doc, source, base = dict(spec), "spec", "."
        else:
            raise AccelsimError(f"spec: expected a spec file path or a mapping, got {type(spec).__name__}")
        if name is not None:
            doc["name"] = name
        parsed = spec_from_mapping(doc, source, base)
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 0):
        raise AccelsimError(f"workers: expected an integer >= 0, got {workers!r}")
    if not isinstance(output, (str, PathLike)) or not str(output):
        raise AccelsimError(f"output: expected a file path, got {output!r}")
    summary = run_sweep(parsed, Path(output), scheduler=scheduler,
                        workers=DEFAULT_WORKERS if workers is None else workers,
                        chunk_size=chunk_size, retry_errors=_flag("retry_errors", retry_errors),
                        progress=_flag("progress", progress))
    return SweepResult(Path(output), summary)
