"""SCALE-Sim ``.cfg`` files (``accelsim simulate TOPO --config scale.cfg``) as ArrayConfig fields.

SCALE-Sim v2/v3 read them with ``configparser`` in ``scalesim/scale_config.py``
(``read_conf_file``); key names are case-insensitive there and here. What each key does in
accelsim (docs/scalesim.md, "Config files"):

- mapped: ``ArrayHeight`` -> rows, ``ArrayWidth`` -> cols, ``IfmapSramSzkB`` / ``FilterSramSzkB`` /
  ``OfmapSramSzkB`` -> ``*_sram_kib`` (SCALE-Sim's kB are 1024 bytes), ``Dataflow`` -> dataflow,
  ``Bandwidth`` -> bandwidth (bytes per cycle: SCALE-Sim's words are one byte) when
  ``InterfaceBandwidth`` is ``USER``; in ``CALC`` mode SCALE-Sim does not read ``Bandwidth`` and
  neither does accelsim.
- ignored (cannot change a result): ``HARMLESS``.
- refused unless at the value that leaves results unchanged: ``InterfaceBandwidth`` other than
  CALC/USER, ``UseRamulatorTrace`` true, ``IfmapCustomLayout``/``FilterCustomLayout`` true,
  ``SparsitySupport`` true.
- any other section or key: an error (it might be something a later SCALE-Sim uses).
"""

from __future__ import annotations

import configparser
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from accelsim.errors import ModelFileError
from accelsim.hardware.config import DATAFLOWS
from accelsim.workload import files
from accelsim.workload.files import positive_int

# [section] -> {lower-case key: the key as SCALE-Sim's configs spell it}
MAPPED = {
    "architecture_presets": {
        "arrayheight": "ArrayHeight", "arraywidth": "ArrayWidth", "ifmapsramszkb": "IfmapSramSzkB",
        "filtersramszkb": "FilterSramSzkB", "ofmapsramszkb": "OfmapSramSzkB", "dataflow": "Dataflow",
        "bandwidth": "Bandwidth",
    },
    "run_presets": {"interfacebandwidth": "InterfaceBandwidth", "useramulatortrace": "UseRamulatorTrace"},
    "layout": {"ifmapcustomlayout": "IfmapCustomLayout", "filtercustomlayout": "FilterCustomLayout"},
    "sparsity": {"sparsitysupport": "SparsitySupport"},
}
# Keys that cannot change a reported number: names, trace address offsets, keys SCALE-Sim itself
# never reads (MemoryBanks, OnChipMemoryBanks/Ports of v3's eyeriss.cfg), request-queue depths of its
# Ramulator read/write ports, and the settings of the custom-layout and sparsity features while off.
HARMLESS = {
    "general": ("run_name",),
    "architecture_presets": ("IfmapOffset", "FilterOffset", "OfmapOffset", "MemoryBanks", "OnChipMemoryBanks",
                             "OnChipMemoryBankPorts", "ReadRequestBuffer", "WriteRequestBuffer"),
    "network_presets": ("TopologyCsvLoc",),
    "layout": ("IfmapSRAMBankBandwidth", "IfmapSRAMBankNum", "IfmapSRAMBankPort",
               "FilterSRAMBankBandwidth", "FilterSRAMBankNum", "FilterSRAMBankPort"),
    "sparsity": ("SparseRep", "OptimizedMapping", "BlockSize", "RandomNumberGeneratorSeed"),
}
_FIELDS = {"ArrayHeight": "rows", "ArrayWidth": "cols", "IfmapSramSzkB": "ifmap_sram_kib",
           "FilterSramSzkB": "filter_sram_kib", "OfmapSramSzkB": "ofmap_sram_kib", "Dataflow": "dataflow",
           "Bandwidth": "bandwidth"}


@dataclass(frozen=True)
class ScaleSimConfig:
    """A parsed ``.cfg``: ``fields`` are ArrayConfig keyword arguments it sets, ``keys`` the cfg key
    and line each came from (for errors), ``interface_bandwidth`` CALC or USER."""

    path: str
    fields: dict[str, Any]
    keys: dict[str, tuple[str, int | None]]
    interface_bandwidth: str

    def error(self, fld: str, problem: str) -> ModelFileError:
        """An error about ArrayConfig field ``fld``, located at the cfg key that set it."""
        key, line = self.keys.get(fld, (fld, None))
        return ModelFileError(self.path, line, key, problem)


def _key_lines(text: str) -> dict[tuple[str, str], list[int]]:
    """(section, lower-case key) -> its line numbers, by the same syntax configparser reads."""
    out: dict[tuple[str, str], list[int]] = {}
    section = ""
    for i, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        m = re.fullmatch(r"\[([^\]]+)\]", line)
        if m:
            section = m.group(1)
            continue
        if raw[:1].isspace():
            continue  # a continuation line
        m = re.match(r"([^:=]+?)\s*[:=]", line)
        if m:
            out.setdefault((section, m.group(1).strip().lower()), []).append(i)
    return out


def _flag(path: str, line: int | None, key: str, value: str) -> bool:
    states = configparser.ConfigParser.BOOLEAN_STATES  # what SCALE-Sim's getboolean accepts
    if value.lower() not in states:
        raise ModelFileError(path, line, key, f"expected True or False, got {value!r}")
    return states[value.lower()]


def load_config(path: str | Path) -> ScaleSimConfig:
    """Read a SCALE-Sim ``.cfg``: the ArrayConfig fields it sets, or one ``ModelFileError`` line."""
    where = str(path)
    try:
        text = files.read_text(Path(path), files.MAX_YAML_BYTES)
    except files.FileProblem as e:
        raise ModelFileError(where, e.line, None, e.problem) from None
    parser = configparser.ConfigParser(interpolation=None, strict=True)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # keep the spelling for messages
    try:
        parser.read_string(text, source=where)
    except configparser.MissingSectionHeaderError as e:
        raise ModelFileError(where, e.lineno, None, "expected a [section] header before the first key") from None
    except configparser.DuplicateSectionError as e:
        raise ModelFileError(where, e.lineno, e.section, "section appears twice") from None
    except configparser.DuplicateOptionError as e:
        raise ModelFileError(where, e.lineno, e.option, f"appears twice in [{e.section}]") from None
    except configparser.ParsingError as e:
        lineno, _ = e.errors[0]
        raise ModelFileError(where, lineno, None, "expected 'key = value' or 'key: value'") from None
    except configparser.Error as e:
        raise ModelFileError(where, None, None, " ".join(str(e).split())) from None
    lines = _key_lines(text)
    known = set(MAPPED) | set(HARMLESS)
    values: dict[str, tuple[str, int | None]] = {}  # SCALE-Sim's spelling -> (value, line)
    for section in parser.sections():
        sec_line = next((i for i, raw in enumerate(text.splitlines(), 1) if raw.strip() == f"[{section}]"), None)
        if section not in known:
            raise ModelFileError(where, sec_line, section, f"unknown section (known: {', '.join(sorted(known))})")
        harmless = {k.lower() for k in HARMLESS.get(section, ())}
        mapped = MAPPED.get(section, {})
        seen: set[str] = set()
        for key, value in parser.items(section):
            low = key.lower()
            at = lines.get((section, low), [])
            line = at[-1] if low in seen and at else (at[0] if at else None)
            if low in seen:
                raise ModelFileError(where, line, key, f"appears twice in [{section}] (keys ignore case)")
            seen.add(low)
            if low in mapped:
                values[mapped[low]] = (value.strip(), line)
            elif low not in harmless:
                allowed = sorted([*mapped.values(), *HARMLESS.get(section, ())])
                raise ModelFileError(where, line, key, f"unknown key in [{section}] (known: {', '.join(allowed)})")

    mode, mode_line = values.get("InterfaceBandwidth", ("CALC", None))
    if mode not in ("CALC", "USER"):
        raise ModelFileError(where, mode_line, "InterfaceBandwidth", f"must be CALC or USER, got {mode!r}")
    for key in ("UseRamulatorTrace", "IfmapCustomLayout", "FilterCustomLayout", "SparsitySupport"):
        if key in values and _flag(where, values[key][1], key, values[key][0]):
            raise ModelFileError(where, values[key][1], key, "True is not supported: accelsim models neither "
                                 "Ramulator traces, custom SRAM layouts nor sparsity (set it False)")

    fields: dict[str, Any] = {}
    keys: dict[str, tuple[str, int | None]] = {"interface_bandwidth": ("InterfaceBandwidth", mode_line)}
    for key, fld in _FIELDS.items():
        if key not in values:
            continue
        value, line = values[key]
        if key == "Dataflow":
            if value not in DATAFLOWS:
                raise ModelFileError(where, line, key, f"must be one of {', '.join(DATAFLOWS)}, got {value!r}")
            fields[fld] = value
        elif key == "Bandwidth":
            if mode != "USER":
                continue  # CALC: SCALE-Sim computes the bandwidth a stall-free run needs; the value is unused
            parts = [p.strip() for p in value.split(",")]
            bws = [positive_int(where, line, key, p) for p in parts]
            if len(set(bws)) != 1:
                raise ModelFileError(where, line, key, f"one DRAM bandwidth per run, got {value!r} "
                                     "(accelsim's link has one bandwidth in each direction)")
            fields[fld] = float(bws[0])
        else:
            fields[fld] = positive_int(where, line, key, value)
        keys[fld] = (key, line)
    if mode == "USER" and "bandwidth" not in fields:
        raise ModelFileError(where, mode_line, "Bandwidth", "is required when InterfaceBandwidth is USER")
    return ScaleSimConfig(where, fields, keys, mode)
