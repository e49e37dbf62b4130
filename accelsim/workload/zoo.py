"""The network zoo: LeNet-5, AlexNet (original and torchvision), VGG-11/13/16/19, and the modern zoo
(ResNet, MobileNet-v2, SqueezeNet, GoogLeNet, a BERT encoder layer: ``zoo_modern``)."""

from __future__ import annotations

from collections.abc import Callable

from accelsim.errors import AccelsimError
from accelsim.workload.layers import (
    AvgPool2d,
    Conv2d,
    Flatten,
    Layer,
    Linear,
    LocalResponseNorm,
    MaxPool2d,
    ReLU,
    Softmax,
    Tanh,
)
from accelsim.workload.network import Network, parse_input_shape
from accelsim.workload.zoo_modern import MODERN_ZOO


def _lenet5(pad1: int, hw: int, name: str) -> Network:
    layers = [
        Conv2d("conv1", 1, 6, 5, padding=pad1), Tanh("tanh1"), AvgPool2d("pool1", 2, 2),
        Conv2d("conv2", 6, 16, 5), Tanh("tanh2"), AvgPool2d("pool2", 2, 2),
        Conv2d("conv3", 16, 120, 5), Tanh("tanh3"), Flatten("flatten"),
        Linear("fc1", 120, 84), Tanh("tanh4"), Linear("fc2", 84, 10), Softmax("softmax"),
    ]
    return Network.sequential(name, (1, hw, hw), layers)


def lenet5() -> Network:
    """LeNet-5 on 1x32x32 (LeCun et al. 1998, tanh, average pooling): 61,706 parameters."""
    return _lenet5(0, 32, "lenet5")


def lenet5_28() -> Network:
    """LeNet-5 on MNIST's 1x28x28, conv1 padded by 2 so the rest is unchanged."""
    return _lenet5(2, 28, "lenet5-28")


def _fc_head(in_features: int, hidden: int, classes: int, first: int = 1) -> list[Layer]:
    a, b, c = first, first + 1, first + 2
    return [
        Flatten("flatten"),
        Linear(f"fc{a}", in_features, hidden), ReLU(f"relu_fc{a}"),
        Linear(f"fc{b}", hidden, hidden), ReLU(f"relu_fc{b}"),
        Linear(f"fc{c}", hidden, classes), Softmax("softmax"),
    ]


def alexnet() -> Network:
    """Original single-tower AlexNet (Krizhevsky et al. 2012) on 3x227x227: 62,378,344 parameters."""
    layers = [
        Conv2d("conv1", 3, 96, 11, stride=4), ReLU("relu1"), MaxPool2d("pool1", 3, 2), LocalResponseNorm("lrn1"),
        Conv2d("conv2", 96, 256, 5, padding=2), ReLU("relu2"), MaxPool2d("pool2", 3, 2), LocalResponseNorm("lrn2"),
        Conv2d("conv3", 256, 384, 3, padding=1), ReLU("relu3"),
        Conv2d("conv4", 384, 384, 3, padding=1), ReLU("relu4"),
        Conv2d("conv5", 384, 256, 3, padding=1), ReLU("relu5"), MaxPool2d("pool5", 3, 2),
        *_fc_head(256 * 6 * 6, 4096, 1000),
    ]
    return Network.sequential("alexnet", (3, 227, 227), layers)


def alexnet_tv() -> Network:
    """torchvision's AlexNet on 3x224x224 (64/192/384/256/256 filters): 61,100,840 parameters.

    Its AdaptiveAvgPool2d(6) is the identity at 224x224 and dropout does nothing at inference, so
    neither appears.
    """
    layers = [
        Conv2d("conv1", 3, 64, 11, stride=4, padding=2), ReLU("relu1"), MaxPool2d("pool1", 3, 2),
        Conv2d("conv2", 64, 192, 5, padding=2), ReLU("relu2"), MaxPool2d("pool2", 3, 2),
        Conv2d("conv3", 192, 384, 3, padding=1), ReLU("relu3"),
        Conv2d("conv4", 384, 256, 3, padding=1), ReLU("relu4"),
        Conv2d("conv5", 256, 256, 3, padding=1), ReLU("relu5"), MaxPool2d("pool5", 3, 2),
        *_fc_head(256 * 6 * 6, 4096, 1000),
    ]
    return Network.sequential("alexnet-tv", (3, 224, 224), layers)


# Simonyan & Zisserman 2015, table 1: conv widths per block ("M" = 2x2/2 max pooling).
VGG_CONFIGS = {
    "vgg11": (1, 1, 2, 2, 2),  # A
    "vgg13": (2, 2, 2, 2, 2),  # B
    "vgg16": (2, 2, 3, 3, 3),  # D
    "vgg19": (2, 2, 4, 4, 4),  # E
}
VGG_WIDTHS = (64, 128, 256, 512, 512)


def vgg(name: str) -> Network:
    """VGG configuration A/B/D/E without batch norm on 3x224x224 (VGG-16: 138,357,544 params)."""
    layers: list[Layer] = []
    cin = 3
    for block, (reps, width) in enumerate(zip(VGG_CONFIGS[name], VGG_WIDTHS, strict=True), start=1):
        for i in range(1, reps + 1):
            layers += [Conv2d(f"conv{block}_{i}", cin, width, 3, padding=1), ReLU(f"relu{block}_{i}")]
            cin = width
        layers.append(MaxPool2d(f"pool{block}", 2, 2))
    layers += _fc_head(512 * 7 * 7, 4096, 1000, first=6)  # the paper's fc6, fc7, fc8
    return Network.sequential(name, (3, 224, 224), layers)


def _vgg_builder(name: str) -> Callable[[], Network]:
    def build() -> Network:
        return vgg(name)

    depth = name[3:]
    letter = "ABDE"[[11, 13, 16, 19].index(int(depth))]
    build.__doc__ = f"VGG-{depth} (configuration {letter}) on 3x224x224, no batch norm."
    return build


ZOO: dict[str, Callable[[], Network]] = {
    "lenet5": lenet5,
    "lenet5-28": lenet5_28,
    "alexnet": alexnet,
    "alexnet-tv": alexnet_tv,
    **{name: _vgg_builder(name) for name in VGG_CONFIGS},
    **MODERN_ZOO,
}


def get(name: str, input_shape=None) -> Network:
    """The zoo network ``name``, on ``input_shape`` (a shape or ``"3x32x32"``; None: its own input).

    Any zoo model takes another input size with its shapes inferred again: those that end in a
    global or adaptive pooling (the modern zoo) take any size their strides and kernels allow; those
    whose first linear layer fixes the flattened size (LeNet-5, AlexNet, VGG) take only their own
    spatial size, and another one is one line naming that layer.
    """
    try:
        net = ZOO[name]()
    except KeyError:
        raise AccelsimError(f"model: unknown model '{name}' (choose from {', '.join(ZOO)})") from None
    if input_shape is None:
        return net
    shape = parse_input_shape(input_shape)
    own = "x".join(map(str, net.input_shape))
    if len(shape) != len(net.input_shape):
        raise AccelsimError(f"model '{name}': input size {'x'.join(map(str, shape))}: the model takes "
                            f"{'CxHxW' if len(net.input_shape) == 3 else 'TxF'} inputs (its own: {own})")
    if shape == net.input_shape:
        return net
    try:
        return net.with_input_shape(shape)
    except AccelsimError as e:
        raise AccelsimError(f"model '{name}' cannot take input size {'x'.join(map(str, shape))} (built for "
                            f"{own}): {e}") from None
