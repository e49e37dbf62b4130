"""Lowering of CNN layers to GEMMs (im2col), a direct-loop golden, and network forward passes.

Arrays are NCHW (activations) and OIHW (conv weights); linear weights are (out, in).

- ``im2col`` / ``col2im``: the K x M patch matrix (K = C*kh*kw, row ``c*kh*kw + i*kw + j``;
  M = N*OH*OW, column ``(n*OH + oh)*OW + ow``) and its adjoint (overlaps sum).
- ``conv2d``, ``linear`` (also per token), ``max_pool2d``/``avg_pool2d`` (``ceil_mode``),
  ``global_avg_pool2d``, ``adaptive_avg_pool2d``, ``add``, ``concat``, ``batchnorm2d``
  (``fold_batchnorm``), activations (``relu6``, ``clip``, ``hardswish``, ``gelu``, ...),
  ``local_response_norm``, ``layernorm``, ``matmul`` of two activations, ``flatten``, ``dropout``,
  ``softmax``: the layers, conv/linear/matmul computed through their ``Gemm`` operands.
  Integer conv/linear operands accumulate exactly in int64.
- ``Gemm(a, b)``: ``a`` M x K (im2col^T, ifmap), ``b`` K x N (filters^T); ``conv_gemms`` gives
  one per group, ``gemms_to_nchw`` turns the M x N products (+ bias) back into NCHW;
  ``gemm_shape(node, batch)`` the forward size of a workload node.
- ``conv2d_backward`` / ``linear_backward`` / ``conv2d_backward_gemms`` and
  ``training_gemm_shapes(node, batch)``: the training GEMMs (convention in ``backward``).
- ``golden``: textbook nested loops (cross-correlation, true convolution in 1-D and 2-D,
  pooling, linear) that never touch im2col.
- ``forward`` (float32) and ``quantize_network`` + ``forward_int`` (bit-exact int8; ``iter_forward_int``
  node by node): network passes over any ``Network`` (a DAG, in topological order); ``params_for`` gives a network's own
  weights or seeded ones; ``requant``: the array's output stage (integer requantization, fused
  activation), shared with the models and the RTL. See ``forward`` for the quantization rules and the recorded
  per-layer Gemms and int32 accumulators; ``forward_int(gemm_outputs=...)`` takes each GEMM layer's int8 output
  from elsewhere (the RTL, in ``accelsim demo digits``) and runs the later layers on it.

Bad arguments raise ``AccelsimError`` as ``"<function>: <argument>: <problem>"``.
"""

from accelsim.lowering import golden, quant, requant
from accelsim.lowering.backward import (
    BackwardGemms,
    conv2d_backward,
    conv2d_backward_gemms,
    linear_backward,
)
from accelsim.lowering.forward import (
    LayerRun,
    Params,
    QLayer,
    QuantizedNetwork,
    Run,
    forward,
    forward_int,
    init_params,
    iter_forward_int,
    params_for,
    quantize_network,
    random_inputs,
)
from accelsim.lowering.gemm import Gemm, conv_gemms, gemms_to_nchw, linear_gemm
from accelsim.lowering.im2col import col2im, im2col
from accelsim.lowering.ops import (
    adaptive_avg_pool2d,
    add,
    avg_pool2d,
    batchnorm2d,
    clip,
    concat,
    conv2d,
    dropout,
    flatten,
    fold_batchnorm,
    gelu,
    global_avg_pool2d,
    hardswish,
    layernorm,
    linear,
    local_response_norm,
    matmul,
    max_pool2d,
    relu,
    relu6,
    sigmoid,
    softmax,
    tanh,
)
from accelsim.workload.fold import bn_folds
from accelsim.workload.gemm import GemmShape, TrainingShapes, gemm_shape, training_gemm_shapes

__all__ = [
    "BackwardGemms", "Gemm", "GemmShape", "LayerRun", "Params", "QLayer", "QuantizedNetwork", "Run",
    "TrainingShapes", "adaptive_avg_pool2d", "add", "avg_pool2d", "batchnorm2d", "bn_folds", "clip", "col2im",
    "concat", "conv2d", "conv2d_backward", "conv2d_backward_gemms", "conv_gemms", "dropout", "flatten",
    "fold_batchnorm", "forward", "forward_int", "gelu", "gemm_shape", "gemms_to_nchw", "global_avg_pool2d",
    "golden", "hardswish", "im2col", "init_params", "iter_forward_int", "layernorm", "linear", "linear_backward",
    "linear_gemm", "local_response_norm", "matmul", "max_pool2d", "params_for", "quant", "quantize_network",
    "random_inputs", "relu", "relu6", "requant", "sigmoid", "softmax", "tanh", "training_gemm_shapes",
]
