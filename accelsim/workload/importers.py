"""Model files: SCALE-Sim topology CSVs and accelsim's own YAML/JSON layer lists.

Our schema (YAML or JSON; JSON is read as YAML 1.2, so both report line numbers)::

    name: tiny                 # optional, defaults to the file's stem
    input_shape: [3, 32, 32]   # C, H, W (or T, F for a token sequence)
    strict: false              # optional: reject strides that leave a remainder
    layers:                    # each layer takes the previous layer's output unless it names `inputs`
      - {type: conv2d, name: conv1, in_channels: 3, out_channels: 16, kernel_size: 3, padding: 1}
      - {type: relu}           # name defaults to <type><index>
      - {type: maxpool2d, kernel_size: 2}
      - {type: flatten}
      - {type: linear, in_features: 4096, out_features: 10}

A graph names each node's producers with ``inputs: [name, ...]`` (``input`` is the network input);
e.g. a residual block ``{type: add, name: res, inputs: [conv2, relu1]}``. The network's output is
the last layer's. Layer types and their fields are those of ``accelsim.workload.layers``
(``LAYER_TYPES``: ``conv2d``, ``maxpool2d``, ``avgpool2d``, ``linear``, ``relu``, ``tanh``,
``sigmoid``, ``lrn``, ``flatten``, ``softmax``, ``add``, ``concat``, ``batchnorm2d``, ``relu6``,
``clip``, ``hardswish``, ``gelu``, ``global_avgpool2d``, ``adaptive_avgpool2d``, ``dropout``,
``layernorm``, ``matmul``). Duplicate keys, unknown keys and wrong types are errors.

A SCALE-Sim topology CSV has one independent convolution a row (IFMAP size already padded, FC
layers as 1x1 convolutions): rows are not chained. A SCALE-Sim GEMM topology (header
``Layer, M, N, K,``) is one independent GEMM a row: ``accelsim.workload.scalesim_files``.
"""

from __future__ import annotations

import csv
import dataclasses
import io
from pathlib import Path
from typing import Any

from accelsim.errors import ModelFileError
from accelsim.workload import files, scalesim_files
from accelsim.workload.layers import LAYER_TYPES, Conv2d, Layer, LayerError, name_problem
from accelsim.workload.network import Network

SCALESIM_COLUMNS = (
    "Layer name", "IFMAP Height", "IFMAP Width", "Filter Height", "Filter Width",
    "Channels", "Num Filter", "Strides",
)
_SCALESIM_FIELD = {"kernel_size": "Filter Height", "stride": "Strides", "in_channels": "Channels",
                   "name": "Layer name"}


def load(path: str | Path, strict: bool = False) -> Network:
    """Read a model file by its extension: .csv (SCALE-Sim), .yaml/.yml/.json (ours).

    The file is refused unread unless it is a regular file of at most ``files.MAX_FILE_BYTES``.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".yaml", ".yml", ".json"):
        raise ModelFileError(path, None, None, "unknown model file type (expected .csv, .yaml, .yml, .json or .onnx)")
    try:
        text = files.read_text(path, files.MAX_FILE_BYTES if suffix == ".csv" else files.MAX_YAML_BYTES)
        if suffix == ".json":
            files.check_json(text, path)
    except files.FileProblem as e:
        raise ModelFileError(path, e.line, None, e.problem) from None
    if suffix == ".csv":
        return load_scalesim_csv(text, path, strict)
    return load_schema(text, path, strict)


def load_scalesim_csv(text: str, path: str | Path = "<csv>", strict: bool = False) -> Network:
    rows = []
    for i, r in enumerate(csv.reader(io.StringIO(text)), start=1):
        if any(c.strip() for c in r):
            rows.append((i, r))
            if len(rows) > files.MAX_LAYERS + 1:
                raise ModelFileError(path, i, None, f"more than the limit of {files.MAX_LAYERS:,} layers")
    if not rows:
        raise ModelFileError(path, None, None, "the file is empty")
    if scalesim_files.is_gemm_header(rows[0][1]):
        return scalesim_files.load_gemm_csv(rows, path, strict)
    header_line, header = rows[0]
    header = [c.strip() for c in header]
    for col in SCALESIM_COLUMNS:
        if col not in header:
            raise ModelFileError(path, header_line, col, "missing column in the header")
    idx = {col: header.index(col) for col in SCALESIM_COLUMNS}
    if len(rows) == 1:
        raise ModelFileError(path, header_line, None, "no layer rows after the header")
    items, names = [], set()
    for line, row in rows[1:]:
        cells = [c.strip() for c in row]
        values: dict[str, int] = {}
        name = ""
        for col in SCALESIM_COLUMNS:
            i = idx[col]
            cell = cells[i] if i < len(cells) else ""
            if cell == "":
                raise ModelFileError(path, line, col, "is empty")
            if col == "Layer name":
                name = cell
                continue
            values[col] = files.positive_int(path, line, col, cell)
        if name in names:
            raise ModelFileError(path, line, "Layer name", f"'{name}' appears twice")
        names.add(name)
        for f, n in (("Filter Height", "IFMAP Height"), ("Filter Width", "IFMAP Width")):
            if values[f] > values[n]:
                raise ModelFileError(path, line, f, f"{values[f]} is larger than {n} {values[n]}")
        try:
            layer = Conv2d(
                name, values["Channels"], values["Num Filter"],
                (values["Filter Height"], values["Filter Width"]), stride=values["Strides"], bias=False,
            )
            shape = (values["Channels"], values["IFMAP Height"], values["IFMAP Width"])
            layer.infer(shape, strict)
            items.append((layer, shape))
        except LayerError as e:
            raise ModelFileError(path, line, _SCALESIM_FIELD.get(e.field, e.field), e.problem) from None
    return Network.independent(Path(path).stem, items, strict)


def _plain(value):
    """ruamel's scalars as plain Python values (0x3 is an int 3), lists as tuples (hashable)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, str):
        return str(value)
    if isinstance(value, list):
        return tuple(_plain(v) for v in value)
    return value


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _line(node, key=None) -> int | None:
    lc = getattr(node, "lc", None)
    if lc is None:
        return None
    try:
        return (lc.key(key)[0] if key is not None else lc.line) + 1
    except (KeyError, TypeError, AttributeError):
        return lc.line + 1


def _item_line(seq, i: int) -> int | None:
    try:
        return seq.lc.item(i)[0] + 1
    except (KeyError, TypeError, AttributeError):
        return None


def load_schema(text: str, path: str | Path = "<model>", strict: bool = False) -> Network:
    try:
        doc = files.load_yaml(text, path)
    except files.FileProblem as e:
        raise ModelFileError(path, e.line, None, e.problem) from None
    if not isinstance(doc, dict):
        raise ModelFileError(path, 1, None, "expected a mapping with 'input_shape' and 'layers'")
    allowed = {"name", "input_shape", "layers", "strict"}
    for key in doc:
        if not isinstance(key, str) or key not in allowed:
            raise ModelFileError(path, _line(doc, key), str(key),
                                 f"unknown key (allowed: {', '.join(sorted(allowed))})")
    for key in ("input_shape", "layers"):
        if key not in doc:
            raise ModelFileError(path, _line(doc), key, "is required")
    name = doc.get("name", Path(path).stem)
    problem = name_problem(name)
    if problem:
        raise ModelFileError(path, _line(doc, "name"), "name", problem)
    file_strict = doc.get("strict", False)
    if not isinstance(file_strict, bool):
        raise ModelFileError(path, _line(doc, "strict"), "strict", "must be true or false")
    strict = strict or file_strict  # the caller's --strict is not overruled by the file's `strict: false`
    shape = doc["input_shape"]
    if isinstance(shape, list) and all(_is_int(v) for v in shape):
        shape = [int(v) for v in shape]  # 0x3, 1_0: ruamel's int subclasses keep their YAML spelling
    if not isinstance(shape, list) or len(shape) not in (2, 3) or not all(_is_int(v) and v > 0 for v in shape):
        raise ModelFileError(path, _line(doc, "input_shape"), "input_shape",
                             f"expected [C, H, W] or [T, F] of positive integers, got {shape!r}")
    specs = doc["layers"]
    if not isinstance(specs, list) or not specs:
        raise ModelFileError(path, _line(doc, "layers"), "layers", "must be a non-empty list")
    if len(specs) > files.MAX_LAYERS:
        raise ModelFileError(path, _line(doc, "layers"), "layers",
                             f"{len(specs):,} layers, more than the limit of {files.MAX_LAYERS:,}")

    layers, lines, items = [], [], []
    for i, spec in enumerate(specs):
        line = _item_line(specs, i)
        layer, inputs = _layer(spec, i, path, line)
        layers.append(layer)
        lines.append(line)
        items.append((layer, inputs))
    try:
        return Network.graph(name, tuple(shape), items, strict)
    except LayerError as e:
        # the offending layer: the last of that name (a duplicate name is the later layer's fault)
        named = [ln for layer, ln in zip(layers, lines, strict=True) if layer.name == e.layer]
        line = named[-1] if named else None
        raise ModelFileError(path, line, e.field, f"layer '{e.layer}': {e.problem}") from None


def _inputs(spec, path) -> list[str] | None:
    """The ``inputs`` key: a non-empty list of node names, or None when absent (the previous layer)."""
    if "inputs" not in spec:
        return None
    value = spec["inputs"]
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise ModelFileError(path, _line(spec, "inputs"), "inputs",
                             f"expected a non-empty list of layer names, got {_plain(value)!r}")
    return [str(v) for v in value]


def _layer(spec, index: int, path, line) -> tuple[Layer, list[str] | None]:
    if not isinstance(spec, dict):
        raise ModelFileError(path, line, "layers", f"item {index} must be a mapping with a 'type'")
    kind = spec.get("type")
    if not isinstance(kind, str) or kind not in LAYER_TYPES:
        raise ModelFileError(path, line, "type", f"unknown layer type {kind!r} (choose from {', '.join(LAYER_TYPES)})")
    cls = LAYER_TYPES[kind]
    allowed = {f.name for f in dataclasses.fields(cls)}
    kwargs: dict[str, Any] = {}
    for key, value in spec.items():
        if key in ("type", "inputs"):
            continue
        if not isinstance(key, str) or key not in allowed:
            raise ModelFileError(path, _line(spec, key), str(key),
                                 f"unknown field for {kind} (allowed: {', '.join(sorted(allowed | {'inputs'}))})")
        kwargs[key] = _plain(value)
    kwargs.setdefault("name", f"{kind}{index}")
    try:
        return cls(**kwargs), _inputs(spec, path)
    except LayerError as e:
        at = _line(spec, e.field) if e.field in spec else line
        raise ModelFileError(path, at, e.field, f"layer '{e.layer}': {e.problem}") from None
