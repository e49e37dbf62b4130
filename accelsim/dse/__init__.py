"""Design-space exploration: sweep specs, Dask-parallel evaluation, a resumable SQLite store,
Pareto fronts.

- ``load_spec(path)`` / ``spec_from_mapping(doc)``: a validated ``SweepSpec`` (grid axes).
- ``run_sweep(spec, "results.db", scheduler=None, workers=None)``: evaluate what is not yet stored
  (in process, or on a local Dask cluster when the sweep is long enough).
- ``load_results(path)``, ``load_layers(path, key)``, ``export(path, "out.parquet")``.
- ``pareto_front(df, ["latency_ms", "pe_count"], by=["network"])``.
"""

from accelsim.dse.pareto import pareto_front, pareto_mask
from accelsim.dse.run import plan, run_sweep
from accelsim.dse.spec import SpecError, SweepSpec, load_spec, spec_from_mapping
from accelsim.dse.store import export, load_layers, load_results

__all__ = [
    "SpecError", "SweepSpec", "export", "load_layers", "load_results", "load_spec", "pareto_front",
    "pareto_mask", "plan", "run_sweep", "spec_from_mapping",
]
