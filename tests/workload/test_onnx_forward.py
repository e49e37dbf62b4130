"""The float forward of an imported ONNX model on its own weights equals onnxruntime's output
(max abs error <= 1e-4 x max |output|), and its int8 forward tracks it."""

import numpy as np
import pytest

import accelsim

ort = pytest.importorskip("onnxruntime")
om = pytest.importorskip("tests.workload.onnx_models")


@pytest.mark.parametrize(("build", "shape"), [("cnn", (3, 32, 32)), ("encoder", (6, 8))])
def test_imported_float_forward_equals_onnxruntime(tmp_path, build, shape):
    path = om.save(getattr(om, build)(seed=3), tmp_path / f"{build}.onnx")
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    x = np.random.default_rng(1).standard_normal((3, *shape)).astype(np.float32)
    # the file's batch is fixed at 1: onnxruntime image by image, accelsim the whole batch
    ref = np.concatenate([sess.run(None, {"x": x[i:i + 1]})[0] for i in range(3)])
    net = accelsim.load(str(path))
    assert net.weights is not None
    y = accelsim.forward(str(path), x)
    y = y.reshape(ref.shape)
    assert np.abs(y - ref).max() <= 1e-4 * np.abs(ref).max()
    y8 = accelsim.forward(net, x, dtype="int8").reshape(ref.shape)
    assert np.abs(y8 - ref).max() <= 0.05 * np.abs(ref).max()
