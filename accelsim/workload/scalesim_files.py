"""SCALE-Sim's GEMM ("mnk") topology CSV as accelsim layers.

SCALE-Sim v2/v3 (``topologies/GEMM_mnk/*.csv``, read by ``topology_utils.load_arrays_gemm``) write
a header row ``Layer, M, N, K,`` then one independent GEMM a row: ``name, M, N, K,`` (v3 allows a
fifth cell, the N:M sparsity ratio, default ``1:1``). SCALE-Sim reads the cells by position and
turns each row into the convolution ``[name, M, K, 1, K, 1, N, 1]`` (IFMAP M x K, a 1 x K filter,
one channel, N filters, stride 1).

accelsim represents the row as the 1x1 convolution of a ``K x M x 1`` input (K channels, an M x 1
image) with N filters and no bias: its im2col GEMM is exactly M x K x N, its parameters K x N,
its MACs M x K x N, and every SCALE-Sim operand address (IFMAP m*K+k, filter k*N+n, OFMAP m*N+n)
is the same as in SCALE-Sim's own form. Batch multiplies M, as for any convolution.
"""

from __future__ import annotations

from pathlib import Path

from accelsim.errors import ModelFileError
from accelsim.workload import files
from accelsim.workload.layers import Conv2d, LayerError
from accelsim.workload.network import Network

GEMM_COLUMNS = ("M", "N", "K")
_FIELD = {"in_channels": "K", "out_channels": "N", "name": "Layer"}


def is_gemm_header(header: list[str]) -> bool:
    """A SCALE-Sim GEMM header: a layer-name column, then M, N, K (SCALE-Sim reads by position)."""
    cells = [c.strip() for c in header]
    return len(cells) >= 4 and cells[0].lower().startswith("layer") and [c.upper() for c in cells[1:4]] == list(
        GEMM_COLUMNS)


def _trim(row: list[str]) -> list[str]:
    """Cells stripped, without the trailing empty cells SCALE-Sim's trailing comma leaves."""
    cells = [c.strip() for c in row]
    while cells and cells[-1] == "":
        cells.pop()
    return cells


def load_gemm_csv(rows: list[tuple[int, list[str]]], path: str | Path = "<csv>", strict: bool = False) -> Network:
    """The network of a SCALE-Sim GEMM topology: ``rows`` are (line number, cells) of the
    non-blank lines, the header first (at most ``files.MAX_LAYERS`` rows after it: the caller,
    ``importers.load_scalesim_csv``, stops reading past that). One independent layer a row (see the
    module docstring)."""
    header_line, header = rows[0]
    if len(_trim(header)) > 5:
        raise ModelFileError(path, header_line, None,
                             "a SCALE-Sim GEMM header has the columns Layer, M, N, K and an optional sparsity")
    if len(rows) == 1:
        raise ModelFileError(path, header_line, None, "no layer rows after the header")
    items, names = [], set()
    for line, row in rows[1:]:
        cells = _trim(row)
        if len(cells) < 4:
            missing = ("Layer", *GEMM_COLUMNS)[len(cells)]
            raise ModelFileError(path, line, missing, "is missing (a row is: Layer, M, N, K,)")
        if len(cells) > 5:
            raise ModelFileError(path, line, None,
                                 f"{len(cells)} cells, expected Layer, M, N, K and an optional sparsity ratio")
        if len(cells) == 5 and cells[4].replace(" ", "") not in ("", "1:1"):
            raise ModelFileError(path, line, "sparsity",
                                 f"N:M sparsity {cells[4]!r} is not supported (only dense, 1:1)")
        name = cells[0]
        if name == "":
            raise ModelFileError(path, line, "Layer", "is empty")
        values: dict[str, int] = {}
        for col, cell in zip(GEMM_COLUMNS, cells[1:4], strict=True):
            if cell == "":
                raise ModelFileError(path, line, col, "is empty")
            values[col] = files.positive_int(path, line, col, cell)
        if name in names:
            raise ModelFileError(path, line, "Layer", f"'{name}' appears twice")
        names.add(name)
        m, n, k = values["M"], values["N"], values["K"]
        try:
            layer = Conv2d(name, k, n, 1, bias=False)
            shape = (k, m, 1)
            layer.infer(shape, strict)
        except LayerError as e:
            raise ModelFileError(path, line, _FIELD.get(e.field, e.field), e.problem) from None
        items.append((layer, shape))
    return Network.independent(Path(path).stem, items, strict)
