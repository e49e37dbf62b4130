"""The results database: SQLite, one row per design point keyed by the hash of its full config.

Tables:

- ``points``: one row per point, PRIMARY KEY ``key`` = SHA-256 of the canonical JSON of (network,
  batch, ArrayConfig, energy table, engine); the config columns, ``status`` (``ok``/``error``),
  ``error`` and the metrics of ``accelsim.columns.POINT_METRICS``.
- ``layers``: per-layer rows of every ``ok`` point, PRIMARY KEY (``key``, ``layer_index``): the
  columns of ``simulate().layers`` (same names and order) and the layer's energy.
- ``networks``: each network's layer list as JSON, so reports need no model file.
- ``meta``: the sweeps written into the file (name -> spec as JSON).

The database runs in WAL mode and every finished chunk of points is committed in one
transaction, points and layers together, so a killed sweep loses at most the chunks in flight and
a re-run skips every committed key (``synchronous=NORMAL``: a killed process loses nothing
committed; a power cut may lose the last commits, never consistency). Writes are
``INSERT OR REPLACE`` on the key: a row can never appear twice.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pandas as pd

from accelsim.columns import ENERGY, SIMULATE_LAYERS, STORE_CONFIG
from accelsim.dse.evaluate import LAYER_METRICS, POINT_METRICS
from accelsim.errors import AccelsimError

CONFIG_COLUMNS = (
    ("network", "TEXT"), ("network_id", "TEXT"), ("batch", "INTEGER"), ("rows", "INTEGER"), ("cols", "INTEGER"),
    ("dataflow", "TEXT"), ("ifmap_sram_kib", "REAL"), ("filter_sram_kib", "REAL"), ("ofmap_sram_kib", "REAL"),
    ("double_buffer", "INTEGER"), ("bandwidth_bytes_per_cycle", "REAL"), ("clock_mhz", "REAL"),
    ("data_bits", "INTEGER"), ("acc_bits", "INTEGER"), ("out_bits", "INTEGER"), ("engine", "TEXT"),
)
assert tuple(c for c, _ in CONFIG_COLUMNS) == STORE_CONFIG, "store config columns must follow accelsim.columns"
SORT_COLUMNS = ("network", "batch", "rows", "cols", "dataflow", "ifmap_sram_kib", "filter_sram_kib",
                "ofmap_sram_kib", "double_buffer", "bandwidth_bytes_per_cycle", "clock_mhz", "data_bits",
                "acc_bits", "out_bits", "engine", "key")
_REAL = {"utilization", "compute_utilization", "mapping_efficiency", "latency_ms", "inferences_per_second",
         "effective_tops", "peak_tops", "avg_dram_bytes_per_cycle", "peak_dram_bytes_per_cycle",
         "energy_per_inference_uJ", "intensity_macs_per_dram_byte", "attained_macs_per_cycle"}
_TEXT = {"layer", "type", "unit"}
SCHEMA_VERSION = "2"  # 2: the names of accelsim.columns; layers carry every column of simulate().layers


def _sqltype(col: str) -> str:
    if col in _TEXT:
        return "TEXT"
    return "REAL" if col in _REAL or col.endswith("_pJ") else "INTEGER"


def _schema() -> list[str]:
    point_cols = ["key TEXT PRIMARY KEY", *(f"{c} {t}" for c, t in CONFIG_COLUMNS), "status TEXT NOT NULL",
                  "error TEXT", *(f"{c} {_sqltype(c)}" for c in POINT_METRICS)]
    layer_cols = ["key TEXT NOT NULL", *(f"{c} {_sqltype(c)}" for c in LAYER_METRICS),
                  "PRIMARY KEY (key, layer_index)"]
    return [
        "CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL)",
        "CREATE TABLE IF NOT EXISTS networks "
        "(network_id TEXT PRIMARY KEY, name TEXT NOT NULL, spec_json TEXT NOT NULL)",
        f"CREATE TABLE IF NOT EXISTS points ({', '.join(point_cols)})",
        f"CREATE TABLE IF NOT EXISTS layers ({', '.join(layer_cols)})",
    ]


class ResultStore:
    """Writer side of a results database (one per sweep process)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.db = sqlite3.connect(self.path, timeout=30)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")
            with self.db:
                for stmt in _schema():
                    self.db.execute(stmt)
                row = self.db.execute("SELECT value FROM meta WHERE name = 'schema_version'").fetchone()
                if row is None:
                    self.db.execute("INSERT INTO meta VALUES ('schema_version', ?)", (SCHEMA_VERSION,))
                elif row[0] != SCHEMA_VERSION:
                    raise AccelsimError(f"output: {path} has results schema {row[0]}, this accelsim writes "
                                        f"{SCHEMA_VERSION}")
        except sqlite3.DatabaseError as e:
            raise AccelsimError(f"output: {path}: not a usable SQLite database ({e})") from None
        point_cols = ["key", *(c for c, _ in CONFIG_COLUMNS), "status", "error", *POINT_METRICS]
        self._point_sql = (f"INSERT OR REPLACE INTO points ({', '.join(point_cols)}) "
                           f"VALUES ({', '.join('?' * len(point_cols))})")
        self._layer_sql = (f"INSERT OR REPLACE INTO layers (key, {', '.join(LAYER_METRICS)}) "
                           f"VALUES ({', '.join('?' * (1 + len(LAYER_METRICS)))})")

    def close(self) -> None:
        self.db.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def keys(self, status: str | None = None) -> set[str]:
        sql, args = "SELECT key FROM points", ()
        if status:
            sql, args = sql + " WHERE status = ?", (status,)
        return {k for (k,) in self.db.execute(sql, args)}

    def add_network(self, network_id: str, name: str, spec: dict) -> None:
        with self.db:
            self.db.execute("INSERT OR IGNORE INTO networks VALUES (?, ?, ?)", (network_id, name, json.dumps(spec)))

    def set_meta(self, name: str, value) -> None:
        with self.db:
            self.db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (name, json.dumps(value)))

    def write(self, records: list[dict], configs: dict[str, tuple]) -> None:
        """Commit finished points (``run_job`` records) in one transaction.

        ``configs`` maps each key to its CONFIG_COLUMNS values.
        """
        with self.db:
            for rec in records:
                key = rec["key"]
                metrics = rec["metrics"] or {}
                self.db.execute(self._point_sql, (key, *configs[key], rec["status"], rec["error"],
                                                  *(metrics.get(c) for c in POINT_METRICS)))
                self.db.execute("DELETE FROM layers WHERE key = ?", (key,))
                if rec["layers"]:
                    self.db.executemany(self._layer_sql, [(key, *row) for row in rec["layers"]])


def _connect(path: str | Path) -> sqlite3.Connection:
    path = Path(path)
    if not path.is_file():
        raise AccelsimError(f"results: {path}: no such file")
    try:
        db = sqlite3.connect(path, timeout=30)
        db.execute("SELECT 1 FROM points LIMIT 1")
    except sqlite3.DatabaseError as e:
        raise AccelsimError(f"results: {path}: not an accelsim results database ({e})") from None
    return db


def load_results(path: str | Path, errors: bool = False) -> pd.DataFrame:
    """Every point of a results database as a DataFrame, in a stable order.

    ``errors=False`` keeps the ``ok`` points only; with ``errors=True`` failed points come too,
    their metrics empty and ``error`` saying why.
    """
    db = _connect(path)
    try:
        where = "" if errors else " WHERE status = 'ok'"
        df = pd.read_sql_query(f"SELECT * FROM points{where}", db)
    finally:
        db.close()
    df["double_buffer"] = df["double_buffer"].astype(bool)
    df = df.sort_values(list(SORT_COLUMNS), kind="stable").reset_index(drop=True)
    if not errors:
        df = df.drop(columns=["status", "error"])
    return df


LAYER_COLUMNS = (*SIMULATE_LAYERS, *ENERGY)


def load_layers(path: str | Path, key: str | None = None) -> pd.DataFrame:
    """Per-layer rows of one point (``key``) or of all points, in layer order.

    The columns are those of ``simulate().layers`` (same names, same order, ``layer`` first) followed
    by the layer's energy (``accelsim.columns.ENERGY``); for all points the point's ``key`` comes last.
    """
    db = _connect(path)
    cols = ", ".join(LAYER_COLUMNS)
    try:
        if key is None:
            df = pd.read_sql_query(f"SELECT {cols}, key FROM layers ORDER BY key, layer_index", db)
        else:
            df = pd.read_sql_query(f"SELECT {cols} FROM layers WHERE key = ? ORDER BY layer_index", db,
                                   params=(key,))
    finally:
        db.close()
    return df


def load_networks(path: str | Path) -> dict[str, dict]:
    """network_id -> network spec (``accelsim.dse.spec.network_from_spec`` rebuilds it)."""
    db = _connect(path)
    try:
        return {nid: json.loads(spec) for nid, spec in db.execute("SELECT network_id, spec_json FROM networks")}
    finally:
        db.close()


def load_meta(path: str | Path) -> dict:
    db = _connect(path)
    try:
        return {k: json.loads(v) if k != "schema_version" else v for k, v in db.execute("SELECT name, value FROM meta")}
    finally:
        db.close()


EXPORT_FORMATS = (".csv", ".parquet")


def export(path: str | Path, out: str | Path, errors: bool = True) -> int:
    """Write the points of ``path`` to ``out`` (.csv or .parquet); returns the row count."""
    out = Path(out)
    if out.suffix.lower() not in EXPORT_FORMATS:
        raise AccelsimError(f"export: {out}: unknown format (use {' or '.join(EXPORT_FORMATS)})")
    df = load_results(path, errors=errors)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        if out.suffix.lower() == ".csv":
            df.to_csv(out, index=False)
        else:
            df.to_parquet(out, index=False)
    except OSError as e:
        raise AccelsimError(f"export: cannot write {out}: {e.strerror}") from None
    return len(df)
