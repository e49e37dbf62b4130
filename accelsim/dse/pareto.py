"""Pareto fronts: the design points no other point beats on every objective (all minimized)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd


def pareto_mask(values) -> np.ndarray:
    """True for the non-dominated rows of an (n, k) array, every column minimized.

    Row p is dominated when some row q is <= p in every column and < in at least one; equal rows
    do not dominate each other, so duplicates of a front point are all on the front.
    """
    v = np.asarray(values, dtype=float)
    if v.ndim != 2:
        raise ValueError(f"expected an (n, k) array, got shape {v.shape}")
    n = len(v)
    keep = np.ones(n, dtype=bool)
    for i in range(n):
        le = np.all(v <= v[i], axis=1)
        lt = np.any(v < v[i], axis=1)
        keep[i] = not np.any(le & lt)
    return keep


def pareto_front(df: pd.DataFrame, objectives: Sequence[str], by: Sequence[str] = ()) -> pd.DataFrame:
    """The rows of ``df`` on the Pareto front of ``objectives`` (minimized), within each ``by`` group,
    sorted by the first objective."""
    if df.empty:
        return df.copy()
    groups = [df] if not by else [g for _, g in df.groupby(list(by), sort=True)]
    fronts = [g[pareto_mask(g[list(objectives)].to_numpy())] for g in groups]
    return pd.concat(fronts).sort_values([*by, *objectives], kind="stable")
