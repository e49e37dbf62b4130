"""The report formats, the table width and the report's selection rules: constants the CLI needs at start-up,
without pandas or rich."""

from __future__ import annotations

FORMATS = ("table", "csv", "json", "md")
TABLE_WIDTH = 100
# which point `accelsim report` details: lowest energy-delay product, latency-energy knee, lowest latency
SELECT_BY = ("edp", "knee", "latency")
