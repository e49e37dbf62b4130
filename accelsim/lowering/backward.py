"""Training GEMMs: the backward pass of conv/linear layers through im2col.

With the forward GEMM of a group written as ``C (M x N) = A (M x K) @ B (K x N)`` (M = batch *
output pixels, K = (C/g)*kh*kw, N = O/g) and ``delta`` the output gradient as N x M:

- weight gradient: ``dW (N x K) = delta (N x M) @ im2col^T (M x K)``, a GEMM of shape
  (M', K', N') = (N, M, K);
- input gradient: ``dX = col2im(W^T (K x N) @ delta (N x M))``, a GEMM of shape
  (M', K', N') = (K, N, M), followed by the scatter-add col2im;
- bias gradient: ``delta`` summed over batch and pixels (no GEMM).

Shapes are per group; a grouped layer runs ``groups`` of each (``GemmShape.count``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from accelsim.lowering._args import Window, array, conv_args, fail
from accelsim.lowering.gemm import Gemm, patch_gemms
from accelsim.lowering.im2col import col2im, patches
from accelsim.workload.gemm import TrainingShapes, training_gemm_shapes  # noqa: F401  (re-exported)

Grads = tuple[np.ndarray, np.ndarray, np.ndarray]


@dataclass(frozen=True, eq=False)
class BackwardGemms:
    """Per-group training Gemms of a convolution.

    ``weight_grad[g]``: a = delta_g (N x M), b = im2col_g^T (M x K), product dW_g (N x K).
    ``input_grad[g]``: a = W_g^T (K x N), b = delta_g (N x M), product dcols_g (K x M).
    """

    weight_grad: tuple[Gemm, ...]
    input_grad: tuple[Gemm, ...]


def _operands(
    where: str, x, weight, grad_out, stride, padding, dilation, groups
) -> tuple[np.ndarray, np.ndarray, np.ndarray, Window, int]:
    x = array(where, "x", x, 4, "NCHW")
    weight = array(where, "weight", weight, 4, "OIHW")
    w, g = conv_args(where, x, weight, stride, padding, dilation, groups)
    grad_out = array(where, "grad_out", grad_out, 4, "NCHW")
    expected = (x.shape[0], weight.shape[0], *w.out)
    if grad_out.shape != expected:
        raise fail(where, "grad_out", f"expected the output shape {expected}, got {grad_out.shape}")
    return x, weight, grad_out, w, g


def conv2d_backward_gemms(x, weight, grad_out, stride=1, padding=0, dilation=1, groups=1) -> BackwardGemms:
    """The training Gemms of ``conv2d(x, weight, ...)`` given the output gradient ``grad_out``."""
    x, weight, grad_out, w, g = _operands("conv2d_backward", x, weight, grad_out, stride, padding, dilation, groups)
    return _gemms(x, weight, grad_out, w, g)


def _gemms(x: np.ndarray, weight: np.ndarray, grad_out: np.ndarray, w: Window, g: int) -> BackwardGemms:
    """Reuse the forward operands: A (= im2col^T) for the weight gradient, B (= W^T) for the input gradient."""
    forward = patch_gemms(patches(x, w), weight, g)
    o = weight.shape[0]
    og = o // g
    delta = grad_out.transpose(1, 0, 2, 3).reshape(o, -1)
    deltas = [delta[i * og:(i + 1) * og] for i in range(g)]
    return BackwardGemms(
        weight_grad=tuple(Gemm(d, f.a) for d, f in zip(deltas, forward, strict=True)),
        input_grad=tuple(Gemm(f.b, d) for d, f in zip(deltas, forward, strict=True)),
    )


def conv2d_backward(x, weight, grad_out, stride=1, padding=0, dilation=1, groups=1) -> Grads:
    """Gradients ``(dx, dw, db)`` of ``conv2d(x, weight, bias, ...)`` for output gradient ``grad_out``."""
    return _backward("conv2d_backward", x, weight, grad_out, stride, padding, dilation, groups)


def _backward(where: str, x, weight, grad_out, stride, padding, dilation, groups) -> Grads:
    x, weight, grad_out, w, g = _operands(where, x, weight, grad_out, stride, padding, dilation, groups)
    gemms = _gemms(x, weight, grad_out, w, g)
    dw = np.concatenate([m.compute() for m in gemms.weight_grad]).reshape(weight.shape)
    dcols = np.concatenate([m.compute() for m in gemms.input_grad])
    dx = col2im(dcols, x.shape, w.kernel, w.stride, w.padding, w.dilation)
    return dx, dw, grad_out.sum(axis=(0, 2, 3))


def linear_backward(x, weight, grad_out) -> Grads:
    """Gradients ``(dx, dw, db)`` of ``linear(x, weight, bias)``: the 1x1-convolution case."""
    where = "linear_backward"
    weight = array(where, "weight", weight, 2, "(out_features, in_features)")
    x, grad_out = np.asarray(x), np.asarray(grad_out)
    for name, v in (("x", x), ("grad_out", grad_out)):
        if v.ndim not in (2, 4) or v.shape[2:] not in ((), (1, 1)):
            raise fail(where, name, f"expected (N, F) or (N, F, 1, 1), got shape {v.shape}")
    dx, dw, db = _backward(where, x.reshape(*x.shape[:2], 1, 1), weight[:, :, None, None],
                           grad_out.reshape(*grad_out.shape[:2], 1, 1), 1, 0, 1, 1)
    return dx.reshape(x.shape), dw.reshape(weight.shape), db
