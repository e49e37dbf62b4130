"""VCD of the Python model with the RTL's signal names, to lay next to the simulator's waves.

Every ``ArrayCore`` register is written under the hierarchical name of the RTL register that
holds it (``systolic_top.u_array.g_row[i].g_col[j].u_pe.acc_q`` for ``acc[i, j]``, the skew
stages as ``u_a_skew.g_lane[i].u_delay.g_regs.stage[s]``, ...), on the same time axis as the
RTL run: registers and outputs change at the rising edge that starts a cycle, inputs at the
falling edge where the testbench drives them. Values are two's complement bit patterns.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

TOP = "systolic_top"


def _lanes_int(rows: np.ndarray, width: int) -> list[int]:
    mask = (1 << width) - 1
    out = []
    for row in np.asarray(rows).tolist():
        v = 0
        for x in reversed(row):
            v = (v << width) | (x & mask)
        out.append(v)
    return out


class ModelWaves:
    """Collects the model's per-cycle registers fold by fold and writes them as one VCD."""

    def __init__(self, parameters: dict[str, int], period_ns: int):
        p = parameters
        self.rows, self.cols, self.data_w, self.acc_w = p["ROWS"], p["COLS"], p["DATA_W"], p["ACC_W"]
        self.period = period_ns
        self._vars: dict[tuple[str, str], tuple[int, list[np.ndarray], list[list[int] | np.ndarray]]] = {}

    def _add(self, scope: str, name: str, width: int, times: np.ndarray, values) -> None:
        entry = self._vars.setdefault((scope, name), (width, [], []))
        mask = (1 << width) - 1
        if isinstance(values, np.ndarray) and width <= 62:
            values = np.asarray(values, dtype=np.int64) & mask
        else:
            values = [int(v) & mask for v in values]
        entry[1].append(times)
        entry[2].append(values)

    def add_run(self, start_ns: float, inputs: list[tuple], regs: list[dict]) -> None:
        """A run's per-cycle inputs ``(load, valid, last, a_in, b_in, dataflow)`` and the model's registers
        and ports (``ArrayCore.snapshot()`` plus the ports), cycle 0 starting at ``start_ns``."""
        R, C, D, A = self.rows, self.cols, self.data_w, self.acc_w
        n = len(regs)
        if n == 0:
            return
        signals = {k: np.array([r[k] for r in regs]) for k in regs[0]}
        edge = start_ns + self.period * np.arange(n)
        fall = edge + self.period / 2
        top = TOP
        self._add(top, "rst", 1, np.array([0.0, fall[0]]), np.array([1, 0], np.int64))
        self._add(top, "clk", 1, np.concatenate([edge, fall]),
                  np.concatenate([np.ones(n, np.int64), np.zeros(n, np.int64)]))
        for k, name in enumerate(("load", "valid", "last")):
            self._add(top, name, 1, fall, np.array([int(x[k]) for x in inputs], np.int64))
        self._add(top, "dataflow", 1, fall, np.array([int(x[5]) for x in inputs], np.int64))
        self._add(top, "a_in", R * D, fall, _lanes_int(np.array([x[3] for x in inputs]).reshape(n, R), D))
        self._add(top, "b_in", C * D, fall, _lanes_int(np.array([x[4] for x in inputs]).reshape(n, C), D))
        for name in ("c_valid", "c_last", "done"):
            self._add(top, name, 1, edge, signals[name].astype(np.int64))
        self._add(top, "c_out", C * A, edge, _lanes_int(signals["c_out"], A))
        self._add(top, "cycle_count", 32, edge, signals["cycle_count"])
        self._add(top, "cycle_count_q", 32, edge, signals["cycle_count"])
        self._add(top, "drain_left", max(1, (R).bit_length()), edge, signals["drain_left"])
        self._add(top, "streaming", 1, edge, signals["streaming"].astype(np.int64))
        self._add(top, "load_count", max(1, (R - 1).bit_length()), edge, signals["load_count"])
        for pipe, stages in (("pipe_valid", R + C - 1), ("pipe_last", C), ("last_early", R - 1)):
            if pipe != "last_early":
                self._add(top, pipe, 1, edge, signals[pipe][:, -1].astype(np.int64))
            for s in range(stages):
                self._add(f"{top}.u_{pipe}.g_regs", f"stage[{s}]", 1, edge, signals[pipe][:, s].astype(np.int64))
        for buf, sig, lanes, depth, width in (("u_a_skew", "a_skew", R, lambda i: i, D),
                                              ("u_sw_skew", "sw_skew", R, lambda i: i, 1),
                                              ("u_b_skew", "b_skew", C, lambda j: j, D),
                                              ("u_commit_skew", "commit_skew", C, lambda j: j, 1),
                                              ("u_c_deskew", "deskew", C, lambda j: C - 1 - j, A)):
            for lane in range(lanes):
                for s in range(depth(lane)):
                    self._add(f"{top}.{buf}.g_lane[{lane}].u_delay.g_regs", f"stage[{s}]", width, edge,
                              signals[sig][:, lane, s].astype(np.int64))
        for i in range(R):
            for j in range(C):
                scope = f"{top}.u_array.g_row[{i}].g_col[{j}].u_pe"
                for reg, sig, width in (("a_q", "a_reg", D), ("sw_q", "sw_reg", 1), ("b_q", "b_reg", D),
                                        ("w_q", "w_reg", D), ("s_q", "s_reg", A), ("acc_q", "acc", A),
                                        ("dn_q", "dn_reg", 1)):
                    self._add(scope, reg, width, edge, signals[sig][:, i, j].astype(np.int64))

    def write(self, path: str | Path) -> Path:
        """Write the VCD (value changes only, in time order)."""
        from vcd import VCDWriter

        events: list[tuple[float, int, int]] = []
        handles = []
        with open(path, "w") as fh, VCDWriter(fh, timescale="1 ns", date="accelsim model") as w:
            for k, ((scope, name), (width, times, values)) in enumerate(sorted(self._vars.items())):
                handles.append(w.register_var(scope, name, "wire", size=width, init=0))
                stamps = np.concatenate(times)
                v = np.concatenate(values) if all(isinstance(x, np.ndarray) for x in values) else \
                    [x for chunk in values for x in (chunk.tolist() if isinstance(chunk, np.ndarray) else chunk)]
                order = np.argsort(stamps, kind="stable")
                prev = None
                for idx in order.tolist():
                    val = int(v[idx])
                    if val != prev:
                        events.append((float(stamps[idx]), k, val))
                        prev = val
            events.sort(key=lambda e: e[0])
            for t, k, val in events:
                w.change(handles[k], round(t), val)
        return Path(path)


_NS = {"s": 10**9, "ms": 10**6, "us": 10**3, "ns": 1, "ps": 10**-3, "fs": 10**-6}


def read_vcd(path: str | Path) -> dict[str, tuple[list[float], list[int | None]]]:
    """Every variable of a VCD as ``dotted.name -> (times in ns, values)``; x/z values are None."""
    from vcd.reader import TokenKind, tokenize

    scope: list[str] = []
    names: dict[str, list[str]] = {}
    out: dict[str, tuple[list[float], list[int | None]]] = {}
    unit, t = 1.0, 0.0
    with open(path, "rb") as fh:
        for tok in tokenize(fh):
            kind = tok.kind
            if kind is TokenKind.CHANGE_TIME:
                t = tok.time_change * unit
            elif kind is TokenKind.CHANGE_VECTOR or kind is TokenKind.CHANGE_SCALAR:
                change = tok.vector_change if kind is TokenKind.CHANGE_VECTOR else tok.scalar_change
                raw = change.value
                value = (int(raw) if raw in "01" else None) if isinstance(raw, str) else raw  # x/z: None
                for name in names.get(change.id_code, ()):
                    times, values = out[name]
                    times.append(t)
                    values.append(value)
            elif kind is TokenKind.SCOPE:
                scope.append(tok.scope.ident)
            elif kind is TokenKind.UPSCOPE:
                scope.pop()
            elif kind is TokenKind.VAR:
                var = tok.var
                ref = var.reference + (f"[{var.bit_index}]" if isinstance(var.bit_index, int) else "")
                name = ".".join([*scope, ref])
                names.setdefault(var.id_code, []).append(name)
                out[name] = ([], [])
            elif kind is TokenKind.TIMESCALE:
                unit = int(tok.timescale.magnitude) * _NS[tok.timescale.unit.value]
    return out


def _value_at(times: list[float], values: list, t: float):
    import bisect

    i = bisect.bisect_right(times, t) - 1
    return values[i] if i >= 0 else None


def first_divergence(rtl_vcd: str | Path, model_vcd: str | Path, since_ns: float = 0.0):
    """The earliest ``(time_ns, signal, rtl_value, model_value)`` at which a model signal differs
    from the RTL signal of the same name, or None when all agree.

    Signals are compared just after each falling edge (from ``since_ns`` on), where both hold the
    cycle's register values and the inputs presented in it: the ports that depend on ``dataflow``
    (``c_valid``, ``c_last``, ``c_out``, ``done``) follow a new fold's ``dataflow`` from the
    falling edge of its first cycle in the RTL but from the rising edge in the model.
    """
    rtl, model = read_vcd(rtl_vcd), read_vcd(model_vcd)
    missing = sorted(set(model) - set(rtl))
    if missing:
        raise ValueError(f"model signals absent from the RTL waves: {', '.join(missing[:5])}")
    ct, cv = model[f"{TOP}.clk"]
    samples = [t for t, v in zip(ct, cv, strict=True) if v == 0 and t >= since_ns]
    best = None
    for name, (mt, mv) in model.items():
        rt, rv = rtl[name]
        for t in samples:
            if best is not None and t >= best[0]:
                break
            a, b = _value_at(rt, rv, t), _value_at(mt, mv, t)
            if a != b:
                best = (t, name, a, b)
                break
    return best
