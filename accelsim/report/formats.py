"""The report formats and the table width: constants the CLI needs at start-up, without pandas or rich."""

from __future__ import annotations

FORMATS = ("table", "csv", "json", "md")
TABLE_WIDTH = 100
