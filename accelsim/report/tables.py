"""Rendering of per-layer DataFrames: aligned rich tables, Markdown, CSV and JSON.

A report is a DataFrame (one row per layer, units in the column names) plus a totals dict. The
table and Markdown views show a chosen subset of columns with thousands separators; CSV and JSON
carry every column, JSON as ``{"model": ..., "layers": [...], "totals": {...}}``.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from rich import box
from rich.console import Console
from rich.table import Table

FORMATS = ("table", "csv", "json", "md")
TABLE_WIDTH = 100


@dataclass(frozen=True)
class Column:
    """One column of the human-readable views: DataFrame key, header, cell formatter."""

    key: str
    header: str
    fmt: Callable[[object], str] = str
    numeric: bool = True


def thousands(v) -> str:
    return f"{int(v):,}"


def shape(v) -> str:
    return "x".join(str(x) for x in v)


def decimal(digits: int) -> Callable[[object], str]:
    return lambda v: f"{float(v):,.{digits}f}"


def percent(v) -> str:
    return f"{100 * float(v):.1f}%"


def _jsonable(v):
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (np.floating,)):
        return float(v)
    if isinstance(v, np.bool_):
        return bool(v)
    if isinstance(v, np.ndarray):
        return v.tolist()
    return v


def to_records(df: pd.DataFrame) -> list[dict]:
    return [{k: _jsonable(v) for k, v in row.items()} for row in df.to_dict(orient="records")]


def to_json(df: pd.DataFrame, totals: dict, **meta) -> str:
    doc = {"model": df.attrs.get("model"), **meta, "layers": to_records(df), "totals": {k: _jsonable(v) for k, v in totals.items()}}
    return json.dumps(doc, indent=2) + "\n"


def to_csv(df: pd.DataFrame) -> str:
    flat = df.copy()
    for col in flat.columns:
        if flat[col].map(lambda v: isinstance(v, (list, tuple))).any():
            flat[col] = flat[col].map(shape)
    return flat.to_csv(index=False)


def to_table(
    df: pd.DataFrame, columns: Sequence[Column], total_row: dict | None, title: str, notes: Sequence[str] = ()
) -> str:
    """An aligned table like torchinfo's summary, at most TABLE_WIDTH columns wide."""
    table = Table(title=title, box=box.SIMPLE_HEAD, pad_edge=False, show_footer=total_row is not None, title_justify="left")
    for c in columns:
        footer = c.fmt(total_row[c.key]) if total_row and c.key in total_row else ("Total" if total_row and c is columns[0] else "")
        table.add_column(c.header, justify="right" if c.numeric else "left", footer=footer, no_wrap=True)
    for _, row in df.iterrows():
        table.add_row(*[c.fmt(row[c.key]) for c in columns])
    buf = io.StringIO()
    console = Console(file=buf, width=TABLE_WIDTH, force_terminal=False, color_system=None, soft_wrap=False)
    console.print(table)
    for line in notes:
        console.print(line, highlight=False, soft_wrap=True)
    return "\n".join(line.rstrip() for line in buf.getvalue().splitlines()) + "\n"


def to_markdown(df: pd.DataFrame, columns: Sequence[Column], total_row: dict | None, title: str, notes: Sequence[str] = ()) -> str:
    lines = [f"## {title}", "", "| " + " | ".join(c.header for c in columns) + " |"]
    lines.append("|" + "|".join("---:" if c.numeric else ":---" for c in columns) + "|")
    for _, row in df.iterrows():
        lines.append("| " + " | ".join(c.fmt(row[c.key]) for c in columns) + " |")
    if total_row:
        cells = [c.fmt(total_row[c.key]) if c.key in total_row else "" for c in columns]
        cells[0] = cells[0] or "**Total**"
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    lines += [f"- {n}" for n in notes]
    return "\n".join(lines) + "\n"


def render(
    fmt: str, df: pd.DataFrame, totals: dict, columns: Sequence[Column], total_row: dict | None, title: str,
    notes: Sequence[str] = (), **meta,
) -> str:
    if fmt == "json":
        return to_json(df, totals, **meta)
    if fmt == "csv":
        return to_csv(df)
    if fmt == "md":
        return to_markdown(df, columns, total_row, title, notes)
    return to_table(df, columns, total_row, title, notes)


def mb(nbytes: int) -> str:
    """Bytes as decimal megabytes (MB = 10^6 bytes), the unit every report states."""
    return f"{nbytes / 1e6:,.2f} MB"
