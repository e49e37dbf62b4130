"""LeNet-5 trained on scikit-learn's handwritten digits and classified in float32 and in int8.

The data: ``sklearn.datasets.load_digits`` (1,797 8x8 images, pixel values 0..16), scaled to [0, 1],
upsampled 3x (nearest) to 24x24 and zero-padded to LeNet-5's 1x32x32; a seeded permutation puts
``TEST_IMAGES`` = 360 of them in the test set and the other 1,437 in the training set.

Training uses only the project's lowering: the forward pass through the im2col GEMMs
(``ops.conv2d``, ``ops.linear``) and the backward GEMMs (``conv2d_backward``, ``linear_backward``),
with the elementwise rules (tanh, 2x2 average pooling, softmax cross-entropy) written out here, and
Adam on mini-batches. Everything is seeded (initial weights: ``init_params(lenet5(), seed)``; the
batch order: numpy's PCG64), so the same seed gives the same weights on the same machine.

Classification: the float32 ``forward`` and, after ``quantize_network`` (scales calibrated on the
training set), the bit-exact int8 ``forward_int`` whose conv/linear layers end in the array's output
stage (``requant``), the same arithmetic the RTL runs. A prediction is the argmax of ``fc2``'s output
(the logits; in int8 the int8 logits, before the softmax table, which can tie).

Through the RTL (``classify_rtl``): the same int8 pass on the whole test set as one batch, but every
conv/linear layer's GEMMs (M = images x output pixels) run on the Verilog array with its int8 output
stage, and the layer's output is assembled from the RTL's int8 rows (``forward_int``'s ``gemm_outputs``);
tanh, pooling and flatten run in numpy on them as the int8 pass does, and the next layer's operands come
from there. The predictions are the argmax of the RTL's fc2 rows. Each GEMM is also checked against the
model (values and output cycles): any difference stops the run (``RtlMismatch``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from accelsim.columns import DEMO_DIGITS
from accelsim.errors import AccelsimError
from accelsim.hardware.config import ArrayConfig
from accelsim.lowering import (
    LayerRun,
    Params,
    QuantizedNetwork,
    conv2d_backward,
    forward,
    forward_int,
    init_params,
    linear_backward,
    ops,
    quantize_network,
)
from accelsim.rtlsim.gemm import Gemm, layer_gemms
from accelsim.workload.zoo import lenet5

TEST_IMAGES = 360
CONVS = ("conv1", "conv2", "conv3")
LINEARS = ("fc1", "fc2")


@dataclass(frozen=True, eq=False)
class Digits:
    """The split data set: (N, 1, 32, 32) float32 images and int64 labels 0..9."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


@dataclass(frozen=True, eq=False)
class RtlResult:
    """The test set classified through the RTL: its predictions and what the RTL ran."""

    predictions: np.ndarray
    accuracy: float
    disagreements: int  # images whose RTL class differs from the int8 forward's
    array: str
    tiles: int  # folds
    rtl_cycles: int
    wall_s: float  # of the whole RTL classification (the layers between the GEMMs too), the build excluded


@dataclass(frozen=True, eq=False)
class DigitsResult:
    """A demo run: the trained float parameters, the int8 network, the accuracies on the test set and the
    training time; ``rtl`` once ``classify_rtl`` ran, else ``rtl_skipped`` says why not."""

    params: dict[str, Params]
    accuracy_float: float
    accuracy_int8: float
    test_images: int
    train_images: int
    epochs: int
    seed: int
    train_seconds: float
    qnet: QuantizedNetwork | None = None
    predictions_int8: np.ndarray | None = None
    rtl: RtlResult | None = None
    rtl_skipped: str | None = None

    def summary(self) -> dict[str, float | int | str | None]:
        """The ``--format json`` keys (``columns.DEMO_DIGITS``); the RTL's are null when it did not run."""
        r = self.rtl
        values = (self.accuracy_float, self.accuracy_int8, None if r is None else r.accuracy,
                  None if r is None else r.disagreements, self.test_images, self.train_images, self.epochs,
                  self.seed, round(self.train_seconds, 3), self.rtl_skipped, None if r is None else r.array,
                  None if r is None else r.tiles, None if r is None else r.rtl_cycles,
                  None if r is None else round(r.wall_s, 3))
        return dict(zip(DEMO_DIGITS, values, strict=True))


class RtlMismatch(Exception):
    """The RTL's outputs or output cycles differ from the model's on a GEMM (one line per difference)."""


def _missing() -> AccelsimError:
    return AccelsimError("demo digits: needs scikit-learn (pip install 'accelsim[demo]')")


def load(seed: int = 0) -> Digits:
    """scikit-learn's digits as LeNet-5 inputs, split by a permutation seeded with ``seed``."""
    try:
        from sklearn.datasets import load_digits
    except ImportError:
        raise _missing() from None
    data = load_digits()
    images = np.asarray(data.images, dtype=np.float32) / np.float32(16)
    up = images.repeat(3, axis=1).repeat(3, axis=2)  # 8x8 -> 24x24
    x = np.pad(up, ((0, 0), (4, 4), (4, 4)))[:, None]  # -> 1x32x32
    y = np.asarray(data.target, dtype=np.int64)
    order = np.random.default_rng(seed).permutation(len(y))
    test, train = order[:TEST_IMAGES], order[TEST_IMAGES:]
    return Digits(x[train], y[train], x[test], y[test])


def _avg_pool_backward(grad: np.ndarray) -> np.ndarray:
    """The input gradient of 2x2 stride-2 average pooling: each output gradient spread over its window / 4."""
    return grad.repeat(2, axis=2).repeat(2, axis=3) * np.float32(0.25)


def _loss_grads(params: dict[str, np.ndarray], x: np.ndarray, y: np.ndarray) -> tuple[float, dict[str, np.ndarray]]:
    """Mean softmax cross-entropy of LeNet-5 on (x, y) and its gradients, keys ``<layer>.weight|bias``."""
    p = params
    z1 = ops.conv2d(x, p["conv1.weight"], p["conv1.bias"])
    t1 = np.tanh(z1)
    s1 = ops.avg_pool2d(t1, 2, 2).astype(np.float32)
    z2 = ops.conv2d(s1, p["conv2.weight"], p["conv2.bias"])
    t2 = np.tanh(z2)
    s2 = ops.avg_pool2d(t2, 2, 2).astype(np.float32)
    z3 = ops.conv2d(s2, p["conv3.weight"], p["conv3.bias"])
    t3 = np.tanh(z3).reshape(len(x), -1)
    t4 = np.tanh(ops.linear(t3, p["fc1.weight"], p["fc1.bias"]))
    logits = ops.linear(t4, p["fc2.weight"], p["fc2.bias"])
    shifted = logits - logits.max(axis=1, keepdims=True)
    prob = np.exp(shifted)
    prob /= prob.sum(axis=1, keepdims=True)
    rows = np.arange(len(y))
    loss = float(-np.log(prob[rows, y] + 1e-12).mean())
    dz = prob
    dz[rows, y] -= 1
    dz /= np.float32(len(y))
    g: dict[str, np.ndarray] = {}
    d4, g["fc2.weight"], g["fc2.bias"] = linear_backward(t4, p["fc2.weight"], dz)
    d4 = d4 * (1 - t4 * t4)
    d3, g["fc1.weight"], g["fc1.bias"] = linear_backward(t3, p["fc1.weight"], d4)
    d3 = (d3 * (1 - t3 * t3)).reshape(z3.shape)
    ds2, g["conv3.weight"], g["conv3.bias"] = conv2d_backward(s2, p["conv3.weight"], d3)
    dz2 = _avg_pool_backward(ds2) * (1 - t2 * t2)
    ds1, g["conv2.weight"], g["conv2.bias"] = conv2d_backward(s1, p["conv2.weight"], dz2)
    dz1 = _avg_pool_backward(ds1) * (1 - t1 * t1)
    _, g["conv1.weight"], g["conv1.bias"] = conv2d_backward(x, p["conv1.weight"], dz1)
    return loss, {k: v.astype(np.float32) for k, v in g.items()}


def train(data: Digits, *, epochs: int = 8, batch: int = 32, lr: float = 2e-3, seed: int = 0,
          progress: Callable[[int, float], None] | None = None) -> dict[str, Params]:
    """LeNet-5's float32 parameters after ``epochs`` of Adam on ``data``'s training set.

    ``progress(epoch, mean_loss)`` is called after each epoch.
    """
    start = init_params(lenet5(), seed)
    flat: dict[str, np.ndarray] = {f"{name}.{k}": np.array(getattr(p, k), dtype=np.float32) for name, p in start.items()
            for k in ("weight", "bias")}
    m = {k: np.zeros_like(v) for k, v in flat.items()}
    v2 = {k: np.zeros_like(v) for k, v in flat.items()}
    b1, b2, eps = 0.9, 0.999, 1e-8
    rng = np.random.default_rng([seed, 1])
    step = 0
    n = len(data.y_train)
    for epoch in range(epochs):
        order = rng.permutation(n)
        losses = []
        for i in range(0, n, batch):
            idx = order[i:i + batch]
            loss, grads = _loss_grads(flat, data.x_train[idx], data.y_train[idx])
            losses.append(loss)
            step += 1
            corr = np.sqrt(1 - b2 ** step) / (1 - b1 ** step)
            for k, gk in grads.items():
                m[k] = b1 * m[k] + (1 - b1) * gk
                v2[k] = b2 * v2[k] + (1 - b2) * gk * gk
                flat[k] = (flat[k] - lr * corr * m[k] / (np.sqrt(v2[k]) + eps)).astype(np.float32)
        if progress is not None:
            progress(epoch + 1, float(np.mean(losses)))
    return {name: Params(flat[f"{name}.weight"], flat[f"{name}.bias"]) for name in (*CONVS, *LINEARS)}


def predict_float(params: dict[str, Params], x: np.ndarray) -> np.ndarray:
    """Class per image by the float32 ``forward``: the argmax of fc2's output."""
    logits = forward(lenet5(), params, x)["fc2"].output
    assert logits is not None
    return np.asarray(logits).reshape(len(x), -1).argmax(axis=1)


def quantize(params: dict[str, Params], calibration: np.ndarray) -> QuantizedNetwork:
    """LeNet-5 in int8 with scales calibrated by a float forward on ``calibration``."""
    return quantize_network(lenet5(), params, calibration)


def predict_int8(qnet: QuantizedNetwork, x: np.ndarray, gemm_outputs: Callable[[LayerRun], list[np.ndarray]]
                 | None = None) -> np.ndarray:
    """Class per image by the int8 ``forward_int``: the argmax of fc2's int8 output (each conv/linear layer's
    int8 output from ``gemm_outputs`` when given)."""
    logits = forward_int(qnet, x, keep=False, gemm_outputs=gemm_outputs).output
    return np.asarray(logits).reshape(len(x), -1).argmax(axis=1)


def rtl_config(rows: int, cols: int) -> ArrayConfig:
    """The array the RTL part runs: int8 operands, 32-bit accumulators and the int8 output stage, WS, pipelined."""
    return ArrayConfig(rows=rows, cols=cols, dataflow="ws", acc_bits=32, out_bits=8, pipeline=True)


def rtl_outputs(cfg: ArrayConfig, gemms: list[Gemm], progress: Callable[[int, int], None] | None = None
                ) -> tuple[list[np.ndarray], int, int]:
    """(each GEMM's int8 result as the RTL's output stage produced it, folds, RTL cycles played), the GEMMs run
    back to back through the fast harness, each checked against the fast model (values and output cycles, C
    and int8); ``RtlMismatch`` on any difference. ``progress(cycles played, cycles in all)``."""
    from accelsim.rtlsim.harness import run_harness

    result = run_harness(cfg, gemms, keep_outputs=True, progress=progress)
    problems = result.errors[:5] + [f"{v.name}: {e}" for v in result.verdicts for e in v.errors][:20]
    if len(result.verdicts) != len(gemms) or any(v.q is None for v in result.verdicts):
        problems.append(f"{len(result.verdicts)} of {len(gemms)} GEMMs came back with the output stage's int8 rows")
    if problems:
        raise RtlMismatch("\n".join(problems))
    return ([v.q for v in result.verdicts if v.q is not None], sum(v.folds for v in result.verdicts),
            result.rtl_cycles)


def rtl_estimate(cfg: ArrayConfig, images: int) -> tuple[float, int, int]:
    """(estimated seconds, RTL cycles the fast harness plays, folds) of ``classify_rtl`` on ``images`` test
    images (one simulator run a layer, at the rate the last long run of the same build measured)."""
    from accelsim.rtlsim.gemm import network_shapes
    from accelsim.rtlsim.harness import harness_cycles, seconds_per_cycle
    from accelsim.rtlsim.run import estimate_seconds, job_cycles

    shapes = [s[1:] for s in network_shapes("lenet5", images)]
    cycles = sum(harness_cycles(cfg, sh, None, cfg.pipeline) for sh in shapes)
    seconds = estimate_seconds(cfg, shapes, jobs=len(shapes), per_cycle=seconds_per_cycle(cfg)[0], cycles=cycles)
    return seconds, cycles, job_cycles(cfg, shapes)[1]


def classify_rtl(qnet: QuantizedNetwork, x: np.ndarray, y: np.ndarray, int8_predictions: np.ndarray,
                 cfg: ArrayConfig, progress: Callable[[int, int], None] | None = None) -> RtlResult:
    """Classify ``x`` (one batch) with every conv/linear layer of ``qnet`` run on the RTL of ``cfg`` (module
    docstring); ``progress(RTL cycles played, cycles in all)`` as the layers' batches finish."""
    folds = cycles = 0
    total = rtl_estimate(cfg, len(x))[1]
    t0 = time.perf_counter()

    def through_rtl(lr: LayerRun) -> list[np.ndarray]:
        nonlocal folds, cycles
        done = cycles
        step = None if progress is None else (lambda played, _: progress(done + played, total))
        q, f, c = rtl_outputs(cfg, layer_gemms(cfg, lr), step)
        folds, cycles = folds + f, cycles + c
        return q

    pred = predict_int8(qnet, x, through_rtl)
    return RtlResult(pred, float((pred == y).mean()), int((pred != int8_predictions).sum()), f"{cfg.rows}x{cfg.cols}",
                     folds, cycles, time.perf_counter() - t0)


def run(*, seed: int = 0, epochs: int = 8, progress: Callable[[int, float], None] | None = None) -> DigitsResult:
    """Load, train, and classify the test set in float32 and int8.

    BLAS runs on one thread: the GEMMs are small, and on the shared 2-core machine BLAS threads waiting
    for each other made an epoch several times slower (once 8.5 s against 0.8 s on one thread).
    """
    data = load(seed)
    try:
        from threadpoolctl import threadpool_limits  # a dependency of scikit-learn
    except ImportError:
        raise _missing() from None
    with threadpool_limits(limits=1, user_api="blas"):
        t0 = time.perf_counter()
        params = train(data, epochs=epochs, seed=seed, progress=progress)
        train_seconds = time.perf_counter() - t0
        acc_float = float((predict_float(params, data.x_test) == data.y_test).mean())
        qnet = quantize(params, data.x_train)
        pred_int8 = predict_int8(qnet, data.x_test)
    acc_int8 = float((pred_int8 == data.y_test).mean())
    return DigitsResult(params, acc_float, acc_int8, len(data.y_test), len(data.y_train), epochs, seed, train_seconds,
                        qnet, pred_int8)
