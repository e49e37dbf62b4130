"""Rendering of per-layer tables: aligned rich tables, Markdown, CSV and JSON.

A report is a table (one row per layer, units in the column names) plus a totals dict. The table
is a list of row dicts or a pandas DataFrame (its ``attrs["network"]`` names the network); rendering
never imports pandas itself, so a command whose results are plain rows starts fast. The table and
Markdown views show a chosen subset of columns with thousands separators; CSV and JSON carry
every column, JSON as ``{"network": ..., "layers": [...], "totals": {...}}``.
"""

from __future__ import annotations

import csv
import io
import json
import math
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from rich import box
from rich.cells import cell_len
from rich.console import Console
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

from accelsim.report.formats import TABLE_WIDTH

Rows = Sequence[Mapping[str, Any]]
WRAP_MIN = 12  # a wrapping (name) column folds down to this width before the table grows past TABLE_WIDTH


@dataclass(frozen=True)
class Column:
    """One column of the human-readable views: DataFrame key, header, cell formatter."""

    key: str
    header: str
    fmt: Callable[[object], str] = str
    numeric: bool = True
    wrap: bool = False  # the table view may fold this column's cells (names); the others are never cut


def thousands(v) -> str:
    return f"{int(v):,}"


def shape(v) -> str:
    return "x".join(str(x) for x in v)


def decimal(digits: int) -> Callable[[Any], str]:
    return lambda v: f"{float(v):,.{digits}f}"


def percent(v) -> str:
    return f"{100 * float(v):.1f}%"


def rows_of(table: Any) -> list[dict]:
    """The rows of ``table`` (row dicts, or a DataFrame's records) as dicts."""
    to_dict = getattr(table, "to_dict", None)
    return to_dict(orient="records") if callable(to_dict) else [dict(r) for r in table]


def _missing(v) -> bool:
    """None, NaN, or pandas' NA (which exists only once pandas is imported)."""
    pd = sys.modules.get("pandas")
    return v is None or (pd is not None and v is pd.NA) or (isinstance(v, (float, np.floating)) and math.isnan(v))


def _jsonable(v):
    if v is None or (not isinstance(v, (float, np.floating)) and _missing(v)):
        return None
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        return float(v) if np.isfinite(v) else None  # JSON has no NaN/Infinity: null
    if isinstance(v, np.bool_):
        return bool(v)
    if isinstance(v, np.ndarray):
        return v.tolist()
    return v


def to_records(table: Any) -> list[dict]:
    return [{k: _jsonable(v) for k, v in row.items()} for row in rows_of(table)]


def to_json(table: Any, totals: dict, **meta) -> str:
    doc = {"network": getattr(table, "attrs", {}).get("network"), **meta, "layers": to_records(table),
           "totals": {k: _jsonable(v) for k, v in totals.items()}}
    return json.dumps(doc, indent=2, allow_nan=False) + "\n"


def _csv_cell(v) -> object:
    if _missing(v):
        return ""
    if isinstance(v, (list, tuple)):
        return shape(v)
    return v.item() if isinstance(v, np.generic) else v


def to_csv(table: Any) -> str:
    """Every column; missing values empty, shapes as ``AxBxC`` (what pandas' ``to_csv`` writes)."""
    rows = rows_of(table)
    columns = list(table.columns) if hasattr(table, "columns") else list(rows[0]) if rows else []
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows([_csv_cell(row.get(c)) for c in columns] for row in rows)
    return buf.getvalue()


def to_table(
    table: Any, columns: Sequence[Column], total_row: dict | None, title: str, notes: Sequence[str] = (),
    compact: bool = False,
) -> str:
    """An aligned table like torchinfo's summary, at most TABLE_WIDTH columns wide.

    No cell is ever cut: only ``wrap`` columns (layer names) fold, down to WRAP_MIN; if the table
    still does not fit, it grows past TABLE_WIDTH rather than truncate a number. Notes wrap at
    TABLE_WIDTH. ``compact`` puts two spaces between columns instead of three (for wide views).
    """
    body = [[c.fmt(row[c.key]) for c in columns] for row in rows_of(table)]
    footers = [c.fmt(total_row[c.key]) if total_row and c.key in total_row
               else ("Total" if total_row and i == 0 else "") for i, c in enumerate(columns)]
    # Every string goes in as Text: a name such as "a[/]" is not rich markup (MarkupError) nor styled.
    view = Table(title=Text(title), box=box.SIMPLE_HEAD, pad_edge=False, show_footer=total_row is not None,
                 title_justify="left", collapse_padding=compact)
    foldable = 0
    for i, c in enumerate(columns):
        natural = max(cell_len(t) for t in (c.header, footers[i], *(r[i] for r in body)))
        if c.wrap:
            foldable += max(0, natural - WRAP_MIN)
        view.add_column(Text(c.header), justify="right" if c.numeric else "left", footer=Text(footers[i]),
                        no_wrap=not c.wrap, overflow="fold" if c.wrap else "ellipsis",
                        min_width=None if c.wrap else natural)
    for cells in body:
        view.add_row(*map(Text, cells))
    wide = Console(width=1 << 16, force_terminal=False, color_system=None)
    natural_width = Measurement.get(wide, wide.options, view).maximum
    width = max(TABLE_WIDTH, natural_width - foldable)
    buf = io.StringIO()
    console = Console(file=buf, width=width, force_terminal=False, color_system=None, soft_wrap=False)
    console.print(view)
    for line in notes:
        console.print(Text(line), width=TABLE_WIDTH, overflow="fold")
    return "\n".join(line.rstrip() for line in buf.getvalue().splitlines()) + "\n"


def _md_cell(text: str) -> str:
    return str(text).replace("|", "\\|")


def to_markdown(
    table: Any, columns: Sequence[Column], total_row: dict | None, title: str, notes: Sequence[str] = ()
) -> str:
    lines = [f"## {title}", "", "| " + " | ".join(_md_cell(c.header) for c in columns) + " |"]
    lines.append("|" + "|".join("---:" if c.numeric else ":---" for c in columns) + "|")
    for row in rows_of(table):
        lines.append("| " + " | ".join(_md_cell(c.fmt(row[c.key])) for c in columns) + " |")
    if total_row:
        cells = [c.fmt(total_row[c.key]) if c.key in total_row else "" for c in columns]
        cells[0] = cells[0] or "**Total**"
        lines.append("| " + " | ".join(_md_cell(c) for c in cells) + " |")
    lines.append("")
    lines += [f"- {n}" for n in notes]
    return "\n".join(lines) + "\n"


def render(
    fmt: str, table: Any, totals: dict, columns: Sequence[Column], total_row: dict | None, title: str,
    notes: Sequence[str] = (), compact: bool = False, **meta,
) -> str:
    if fmt == "json":
        return to_json(table, totals, **meta)
    if fmt == "csv":
        return to_csv(table)
    if fmt == "md":
        return to_markdown(table, columns, total_row, title, notes)
    return to_table(table, columns, total_row, title, notes, compact)


def mb_number(nbytes) -> str:
    """Bytes as decimal megabytes with two decimals (rounded half up), exact for any integer count
    (a float division misprints counts beyond 2^53 bytes)."""
    if isinstance(nbytes, (float, np.floating)) and not float(nbytes).is_integer():
        return f"{nbytes / 1e6:,.2f}"
    cents = (int(nbytes) + 5_000) // 10_000
    return f"{cents // 100:,}.{cents % 100:02d}"


def mb(nbytes: int) -> str:
    """Bytes as decimal megabytes (MB = 10^6 bytes), the unit every report states."""
    return f"{mb_number(nbytes)} MB"


ENERGY_UNITS = ((1e12, "J"), (1e9, "mJ"), (1e6, "uJ"), (1e3, "nJ"), (1.0, "pJ"))


def energy_unit(pJ: float) -> tuple[float, str]:
    """The divisor and unit (pJ .. J) that print ``pJ`` picojoules with 1 to 3 integer digits."""
    for div, unit in ENERGY_UNITS:
        if abs(pJ) >= div:
            return div, unit
    return 1.0, "pJ"


def significant(v: float) -> str:
    """Three significant digits, never an exponent: ``0.123``, ``12.3``, ``456``, ``1,234``."""
    return f"{v:,.0f}" if abs(v) >= 100 else f"{v:,.3g}"


def energy(pJ: float) -> str:
    """Picojoules in a scaled unit: ``1.23 mJ``, ``456 uJ``."""
    div, unit = energy_unit(pJ)
    return f"{significant(pJ / div)} {unit}"
