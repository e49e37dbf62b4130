"""The digits demo: the fixed split, reproducible training, the training gradients against finite
differences, and the >= 95% int8 accuracy through `accelsim demo digits --format json` (one run, ~10 s on one core)."""

import json
import sys

import numpy as np
import pytest
from click.testing import CliRunner

pytest.importorskip("sklearn")

from accelsim.cli import main
from accelsim.columns import DEMO_DIGITS
from accelsim.demo import digits
from accelsim.errors import AccelsimError
from accelsim.lowering import init_params
from accelsim.workload.zoo import lenet5


@pytest.fixture(scope="module")
def data():
    return digits.load(0)


def test_split_is_fixed_and_shaped_for_lenet5(data):
    assert data.x_test.shape == (360, 1, 32, 32) and data.x_train.shape == (1437, 1, 32, 32)
    assert data.x_train.dtype == np.float32 and data.x_train.min() >= 0 and data.x_train.max() <= 1
    again, other = digits.load(0), digits.load(1)
    np.testing.assert_array_equal(again.y_test, data.y_test)
    np.testing.assert_array_equal(again.x_test, data.x_test)
    assert not np.array_equal(other.y_test, data.y_test)
    assert set(np.unique(data.y_test)) == set(range(10))
    # the 4-pixel zero border, and each 8x8 pixel a 3x3 block
    assert not data.x_train[:, :, :4].any() and not data.x_train[:, :, 28:].any()
    block = data.x_train[:, 0, 4:28, 4:28].reshape(-1, 8, 3, 8, 3)
    np.testing.assert_array_equal(block, np.broadcast_to(block[:, :, :1, :, :1], block.shape))


def _small(data, n=96):
    return digits.Digits(data.x_train[:n], data.y_train[:n], data.x_test, data.y_test)


def test_training_is_reproducible_with_the_seed(data):
    small = _small(data)
    a = digits.train(small, epochs=1, seed=3)
    b = digits.train(small, epochs=1, seed=3)
    c = digits.train(small, epochs=1, seed=4)
    start = init_params(lenet5(), 3)
    for name in a:
        np.testing.assert_array_equal(a[name].weight, b[name].weight)
        np.testing.assert_array_equal(a[name].bias, b[name].bias)
        assert not np.array_equal(a[name].weight, start[name].weight)  # trained
    assert not np.array_equal(a["fc2"].weight, c["fc2"].weight)


def test_training_gradients_match_finite_differences(data):
    """The composed gradient (backward GEMMs, tanh, average pooling, softmax cross-entropy) in float64,
    along a random direction per parameter, against the central difference of the loss."""
    params = {f"{n}.{k}": getattr(p, k).astype(np.float64) for n, p in init_params(lenet5(), 5).items()
              for k in ("weight", "bias")}
    x, y = data.x_train[:4].astype(np.float64), data.y_train[:4]
    _, grads = digits._loss_grads(params, x, y)
    rng = np.random.default_rng(0)
    for key in params:
        d = rng.standard_normal(params[key].shape)
        eps = 1e-4
        plus = {**params, key: params[key] + eps * d}
        minus = {**params, key: params[key] - eps * d}
        numeric = (digits._loss_grads(plus, x, y)[0] - digits._loss_grads(minus, x, y)[0]) / (2 * eps)
        analytic = float((grads[key].astype(np.float64) * d).sum())
        assert analytic == pytest.approx(numeric, rel=1e-3, abs=1e-6), key


def test_demo_digits_reaches_95_percent_in_int8(tmp_path):
    out = tmp_path / "digits.json"
    result = CliRunner().invoke(main, ["demo", "digits", "--format", "json", "-o", str(out)])
    assert result.exit_code == 0, result.output
    s = json.loads(out.read_text())
    assert list(s) == list(DEMO_DIGITS)
    assert s["test_images"] == 360 and s["train_images"] == 1437
    assert s["accuracy_int8"] >= 0.95 and s["accuracy_float"] >= 0.95
    assert abs(s["accuracy_int8"] - s["accuracy_float"]) <= 0.02  # int8 costs at most ~7 of 360 images
    assert "accuracy_rtl" not in s  # the RTL classification is not run yet


def test_missing_scikit_learn_is_one_line(monkeypatch):
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)
    with pytest.raises(AccelsimError, match="demo digits: needs scikit-learn"):
        digits.load(0)
    result = CliRunner().invoke(main, ["demo", "digits"])
    assert result.exit_code == 2 and "needs scikit-learn" in result.output
