"""The modern zoo: ResNet-18/50, MobileNet-v2, SqueezeNet 1.1, GoogLeNet and one BERT-base encoder layer.

Layer graphs built natively (no torch) exactly as torchvision builds them in eval mode (BatchNorm
layers kept, dropout as the identity, GoogLeNet without its auxiliary heads), so that the parameter
counts equal torchvision's. Node names are torchvision's module paths (``layer2.0.downsample.0``,
``features.3.conv.1.0``, ``inception4a.branch3.1.conv``); the nodes torchvision has no module for
(residual sums, concatenations, functional activations) are named after their block.
"""

from __future__ import annotations

from collections.abc import Callable

from accelsim.workload.layers import (
    GELU,
    AdaptiveAvgPool2d,
    Add,
    BatchNorm2d,
    Concat,
    Conv2d,
    Dropout,
    Flatten,
    Layer,
    LayerNorm,
    Linear,
    MatMul,
    MaxPool2d,
    ReLU,
    ReLU6,
    Softmax,
)
from accelsim.workload.network import INPUT, Network


class _Graph:
    """Collects ``(layer, inputs)`` items for ``Network.graph``; a node without named inputs takes the
    last node added."""

    def __init__(self) -> None:
        self.items: list[tuple[Layer, list[str]]] = []
        self.last = INPUT

    def add(self, layer: Layer, *inputs: str) -> str:
        self.items.append((layer, list(inputs) if inputs else [self.last]))
        self.last = layer.name
        return layer.name

    def conv_bn(self, conv: str, bn: str, cin: int, cout: int, k: int, stride: int = 1, padding: int = 0,
                groups: int = 1, eps: float = 1e-5, src: str | None = None) -> str:
        """A bias-free convolution and its batch norm (how torchvision pairs them)."""
        self.add(Conv2d(conv, cin, cout, k, stride=stride, padding=padding, groups=groups, bias=False),
                 *([src] if src else []))
        return self.add(BatchNorm2d(bn, num_features=cout, eps=eps))

    def build(self, name: str, input_shape: tuple[int, ...]) -> Network:
        return Network.graph(name, input_shape, self.items)


def _classifier_head(g: _Graph, features: int, dropout: float | None, fc: str) -> None:
    g.add(AdaptiveAvgPool2d("avgpool", output_size=1))
    g.add(Flatten("flatten"))
    if dropout is not None:
        g.add(Dropout("dropout", p=dropout))
    g.add(Linear(fc, features, 1000))


def _resnet(name: str, bottleneck: bool, blocks: tuple[int, ...]) -> Network:
    expansion = 4 if bottleneck else 1
    g = _Graph()
    g.conv_bn("conv1", "bn1", 3, 64, 7, stride=2, padding=3)
    g.add(ReLU("relu"))
    g.add(MaxPool2d("maxpool", kernel_size=3, stride=2, padding=1))
    inplanes = 64
    for stage, (planes, n) in enumerate(zip((64, 128, 256, 512), blocks, strict=True), start=1):
        for b in range(n):
            stride = 2 if stage > 1 and b == 0 else 1
            p, x, out = f"layer{stage}.{b}", g.last, planes * expansion
            if bottleneck:  # v1.5: the stride sits in the 3x3 conv
                g.conv_bn(f"{p}.conv1", f"{p}.bn1", inplanes, planes, 1)
                g.add(ReLU(f"{p}.relu1"))
                g.conv_bn(f"{p}.conv2", f"{p}.bn2", planes, planes, 3, stride=stride, padding=1)
                g.add(ReLU(f"{p}.relu2"))
                main = g.conv_bn(f"{p}.conv3", f"{p}.bn3", planes, out, 1)
            else:
                g.conv_bn(f"{p}.conv1", f"{p}.bn1", inplanes, planes, 3, stride=stride, padding=1)
                g.add(ReLU(f"{p}.relu1"))
                main = g.conv_bn(f"{p}.conv2", f"{p}.bn2", planes, planes, 3, padding=1)
            skip = x
            if stride != 1 or inplanes != out:
                skip = g.conv_bn(f"{p}.downsample.0", f"{p}.downsample.1", inplanes, out, 1, stride=stride, src=x)
            g.add(Add(f"{p}.add"), main, skip)
            g.add(ReLU(f"{p}.relu"))
            inplanes = out
    _classifier_head(g, 512 * expansion, None, "fc")
    return g.build(name, (3, 224, 224))


def resnet18() -> Network:
    """torchvision ResNet-18 (He et al. 2016, basic blocks 2-2-2-2) on 3x224x224: 11,689,512 params."""
    return _resnet("resnet18", False, (2, 2, 2, 2))


def resnet50() -> Network:
    """torchvision ResNet-50 v1.5 (He et al. 2016, bottlenecks 3-4-6-3, stride in the 3x3): 25,557,032 params."""
    return _resnet("resnet50", True, (3, 4, 6, 3))


# torchvision mobilenetv2.py's inverted_residual_setting: expansion t, channels c, repeats n, stride s.
MOBILENET_V2_SETTING = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2),
                        (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1))


def mobilenet_v2() -> Network:
    """torchvision MobileNet-v2 (Sandler et al. 2018, inverted residuals, ReLU6) on 3x224x224: 3,504,872 params."""
    g = _Graph()
    g.conv_bn("features.0.0", "features.0.1", 3, 32, 3, stride=2, padding=1)
    g.add(ReLU6("features.0.2"))
    cin, idx = 32, 1
    for t, c, n, s in MOBILENET_V2_SETTING:
        for i in range(n):
            stride, hidden, p, x = (s if i == 0 else 1), cin * t, f"features.{idx}", g.last
            j = 0
            if t != 1:  # 1x1 expansion
                g.conv_bn(f"{p}.conv.0.0", f"{p}.conv.0.1", cin, hidden, 1)
                g.add(ReLU6(f"{p}.conv.0.2"))
                j = 1
            g.conv_bn(f"{p}.conv.{j}.0", f"{p}.conv.{j}.1", hidden, hidden, 3, stride=stride, padding=1,
                      groups=hidden)  # depthwise
            g.add(ReLU6(f"{p}.conv.{j}.2"))
            out = g.conv_bn(f"{p}.conv.{j + 1}", f"{p}.conv.{j + 2}", hidden, c, 1)  # linear bottleneck
            if stride == 1 and cin == c:
                g.add(Add(f"{p}.add"), out, x)
            cin, idx = c, idx + 1
    g.conv_bn(f"features.{idx}.0", f"features.{idx}.1", cin, 1280, 1)
    g.add(ReLU6(f"features.{idx}.2"))
    g.add(AdaptiveAvgPool2d("avgpool", output_size=1))
    g.add(Flatten("flatten"))
    g.add(Dropout("classifier.0", p=0.2))
    g.add(Linear("classifier.1", 1280, 1000))
    return g.build("mobilenet_v2", (3, 224, 224))


# torchvision squeezenet.py, version 1.1: Fire modules (squeeze, expand1x1, expand3x3) by features index,
# and the 3x3/2 ceil-mode max pools between them.
SQUEEZENET1_1_FIRES: dict[int, tuple[int, int, int]] = {
    3: (16, 64, 64), 4: (16, 64, 64), 6: (32, 128, 128), 7: (32, 128, 128),
    9: (48, 192, 192), 10: (48, 192, 192), 11: (64, 256, 256), 12: (64, 256, 256),
}
SQUEEZENET1_1_POOLS = (2, 5, 8)


def squeezenet1_1() -> Network:
    """torchvision SqueezeNet 1.1 (Iandola et al. 2016, Fire modules, ceil-mode pools): 1,235,496 params."""
    g = _Graph()
    g.add(Conv2d("features.0", 3, 64, 3, stride=2))
    g.add(ReLU("features.1"))
    cin = 64
    for i in range(2, 13):
        p = f"features.{i}"
        if i in SQUEEZENET1_1_POOLS:
            g.add(MaxPool2d(p, kernel_size=3, stride=2, ceil_mode=True))
            continue
        sq, e1, e3 = SQUEEZENET1_1_FIRES[i]
        g.add(Conv2d(f"{p}.squeeze", cin, sq, 1))
        s = g.add(ReLU(f"{p}.squeeze_activation"))
        g.add(Conv2d(f"{p}.expand1x1", sq, e1, 1), s)
        a = g.add(ReLU(f"{p}.expand1x1_activation"))
        g.add(Conv2d(f"{p}.expand3x3", sq, e3, 3, padding=1), s)
        b = g.add(ReLU(f"{p}.expand3x3_activation"))
        g.add(Concat(f"{p}.cat"), a, b)
        cin = e1 + e3
    g.add(Dropout("classifier.0", p=0.5))
    g.add(Conv2d("classifier.1", cin, 1000, 1))
    g.add(ReLU("classifier.2"))
    g.add(AdaptiveAvgPool2d("classifier.3", output_size=1))
    g.add(Flatten("flatten"))
    return g.build("squeezenet1_1", (3, 224, 224))


# torchvision googlenet.py: (name, ch1x1, ch3x3red, ch3x3, ch5x5red, ch5x5, pool_proj) per Inception
# module, or (name, kernel, stride) of a ceil-mode max pool.
GOOGLENET_BODY: tuple[tuple, ...] = (
    ("inception3a", 64, 96, 128, 16, 32, 32), ("inception3b", 128, 128, 192, 32, 96, 64), ("maxpool3", 3, 2),
    ("inception4a", 192, 96, 208, 16, 48, 64), ("inception4b", 160, 112, 224, 24, 64, 64),
    ("inception4c", 128, 128, 256, 24, 64, 64), ("inception4d", 112, 144, 288, 32, 64, 64),
    ("inception4e", 256, 160, 320, 32, 128, 128), ("maxpool4", 2, 2),
    ("inception5a", 256, 160, 320, 32, 128, 128), ("inception5b", 384, 192, 384, 48, 128, 128),
)


def googlenet() -> Network:
    """torchvision GoogLeNet (Szegedy et al. 2015) in inference form, no auxiliary heads: 6,624,904 params."""
    g = _Graph()

    def basic(name: str, cin: int, cout: int, k: int, stride: int = 1, padding: int = 0,
              src: str | None = None) -> str:  # torchvision's BasicConv2d
        g.conv_bn(f"{name}.conv", f"{name}.bn", cin, cout, k, stride=stride, padding=padding, eps=0.001, src=src)
        return g.add(ReLU(f"{name}.relu"))

    basic("conv1", 3, 64, 7, stride=2, padding=3)
    g.add(MaxPool2d("maxpool1", kernel_size=3, stride=2, ceil_mode=True))
    basic("conv2", 64, 64, 1)
    basic("conv3", 64, 192, 3, padding=1)
    g.add(MaxPool2d("maxpool2", kernel_size=3, stride=2, ceil_mode=True))
    cin = 192
    for item in GOOGLENET_BODY:
        if len(item) == 3:
            g.add(MaxPool2d(item[0], kernel_size=item[1], stride=item[2], ceil_mode=True))
            continue
        name, c1, c3r, c3, c5r, c5, pool_proj = item
        x = g.last
        b1 = basic(f"{name}.branch1", cin, c1, 1, src=x)
        basic(f"{name}.branch2.0", cin, c3r, 1, src=x)
        b2 = basic(f"{name}.branch2.1", c3r, c3, 3, padding=1)
        basic(f"{name}.branch3.0", cin, c5r, 1, src=x)
        b3 = basic(f"{name}.branch3.1", c5r, c5, 3, padding=1)  # torchvision's 3x3 (the paper: 5x5)
        g.add(MaxPool2d(f"{name}.branch4.0", kernel_size=3, stride=1, padding=1, ceil_mode=True), x)
        b4 = basic(f"{name}.branch4.1", cin, pool_proj, 1)
        g.add(Concat(f"{name}.cat"), b1, b2, b3, b4)
        cin = c1 + c3 + c5 + pool_proj
    _classifier_head(g, cin, 0.2, "fc")
    return g.build("googlenet", (3, 224, 224))


def bert_base_encoder(tokens: int = 128, hidden: int = 768, heads: int = 12, ffn: int = 3072) -> Network:
    """One BERT-base encoder layer (Devlin et al. 2019) on 128 tokens x 768: 7,087,872 params."""
    # Hugging Face's BertLayer in eval mode: per-token Q, K, V projections, per-head Q K^T and
    # softmax(.) V (`heads` GEMMs each), the output projection, residual sums with post-layernorm, the
    # FFN with GELU. The 1/sqrt(d) score scaling is the scores matmul's ``scale`` (no node of its own:
    # in int8 it is part of that matmul's requantization).
    g = _Graph()
    x = INPUT
    q = g.add(Linear("attention.self.query", hidden, hidden), x)
    k = g.add(Linear("attention.self.key", hidden, hidden), x)
    v = g.add(Linear("attention.self.value", hidden, hidden), x)
    g.add(MatMul("attention.scores", heads=heads, transpose_b=True, scale=(hidden // heads) ** -0.5), q, k)
    g.add(Softmax("attention.softmax"))
    g.add(Dropout("attention.self.dropout", p=0.1))
    g.add(MatMul("attention.context", heads=heads), g.last, v)
    g.add(Linear("attention.output.dense", hidden, hidden))
    g.add(Dropout("attention.output.dropout", p=0.1))
    g.add(Add("attention.output.add"), g.last, x)
    a = g.add(LayerNorm("attention.output.LayerNorm", normalized_shape=hidden, eps=1e-12))
    g.add(Linear("intermediate.dense", hidden, ffn))
    g.add(GELU("intermediate.gelu"))
    g.add(Linear("output.dense", ffn, hidden))
    g.add(Dropout("output.dropout", p=0.1))
    g.add(Add("output.add"), g.last, a)
    g.add(LayerNorm("output.LayerNorm", normalized_shape=hidden, eps=1e-12))
    return g.build("bert-base-encoder", (tokens, hidden))


MODERN_ZOO: dict[str, Callable[[], Network]] = {
    "resnet18": resnet18,
    "resnet50": resnet50,
    "mobilenet_v2": mobilenet_v2,
    "squeezenet1_1": squeezenet1_1,
    "googlenet": googlenet,
    "bert-base-encoder": bert_base_encoder,
}
