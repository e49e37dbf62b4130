"""Sweep specs: a grid over networks, array shapes, dataflows, memories and clocks.

A spec is strict YAML (duplicate keys rejected, via ruamel). Every axis takes one value or a list;
the grid is their cross product. Keys (units in the names; defaults are ``ArrayConfig``'s)::

    name: vgg16-dse          # names the sweep; the default report folder is reports/<name>/
    model: [vgg16, alexnet]  # required: zoo names or model files (relative to the spec's folder)
    batch: 1                 # images per inference
    array: [16x16, 32x64]    # ROWSxCOLS ...
    # rows: [8, 16]          # ... or `rows` x `cols`, their cross product (not with `array`)
    # cols: [8, 16]
    dataflow: [os, ws, is]
    sram_kib: [{ifmap: 256, filter: 256, ofmap: 128}, "64,64,32", 64]  # per buffer (a mapping, or
                             # IFMAP,FILTER,OFMAP as --sram takes it), or one number for all three
    double_buffer: true
    pipeline: [true, false]  # folds issued pipelined (default) or serially (docs/microarchitecture.md)
    on_chip: [true, false]   # layers' outputs may stay in the ifmap SRAM (docs/microarchitecture.md)
    bandwidth: [8, 16, 32]   # DRAM bytes per cycle, each direction
    clock_mhz: 1000
    data_bits: 8             # also acc_bits, out_bits
    engine: fast             # timing engine: fast (closed form) or stepping (cycle by cycle)
    mapper: [fixed, search]  # each layer's mapping: the dataflow's fixed one, or searched per layer
    objective: [edp, cycles] # what the search minimizes: cycles, energy or edp (default); not with fixed
    tech_node_nm: [45, 7]    # technology node: area, static power and on-chip energy scaled from 45 nm
    energy: {mac_pJ: 0.3, dram_pJ_per_byte: 160, sram_pJ_per_byte: {8: 1.25, 32: 2.5, 1024: 12.5}}
                             # (45 nm figures; at another tech_node_nm scaled by energy.table.Technology)

Malformed input (unknown key, wrong type, empty list, a value out of range) is a ``SpecError``
naming the file, line and key; a spec with several problems raises ``SpecErrors`` listing every
one (one line each), so a user fixes them in one pass. A combination that no array can have (an SRAM too small for one
tile of a large array) is not a spec error: that point is recorded as failed with the reason.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import re
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from ruamel.yaml.error import MarkedYAMLError, YAMLError

from accelsim.energy.table import BASE_NODE_NM, DEFAULT_TABLE, TECH_NODES_NM, EnergyError, EnergyTable
from accelsim.errors import AccelsimError
from accelsim.hardware.config import (
    DATAFLOWS,
    ENGINES,
    MAPPERS,
    MAX_BANDWIDTH,
    MAX_BATCH,
    MAX_CLOCK_MHZ,
    MAX_SRAM_KIB,
    MIN_BANDWIDTH,
    MIN_CLOCK_MHZ,
    OBJECTIVES,
    ArrayConfig,
    ConfigError,
    parse_array,
)
from accelsim.workload import files
from accelsim.workload.layers import LAYER_TYPES
from accelsim.workload.network import Network

NAME_RE = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9_.-]{0,99}")
SRAM_BUFFERS = ("ifmap", "filter", "ofmap")
# Bump when the numbers a point produces change meaning: old rows then no longer match any key.
# 2: pipelined folds (and the pipeline axis)
# 3: mapper and objective, area and leakage from synthesis
RESULT_VERSION = 3
DEFAULT_MAPPER, DEFAULT_OBJECTIVE = "fixed", "edp"
NO_OBJECTIVE = ""  # the objective of a fixed-mapping point: nothing is searched
_CONFIG_FIELDS = [f.name for f in fields(ArrayConfig)]
_FLOAT_FIELDS = {f.name for f in fields(ArrayConfig) if f.type in ("float", float)}


class SpecError(AccelsimError):
    """A malformed sweep spec; names where and the key."""

    def __init__(self, where: str, key: str, problem: str):
        super().__init__(f"{where}: key '{key}': {problem}")
        self.key = key


class SpecErrors(SpecError):
    """Every problem found in one spec, one line each (in the order of the spec's keys)."""

    def __init__(self, errors: list[SpecError]):
        AccelsimError.__init__(self, "\n".join(str(e) for e in errors))
        self.key = errors[0].key
        self.errors = tuple(errors)


@dataclass(frozen=True)
class SweepSpec:
    """A validated sweep: one tuple of values per axis (see the module docstring)."""

    models: tuple[str, ...]
    name: str = "sweep"
    batch: tuple[int, ...] = (1,)
    arrays: tuple[tuple[int, int], ...] = ((ArrayConfig.rows, ArrayConfig.cols),)
    dataflow: tuple[str, ...] = (ArrayConfig.dataflow,)
    sram_kib: tuple[tuple[float, float, float], ...] = (
        (ArrayConfig.ifmap_sram_kib, ArrayConfig.filter_sram_kib, ArrayConfig.ofmap_sram_kib),
    )
    double_buffer: tuple[bool, ...] = (ArrayConfig.double_buffer,)
    pipeline: tuple[bool, ...] = (ArrayConfig.pipeline,)
    on_chip: tuple[bool, ...] = (ArrayConfig.on_chip,)
    bandwidth: tuple[float, ...] = (ArrayConfig.bandwidth,)
    clock_mhz: tuple[float, ...] = (ArrayConfig.clock_mhz,)
    data_bits: tuple[int, ...] = (ArrayConfig.data_bits,)
    acc_bits: tuple[int, ...] = (ArrayConfig.acc_bits,)
    out_bits: tuple[int, ...] = (ArrayConfig.out_bits,)
    mapper: tuple[str, ...] = (DEFAULT_MAPPER,)
    objective: tuple[str, ...] = (DEFAULT_OBJECTIVE,)
    tech_node_nm: tuple[int, ...] = (BASE_NODE_NM,)
    engine: str = "fast"
    energy: EnergyTable = DEFAULT_TABLE
    base_dir: str = field(default=".", compare=False)

    @property
    def size(self) -> int:
        """Points in the grid (before duplicates are merged: a fixed mapping is one point for every objective)."""
        return len(self.models) * len(self.searches()) * len(self.tech_node_nm) * math.prod(
            len(getattr(self, a)) for a in ("batch", "arrays", "dataflow", "sram_kib", "double_buffer", "pipeline",
                                           "on_chip", "bandwidth", "clock_mhz", "data_bits", "acc_bits", "out_bits")
        )

    def searches(self) -> tuple[tuple[str, str], ...]:
        """The distinct (mapper, objective) pairs of the grid; a fixed mapping has no objective (``NO_OBJECTIVE``)."""
        pairs = dict.fromkeys((m, NO_OBJECTIVE if m == "fixed" else o) for m in self.mapper for o in self.objective)
        return tuple(pairs)

    def configs(self):
        """Every (batch, ArrayConfig field dict) of the grid, in a stable order."""
        # (itertools.product is typed for at most 10 axes)
        buffers = tuple(itertools.product(self.double_buffer, self.pipeline, self.on_chip))
        for batch, (rows, cols), df, (si, sf, so), (db, pipe, oc), bw, clk, d, a, o in itertools.product(
            self.batch, self.arrays, self.dataflow, self.sram_kib, buffers, self.bandwidth,
            self.clock_mhz, self.data_bits, self.acc_bits, self.out_bits,
        ):
            yield batch, canonical_config(
                rows=rows, cols=cols, dataflow=df, data_bits=d, acc_bits=a, out_bits=o, ifmap_sram_kib=si,
                filter_sram_kib=sf, ofmap_sram_kib=so, double_buffer=db, pipeline=pipe, on_chip=oc, bandwidth=bw,
                clock_mhz=clk,
            )


def canonical_config(**values) -> dict:
    """ArrayConfig fields with float fields as floats, so 16 and 16.0 hash alike."""
    return {k: float(values[k]) if k in _FLOAT_FIELDS else values[k] for k in _CONFIG_FIELDS}


def network_spec(net: Network) -> dict:
    """A network as plain JSON-able data, enough to rebuild it (``network_from_spec``); a graph that is
    not a chain also records each node's ``inputs`` and the network's ``input_shape``."""
    doc: dict[str, Any] = {
        "name": net.name, "chained": net.chained, "strict": net.strict,
        "nodes": [{"layer": n.layer.spec(), "input_shape": list(n.input_shape)} for n in net.nodes],
    }
    if net.chained and not net.is_chain:
        doc["input_shape"] = list(net.input_shape)
        for node, n in zip(doc["nodes"], net.nodes, strict=True):
            node["inputs"] = list(n.inputs)
    return doc


def network_from_spec(doc: dict) -> Network:
    layers = []
    for n in doc["nodes"]:
        spec = dict(n["layer"])
        cls = LAYER_TYPES[spec.pop("type")]
        kwargs: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in spec.items()}
        layers.append(cls(**kwargs))
    if "input_shape" in doc:
        items = [(ly, n["inputs"]) for ly, n in zip(layers, doc["nodes"], strict=True)]
        return Network.graph(doc["name"], tuple(doc["input_shape"]), items, doc["strict"])
    if doc["chained"]:
        return Network.sequential(doc["name"], tuple(doc["nodes"][0]["input_shape"]), layers, doc["strict"])
    shaped = [(ly, tuple(n["input_shape"])) for ly, n in zip(layers, doc["nodes"], strict=True)]
    return Network.independent(doc["name"], shaped, doc["strict"])


def canonical_json(obj) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), allow_nan=False)


def digest(obj) -> str:
    """SHA-256 of the canonical JSON of ``obj``."""
    return hashlib.sha256(canonical_json(obj).encode()).hexdigest()


def design_key(network_id: str, batch: int, config: dict, engine: str, mapper: str = DEFAULT_MAPPER,
               objective: str = NO_OBJECTIVE, tech_node_nm: int = BASE_NODE_NM) -> str:
    """The identity of one design: network (its id, ``digest(network_spec(net))``), batch, array, engine,
    mapping search and technology node (not how it is priced)."""
    return digest({"network": network_id, "batch": batch, "array": config, "simulator": engine,
                   "mapper": mapper, "objective": objective, "tech_node_nm": tech_node_nm})


def point_key(network_id: str, batch: int, config: dict, energy: EnergyTable | str, engine: str,
              mapper: str = DEFAULT_MAPPER, objective: str = NO_OBJECTIVE, tech_node_nm: int = BASE_NODE_NM) -> str:
    """The identity of one point: everything that determines its numbers, the energy table (or its
    ``digest(energy.to_dict())``, computed once per sweep) and the accelsim version included (a row computed
    otherwise is superseded, never mixed in). The engine is hashed under its old name, ``simulator``."""
    from accelsim import __version__

    energy_id = energy if isinstance(energy, str) else digest(energy.to_dict())
    return digest({
        "version": RESULT_VERSION, "accelsim": __version__, "network": network_id, "batch": batch, "array": config,
        "energy": energy_id, "simulator": engine, "mapper": mapper, "objective": objective,
        "tech_node_nm": tech_node_nm,
    })


def name_problem(name: str) -> str | None:
    """Why ``name`` cannot be a folder name (it becomes ``reports/<name>/``), or None."""
    if not NAME_RE.fullmatch(name) or name in (".", ".."):
        return "must be letters, digits, '.', '_' or '-' (it names the report folder), not starting with '.'"
    return None


def safe_name(name: str, fallback: str = "sweep") -> str:
    """``name`` made a plain folder name (for names read back from a store): no separators, no '..'."""
    cleaned = re.sub(r"[^A-Za-z0-9_.-]", "_", str(name)).lstrip(".")[:100]
    return cleaned if cleaned and not name_problem(cleaned) else fallback


# ---- parsing ---------------------------------------------------------------------------------

_AXES = ("model", "batch", "array", "rows", "cols", "dataflow", "sram_kib", "double_buffer", "pipeline", "on_chip",
         "bandwidth", "clock_mhz", "data_bits", "acc_bits", "out_bits", "mapper", "objective", "tech_node_nm")
ALLOWED_KEYS = ("name", *_AXES, "engine", "energy")
RENAMED_KEYS = {"simulator": "engine"}


def _line(node, key) -> int | None:
    try:
        return node.lc.key(key)[0] + 1
    except (AttributeError, KeyError, TypeError):
        return None


def _where(source: str, node, key) -> str:
    line = _line(node, key)
    return f"{source}:{line}" if line else source


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v) -> bool:
    return (isinstance(v, (int, float)) and not isinstance(v, bool)) and math.isfinite(v)


def _listify(where: str, key: str, v) -> list:
    values = list(v) if isinstance(v, (list, tuple)) else [v]
    if not values:
        raise SpecError(where, key, "must not be empty (the grid would have no points)")
    return values


def _positive_int(where, key, v, hi=None):
    if not _is_int(v):
        raise SpecError(where, key, f"expected a positive integer, got {v!r}")
    if v <= 0:
        raise SpecError(where, key, f"must be > 0, got {v}")
    if hi is not None and v > hi:
        raise SpecError(where, key, f"must be in [1, {hi}], got {v}")
    return v


def _positive_number(where, key, v):
    if not _is_number(v):
        raise SpecError(where, key, f"expected a positive number, got {v!r}")
    if v <= 0:
        raise SpecError(where, key, f"must be > 0, got {v}")
    return float(v)


def _in_range(lo: float, hi: float, what: str):
    def parse(where, key, v):
        v = _positive_number(where, key, v)
        if not lo <= v <= hi:
            raise SpecError(where, key, f"must be in [{what}], got {v:g}")
        return v
    return parse


def _bits(where, key, v):
    _positive_int(where, key, v, 64)
    if v % 8:
        raise SpecError(where, key, f"must be a multiple of 8, got {v}")
    return v


_sram_kib = _in_range(0.0, MAX_SRAM_KIB, "0, 2^30")


def _sram(where, key, v):
    if isinstance(v, str):  # IFMAP,FILTER,OFMAP: the syntax of --sram
        parts = [p.strip() for p in v.split(",")]
        try:
            kib = [float(p) for p in parts]
        except ValueError:
            kib = []
        if len(kib) != 3:
            raise SpecError(where, key, f"expected IFMAP,FILTER,OFMAP sizes in KiB such as 256,256,128, got {v!r}")
        return tuple(_sram_kib(where, f"{key}.{b}", x) for b, x in zip(SRAM_BUFFERS, kib, strict=True))
    if isinstance(v, dict):
        for k in v:
            if k not in SRAM_BUFFERS:
                raise SpecError(where, f"{key}.{k}", f"unknown buffer (allowed: {', '.join(SRAM_BUFFERS)})")
        missing = [b for b in SRAM_BUFFERS if b not in v]
        if missing:
            raise SpecError(where, f"{key}.{missing[0]}", "is required when sram_kib is a mapping")
        return tuple(_sram_kib(where, f"{key}.{b}", v[b]) for b in SRAM_BUFFERS)
    kib = _sram_kib(where, key, v)
    return (kib, kib, kib)


def _array(where, key, v):
    try:
        rows, cols = parse_array(v)
    except ConfigError as e:
        raise SpecError(where, key, str(e).split(": ", 2)[-1]) from None
    return (_positive_int(where, key, rows, 1024), _positive_int(where, key, cols, 1024))


def _choice(choices: tuple[str, ...]):
    def parse(where, key, v):
        if not isinstance(v, str) or v.lower() not in choices:
            raise SpecError(where, key, f"expected one of {', '.join(choices)}, got {v!r}")
        return v.lower()
    return parse


_dataflow = _choice(DATAFLOWS)


def _bool(where, key, v):
    if not isinstance(v, bool):
        raise SpecError(where, key, f"expected true or false, got {v!r}")
    return v


def _tech_node(where, key, v):
    if isinstance(v, bool) or not isinstance(v, int) or v not in TECH_NODES_NM:
        raise SpecError(where, key, f"expected a node in nm, one of {', '.join(map(str, TECH_NODES_NM))}, got {v!r}")
    return v


def _model(where, key, v):
    if not isinstance(v, str) or not v:
        raise SpecError(where, key, f"expected a zoo name or a model file path, got {v!r}")
    return v


_PARSERS = {
    "model": _model,
    "batch": lambda w, k, v: _positive_int(w, k, v, MAX_BATCH),
    "array": _array,
    "rows": lambda w, k, v: _positive_int(w, k, v, 1024),
    "cols": lambda w, k, v: _positive_int(w, k, v, 1024),
    "dataflow": _dataflow,
    "sram_kib": _sram,
    "double_buffer": _bool,
    "pipeline": _bool,
    "on_chip": _bool,
    "bandwidth": _in_range(MIN_BANDWIDTH, MAX_BANDWIDTH, "1/1024, 2^32"),
    "clock_mhz": _in_range(MIN_CLOCK_MHZ, MAX_CLOCK_MHZ, "1, 100000"),
    "data_bits": _bits,
    "acc_bits": _bits,
    "out_bits": _bits,
    "mapper": _choice(MAPPERS),
    "objective": _choice(OBJECTIVES),
    "tech_node_nm": _tech_node,
}


def spec_from_mapping(doc, source: str = "<spec>", base_dir: str = ".") -> SweepSpec:
    """Validate a parsed spec mapping (from YAML or from CLI flags). Raises ``SpecError`` for one
    problem, ``SpecErrors`` for several: every key and value is checked before giving up."""
    if not isinstance(doc, dict):
        raise SpecError(source, "<root>", "expected a mapping of keys to values")
    errors: list[SpecError] = []
    axes: dict[str, tuple] = {}
    kwargs: dict = {"base_dir": base_dir}
    for key in doc:
        where = _where(source, doc, key)
        try:
            if key in _PARSERS:
                axes[key] = _axis(where, key, doc[key], errors)
            elif key in RENAMED_KEYS:
                raise SpecError(where, str(key), f"renamed: use '{RENAMED_KEYS[key]}' "
                                                 f"({RENAMED_KEYS[key]}: {' or '.join(ENGINES)})")
            elif key not in ALLOWED_KEYS:
                raise SpecError(where, str(key), f"unknown key (allowed: {', '.join(ALLOWED_KEYS)})")
            else:
                kwargs[key] = _SCALARS[key](where, key, doc[key])
        except SpecError as e:
            errors.append(e)
    if "model" not in doc:
        errors.append(SpecError(source, "model", "is required (a zoo name, a model file, or a list of them)"))
    if "array" in doc and ("rows" in doc or "cols" in doc):
        key = "rows" if "rows" in doc else "cols"
        errors.append(SpecError(_where(source, doc, key), key, "give either 'array' or 'rows' and 'cols', not both"))
    elif ("rows" in doc) != ("cols" in doc):
        key = "cols" if "rows" in doc else "rows"
        errors.append(SpecError(source, key, "is required with " + ("'rows'" if key == "cols" else "'cols'")))
    if errors:
        raise errors[0] if len(errors) == 1 else SpecErrors(errors)
    kwargs["models"] = axes.pop("model")
    if "rows" in axes:
        kwargs["arrays"] = tuple(itertools.product(axes.pop("rows"), axes.pop("cols")))
    if "array" in axes:
        kwargs["arrays"] = axes.pop("array")
    kwargs.update(axes)
    return SweepSpec(**kwargs)


def _axis(where: str, key: str, value, errors: list[SpecError]) -> tuple:
    """The distinct parsed values of one axis; each bad value's error goes to ``errors``."""
    seen, values = set(), []
    for v in _listify(where, key, value):
        try:
            v = _PARSERS[key](where, key, v)
        except SpecError as e:
            errors.append(e)
            continue
        if v not in seen:
            seen.add(v)
            values.append(v)
    return tuple(values)


def _name(where, key, v):
    if not isinstance(v, str) or not v.strip():
        raise SpecError(where, key, f"expected a non-empty string, got {v!r}")
    problem = name_problem(v.strip())
    if problem:
        raise SpecError(where, key, f"{problem}, got {v!r}")
    return v.strip()


def _engine(where, key, v):
    if v not in ENGINES:
        raise SpecError(where, key, f"expected one of {', '.join(ENGINES)}, got {v!r}")
    return v


def _energy(where, key, v):
    try:
        return EnergyTable.from_mapping(_plain(v))
    except EnergyError as e:
        raise SpecError(where, key if e.key == "energy" else f"energy.{e.key}", e.problem) from None


_SCALARS = {"name": _name, "engine": _engine, "energy": _energy}


def _plain(v):
    if isinstance(v, dict):
        return {k: _plain(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_plain(x) for x in v]
    return v


def read_spec_doc(path: str | Path) -> tuple[dict, str, str]:
    """Parse a YAML spec file strictly: (mapping, source name for errors, folder for model files)."""
    path = Path(path)
    text = files.read_text(path, files.MAX_YAML_BYTES)
    try:
        doc = files.load_yaml_marked(text)
    except MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        key = _duplicate_key(e)
        if key:
            raise SpecError(where, key, "appears twice") from None
        raise AccelsimError(f"{where}: {(e.problem or str(e)).strip().splitlines()[0]}") from None
    except YAMLError as e:
        raise AccelsimError(f"{path}: {str(e).strip().splitlines()[0]}") from None
    if doc is None:
        raise SpecError(str(path), "model", "the spec is empty")
    if not isinstance(doc, dict):
        raise SpecError(str(path), "<root>", "expected a mapping of keys to values")
    return doc, str(path), str(path.parent)


def load_spec(path: str | Path) -> SweepSpec:
    """Read and validate a YAML sweep spec."""
    return spec_from_mapping(*read_spec_doc(path))


def _duplicate_key(e: MarkedYAMLError) -> str | None:
    text = str(e.problem or "")
    if "duplicate key" not in text:
        return None
    start = text.find('"')
    end = text.find('"', start + 1)
    return text[start + 1:end] if 0 <= start < end else None
