"""How far the integer output stage moves the int8 forward pass from the float64 requantization it replaced.

Usage, from the repository root: ``python -m benchmarks.requant_zoo [--models a,b] [--batch N] [--seed S]``.

Per network (seeded weights and a seeded standard-normal input batch, fixed by ``--seed``), three
int8 forward passes on the same calibration:

- ``float64``: the rule before the output stage: ``clip(rint(float64(acc + bias) * m), -127, 127)``
  and no fused activations (a ReLU6 after a conv was a 256-entry table at its own scale);
- ``float64+fused``: that rounding, with ReLU/ReLU6 fused as the output stage fuses them;
- ``integer``: today's rule (``accelsim.lowering.requant``): TFLite's M0/shift arithmetic, fused.

It prints the top-1 agreement (argmax of the dequantized network output, per image) of ``integer``
with ``float64`` and of each with the float32 forward, and the largest difference of the dequantized
outputs, absolute and relative to the float32 output's largest magnitude. The rule to restore is
patched in this script only (``_legacy``); the package has just the integer rule.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import time
from collections.abc import Iterator
from unittest import mock

import numpy as np

from accelsim.lowering import quant, requant
from accelsim.workload import resolve

fwd = importlib.import_module("accelsim.lowering.forward")  # the module (the package exports a function of that name)

MODELS = ("lenet5", "alexnet", "vgg16", "resnet18", "mobilenet_v2")


def _float_requantize(acc, multiplier: float) -> np.ndarray:
    """The replaced rule: ``clip(rint(float64(acc) * m), -127, 127)`` as int8."""
    return quant.round_clip(np.multiply(acc, multiplier, dtype=np.float64))


class _FloatStage:
    """``QLayer.output_stage`` with the replaced rounding: bias, float64 multiply, rint, the same clamp."""

    def __init__(self, ql: fwd.QLayer):
        self.ql = ql

    def apply(self, acc: np.ndarray, channel_axis: int = -1) -> np.ndarray:
        y = np.asarray(acc, dtype=np.int64)
        if self.ql.bias is not None:
            shape = [1] * y.ndim
            shape[channel_axis] = -1
            y = y + self.ql.bias.astype(np.int64).reshape(shape)
        lo, hi = requant.activation_bounds(self.ql.activation, self.ql.out_scale)
        return np.clip(np.rint(y * self.ql.multiplier), lo, hi).astype(np.int8)


@contextlib.contextmanager
def _legacy(fused: bool) -> Iterator[None]:
    with contextlib.ExitStack() as stack:
        stack.enter_context(mock.patch.object(quant, "requantize", _float_requantize))
        stack.enter_context(mock.patch.object(fwd.QLayer, "output_stage", lambda self: _FloatStage(self)))
        if not fused:
            stack.enter_context(mock.patch.object(fwd, "fused_activations", lambda network: {}))
        yield


def _int8_output(net, params, x, seed: int) -> np.ndarray:
    qnet = fwd.quantize_network(net, params, x, seed=seed)
    run = fwd.forward_int(qnet, x, keep=False)
    return run.output.astype(np.float64) * run.layers[-1].scale


def _top1(y: np.ndarray) -> np.ndarray:
    return y.reshape(y.shape[0], -1).argmax(axis=1)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default=",".join(MODELS), help="Comma-separated zoo names.")
    ap.add_argument("--batch", type=int, default=8, help="Images in the fixed input batch.")
    ap.add_argument("--seed", type=int, default=0, help="Seed of the weights and the input.")
    args = ap.parse_args(argv)
    print(f"batch {args.batch}, seed {args.seed}; top-1 agreement in images out of {args.batch}; errors are of the "
          f"dequantized network output, relative to max |float32 output|")
    head = (f"{'network':<14}{'int==f64':>9}{'int==fp32':>10}{'f64==fp32':>10}{'fused==fp32':>12}"
            f"{'max|int-f64|':>13}{'rel':>8}{'max|int-fp32|':>14}{'rel':>8}{'max|f64-fp32|':>14}{'rel':>8}{'s':>6}")
    print(head)
    for name in args.models.split(","):
        start = time.perf_counter()
        net = resolve(name)
        params = fwd.params_for(net, args.seed)
        x = fwd.random_inputs(net, args.batch, args.seed)[0]
        ref = fwd.forward(net, params, x, keep=False).output.astype(np.float64)
        new = _int8_output(net, params, x, args.seed)
        with _legacy(fused=False):
            old = _int8_output(net, params, x, args.seed)
        with _legacy(fused=True):
            fused = _int8_output(net, params, x, args.seed)
        big = float(np.abs(ref).max()) or 1.0
        t_new, t_old, t_fused, t_ref = _top1(new), _top1(old), _top1(fused), _top1(ref)
        d_new_old = float(np.abs(new - old).max())
        d_new_ref = float(np.abs(new - ref).max())
        d_old_ref = float(np.abs(old - ref).max())
        print(f"{name:<14}{int((t_new == t_old).sum()):>9}{int((t_new == t_ref).sum()):>10}"
              f"{int((t_old == t_ref).sum()):>10}{int((t_fused == t_ref).sum()):>12}"
              f"{d_new_old:>13.4g}{d_new_old / big:>8.3f}{d_new_ref:>14.4g}{d_new_ref / big:>8.3f}"
              f"{d_old_ref:>14.4g}{d_old_ref / big:>8.3f}{time.perf_counter() - start:>6.0f}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
