"""The results database: SQLite, one row per design point keyed by the hash of its full config.

Tables:

- ``points``: one row per point, PRIMARY KEY ``key`` = SHA-256 of the canonical JSON of (network,
  batch, ArrayConfig, energy table, engine, mapper, objective, tech_node_nm); the config columns, ``status``
  (``ok``/``error``), ``error`` and the metrics of ``accelsim.columns.POINT_METRICS`` (``area_mm2``
  from synthesis, ``edp_uJ_ms``, ``pJ_per_mac`` among them).
- ``layers``: per-layer rows of every ``ok`` point, PRIMARY KEY (``key``, ``layer_index``): the
  columns of ``simulate().layers`` (same names and order) and the layer's energy.
- ``networks``: each network's layer list as JSON, so reports need no model file.
- ``meta``: the sweeps written into the file (name -> spec as JSON), ``schema_version``, and
  ``accelsim_version`` (the version that last wrote).

Each point also records ``design_key`` (the hash of the design alone: network, batch, array,
simulator, mapper, objective) and the ``accelsim_version`` that computed it. The key includes the energy table and
the version, so a re-run with a changed energy table (or a newer accelsim) computes new rows;
when they are written, the rows of the same design under the old key are deleted, or with
``keep_superseded`` kept apart with ``superseded = 1``. Readers never see superseded rows unless
they ask, so export and report never mix two energy tables for one design.

The store refuses, with one line: a missing parent folder (it creates no folders), a file that is
not SQLite, an SQLite file with tables that are not accelsim's (it never adds tables to it), a
store of another schema version, a read-only file, and (readers) a store without metadata or
with text in a metric column.

The database runs in WAL mode and every finished chunk of points is committed in one
transaction, points and layers together, so a killed sweep loses at most the chunks in flight and
a re-run skips every committed key (``synchronous=NORMAL``: a killed process loses nothing
committed; a power cut may lose the last commits, never consistency). Writes are
``INSERT OR REPLACE`` on the key: a row can never appear twice.
"""

from __future__ import annotations

import json
import os
import sqlite3
from contextlib import contextmanager
from pathlib import Path

import pandas as pd

from accelsim.columns import POINT_METRICS, STORE_CONFIG, STORE_LAYERS
from accelsim.dse.evaluate import LAYER_METRICS, TEXT_COLUMNS
from accelsim.errors import AccelsimError
from accelsim.workload.files import atomic_write, same_file

CONFIG_COLUMNS = (
    ("network", "TEXT"), ("network_id", "TEXT"), ("batch", "INTEGER"), ("rows", "INTEGER"), ("cols", "INTEGER"),
    ("dataflow", "TEXT"), ("ifmap_sram_kib", "REAL"), ("filter_sram_kib", "REAL"), ("ofmap_sram_kib", "REAL"),
    ("double_buffer", "INTEGER"), ("pipeline", "INTEGER"), ("on_chip", "INTEGER"),
    ("bandwidth_bytes_per_cycle", "REAL"), ("clock_mhz", "REAL"), ("data_bits", "INTEGER"), ("acc_bits", "INTEGER"),
    ("out_bits", "INTEGER"), ("engine", "TEXT"), ("mapper", "TEXT"), ("objective", "TEXT"), ("tech_node_nm", "INTEGER"),
)
assert tuple(c for c, _ in CONFIG_COLUMNS) == STORE_CONFIG, "store config columns must follow accelsim.columns"
SORT_COLUMNS = ("network", "batch", "rows", "cols", "dataflow", "ifmap_sram_kib", "filter_sram_kib",
                "ofmap_sram_kib", "double_buffer", "pipeline", "on_chip", "bandwidth_bytes_per_cycle", "clock_mhz",
                "data_bits",
                "acc_bits", "out_bits", "engine", "mapper", "objective", "tech_node_nm", "key")
_REAL = {"utilization", "compute_utilization", "mapping_efficiency", "latency_ms", "inferences_per_second",
         "effective_tops", "peak_tops", "avg_dram_bytes_per_cycle", "peak_dram_bytes_per_cycle",
         "energy_per_inference_uJ", "intensity_macs_per_dram_byte", "attained_macs_per_cycle", "area_mm2",
         "edp_uJ_ms", "pJ_per_mac"}
# 2: the names of accelsim.columns; layers carry every column of simulate().layers
# 3: design_key, accelsim_version and superseded on points (energy table and version in the key)
# 4: on_chip on points; input_from and output_to on layers (layers that stay on chip)
# 5: pipeline (the fold issue rule) on points
# 6: leakage_pJ
# 7: mapper, objective and tech_node_nm on points; area_mm2 (synthesis), edp_uJ_ms, pJ_per_mac, fixed_*;
#    simulate's mapping and fixed_* on layers
SCHEMA_VERSION = "7"
TABLES = ("meta", "networks", "points", "layers")


def _sqltype(col: str) -> str:
    if col in TEXT_COLUMNS:
        return "TEXT"
    return "REAL" if col in _REAL or col.endswith("_pJ") else "INTEGER"


def _schema() -> list[str]:
    point_cols = ["key TEXT PRIMARY KEY", *(f"{c} {t}" for c, t in CONFIG_COLUMNS), "status TEXT NOT NULL",
                  "error TEXT", *(f"{c} {_sqltype(c)}" for c in POINT_METRICS), "design_key TEXT NOT NULL",
                  "accelsim_version TEXT NOT NULL", "superseded INTEGER NOT NULL DEFAULT 0"]
    layer_cols = ["key TEXT NOT NULL", *(f"{c} {_sqltype(c)}" for c in LAYER_METRICS),
                  "PRIMARY KEY (key, layer_index)"]
    return [
        "CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL)",
        "CREATE TABLE IF NOT EXISTS networks "
        "(network_id TEXT PRIMARY KEY, name TEXT NOT NULL, spec_json TEXT NOT NULL)",
        f"CREATE TABLE IF NOT EXISTS points ({', '.join(point_cols)})",
        f"CREATE TABLE IF NOT EXISTS layers ({', '.join(layer_cols)})",
        # ResultStore.write looks up every written point's design: without an index a full scan each
        "CREATE INDEX IF NOT EXISTS points_design_key ON points (design_key)",
    ]


@contextmanager
def _sql(path, action: str = "write"):
    """SQLite errors (read-only file, locked, corrupt) as one line."""
    try:
        yield
    except sqlite3.Error as e:
        raise AccelsimError(f"results: {path}: cannot {action}: {e}") from None


def _tables(db: sqlite3.Connection) -> set[str]:
    return {n for (n,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def _check_accelsim(db: sqlite3.Connection, path) -> None:
    """Refuse an SQLite file that is not an accelsim results store of this schema."""
    tables = _tables(db)
    if "meta" not in tables:
        what = f"its tables are {', '.join(sorted(tables))}" if tables else "it has no tables"
        raise AccelsimError(f"results: {path}: not an accelsim results database ({what}, no accelsim metadata)")
    row = db.execute("SELECT value FROM meta WHERE name = 'schema_version'").fetchone()
    if row is None:
        raise AccelsimError(f"results: {path}: not an accelsim results database (no schema_version in its metadata)")
    if row[0] != SCHEMA_VERSION:
        raise AccelsimError(f"results: {path} has results schema {row[0]}, this accelsim reads and writes "
                            f"{SCHEMA_VERSION} (its points were priced by another model: run the sweep again "
                            f"into a new file)")
    missing = [t for t in TABLES if t not in tables]
    if missing:
        raise AccelsimError(f"results: {path}: not an accelsim results database (no table {missing[0]})")


class ResultStore:
    """Writer side of a results database (one per sweep process).

    ``keep_superseded``: rows of a design computed under another energy table or accelsim version
    are kept, tagged ``superseded = 1``, instead of deleted.
    """

    def __init__(self, path: str | Path, keep_superseded: bool = False):
        from accelsim import __version__

        self.path = Path(path)
        self.keep_superseded = keep_superseded
        parent = self.path.parent
        if not parent.is_dir():
            raise AccelsimError(f"output: {path}: the folder {parent} does not exist (the results store creates none)")
        if self.path.exists() and not self.path.is_file():
            raise AccelsimError(f"output: {path}: not a regular file")
        if self.path.is_file() and not os.access(self.path, os.W_OK):
            raise AccelsimError(f"output: {path}: the file is read-only")
        with _sql(path, "open it: not an accelsim results database"):
            self.db = sqlite3.connect(self.path, timeout=30)
            try:
                if _tables(self.db):
                    _check_accelsim(self.db, path)
                self.db.execute("PRAGMA journal_mode=WAL")
                self.db.execute("PRAGMA synchronous=NORMAL")
                with self.db:
                    for stmt in _schema():
                        self.db.execute(stmt)
                    self.db.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", (SCHEMA_VERSION,))
                    self.db.execute("INSERT OR REPLACE INTO meta VALUES ('accelsim_version', ?)",
                                    (json.dumps(__version__),))
            except BaseException:
                self.db.close()
                raise
        self.version = __version__
        cols = [c for c, _ in CONFIG_COLUMNS]
        values = ", ".join("?" * (len(CONFIG_COLUMNS) + 3 + len(POINT_METRICS) + 2))
        self._point_sql = (f"INSERT OR REPLACE INTO points (key, {', '.join(cols)}, status, error, "
                           f"{', '.join(POINT_METRICS)}, design_key, accelsim_version) VALUES ({values})")
        self._layer_sql = (f"INSERT OR REPLACE INTO layers (key, {', '.join(LAYER_METRICS)}) "
                           f"VALUES ({', '.join('?' * (1 + len(LAYER_METRICS)))})")

    def close(self) -> None:
        self.db.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def keys(self, status: str | None = None) -> set[str]:
        """The keys of the current (not superseded) points, of one ``status`` if given."""
        sql, args = "SELECT key FROM points WHERE superseded = 0", ()  # type: tuple[str, tuple[str, ...]]
        if status:
            sql, args = sql + " AND status = ?", (status,)
        with _sql(self.path, "read"):
            return {k for (k,) in self.db.execute(sql, args)}

    def add_network(self, network_id: str, name: str, spec: dict) -> None:
        with _sql(self.path), self.db:
            self.db.execute("INSERT OR IGNORE INTO networks VALUES (?, ?, ?)", (network_id, name, json.dumps(spec)))

    def set_meta(self, name: str, value) -> None:
        with _sql(self.path), self.db:
            self.db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (name, json.dumps(value)))

    def write(self, records: list[dict], configs: dict[str, tuple], design_keys: dict[str, str]) -> None:
        """Commit finished points (``run_job`` records) in one transaction.

        ``configs`` maps each key to its CONFIG_COLUMNS values, ``design_keys`` to its design key;
        rows of the same design under other keys are deleted (or tagged superseded).
        """
        with _sql(self.path), self.db:
            for rec in records:
                key = rec["key"]
                design = design_keys[key]
                metrics = rec["metrics"] or {}
                old = [k for (k,) in self.db.execute("SELECT key FROM points WHERE design_key = ? AND key != ?",
                                                     (design, key))]
                if self.keep_superseded:
                    self.db.executemany("UPDATE points SET superseded = 1 WHERE key = ?", [(k,) for k in old])
                else:
                    self.db.executemany("DELETE FROM points WHERE key = ?", [(k,) for k in old])
                    self.db.executemany("DELETE FROM layers WHERE key = ?", [(k,) for k in old])
                self.db.execute(self._point_sql, (key, *configs[key], rec["status"], rec["error"],
                                                  *(metrics.get(c) for c in POINT_METRICS), design, self.version))
                self.db.execute("DELETE FROM layers WHERE key = ?", (key,))
                if rec["layers"]:
                    self.db.executemany(self._layer_sql, [(key, *row) for row in rec["layers"]])


def _connect(path: str | Path) -> sqlite3.Connection:
    """A read connection to an accelsim results store, checked (one line otherwise)."""
    path = Path(path)
    if not path.is_file():
        raise AccelsimError(f"results: {path}: no such file")
    with _sql(path, "read it: not an accelsim results database"):
        db = sqlite3.connect(path, timeout=30)
        try:
            _check_accelsim(db, path)
        except BaseException:
            db.close()
            raise
    return db


def _numeric(df: pd.DataFrame, columns, path) -> None:
    """Refuse text in a numeric column (a store edited by hand or by another program)."""
    for col in columns:
        if col in df and not pd.api.types.is_numeric_dtype(df[col]):
            bad = df[col][df[col].map(lambda v: not (v is None or isinstance(v, (int, float))) and not pd.isna(v))]
            if len(bad):
                raise AccelsimError(f"results: {path}: column '{col}' holds non-numeric values "
                                    f"(first {bad.iloc[0]!r})")


def load_results(path: str | Path, errors: bool = False, superseded: bool = False) -> pd.DataFrame:
    """Every current point of a results database as a DataFrame, in a stable order.

    ``errors=False`` keeps the ``ok`` points only; with ``errors=True`` failed points come too,
    their metrics empty and ``error`` saying why. ``superseded=True`` adds the rows kept apart by
    ``keep_superseded`` (their ``superseded`` column is 1).
    """
    db = _connect(path)
    try:
        where = [] if errors else ["status = 'ok'"]
        if not superseded:
            where.append("superseded = 0")
        with _sql(path, "read"):
            df = pd.read_sql_query("SELECT * FROM points" + (f" WHERE {' AND '.join(where)}" if where else ""), db)
    finally:
        db.close()
    _numeric(df, [c for c, t in CONFIG_COLUMNS if t != "TEXT"] + [c for c in POINT_METRICS if _sqltype(c) != "TEXT"],
             path)
    df["double_buffer"] = df["double_buffer"].astype(bool)
    df["pipeline"] = df["pipeline"].astype(bool)
    df["on_chip"] = df["on_chip"].astype(bool)
    df = df.sort_values(list(SORT_COLUMNS), kind="stable").reset_index(drop=True)
    if not errors:
        df = df.drop(columns=["status", "error"])
    return df


LAYER_COLUMNS = STORE_LAYERS[2:]  # simulate's row columns (the mapping, the energy, the fixed mapping's cost)


def load_layers(path: str | Path, key: str | None = None) -> pd.DataFrame:
    """Per-layer rows of one point (``key``) or of all points, in layer order.

    The columns are those of ``simulate().layers`` (same names, same order, ``layer`` first) followed
    by the layer's energy (``accelsim.columns.ENERGY``); for all points the point's ``key`` comes last.
    """
    db = _connect(path)
    cols = ", ".join(LAYER_COLUMNS)
    try:
        with _sql(path, "read"):
            if key is None:
                df = pd.read_sql_query(f"SELECT {cols}, key FROM layers ORDER BY key, layer_index", db)
            else:
                df = pd.read_sql_query(f"SELECT {cols} FROM layers WHERE key = ? ORDER BY layer_index", db,
                                       params=(key,))
    finally:
        db.close()
    _numeric(df, [c for c in LAYER_METRICS if _sqltype(c) != "TEXT"], path)
    return df


def load_networks(path: str | Path) -> dict[str, dict]:
    """network_id -> network spec (``accelsim.dse.spec.network_from_spec`` rebuilds it)."""
    db = _connect(path)
    try:
        with _sql(path, "read"):
            return {nid: _json(spec, path) for nid, spec in db.execute("SELECT network_id, spec_json FROM networks")}
    finally:
        db.close()


def load_meta(path: str | Path) -> dict:
    db = _connect(path)
    try:
        with _sql(path, "read"):
            rows = db.execute("SELECT name, value FROM meta").fetchall()
        return {k: _json(v, path) if k != "schema_version" else v for k, v in rows}
    finally:
        db.close()


def _json(text, path):
    try:
        return json.loads(text)
    except (TypeError, ValueError):
        raise AccelsimError(f"results: {path}: metadata is not JSON ({str(text)[:40]!r})") from None


EXPORT_FORMATS = (".csv", ".parquet")


def check_export(out: str | Path, results: str | Path, *inputs: str | Path) -> None:
    """One line unless ``out`` is a .csv/.parquet path that is neither the ``results`` database (nor its
    journal files) nor one of ``inputs``: checked before a sweep starts as well as by ``export``."""
    if Path(out).suffix.lower() not in EXPORT_FORMATS:
        raise AccelsimError(f"export: {out}: unknown format (use {' or '.join(EXPORT_FORMATS)})")
    if any(same_file(out, f"{results}{tail}") for tail in ("", "-wal", "-shm", "-journal")):
        raise AccelsimError(f"export: {out} is the results database {results} itself: refusing to overwrite it")
    for given in inputs:
        if same_file(out, given):
            raise AccelsimError(f"export: {out} is the input file {given}: refusing to overwrite it")


def export(path: str | Path, out: str | Path, errors: bool = True) -> int:
    """Write the points of ``path`` to ``out`` (.csv or .parquet), atomically; returns the row count."""
    out = Path(out)
    check_export(out, path)
    df = load_results(path, errors=errors)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise AccelsimError(f"export: cannot write {out}: {e.strerror}") from None
    if out.suffix.lower() == ".csv":
        atomic_write(out, lambda tmp: df.to_csv(tmp, index=False), "export")
    else:
        atomic_write(out, lambda tmp: df.to_parquet(tmp, index=False), "export")
    return len(df)
