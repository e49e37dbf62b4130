"""Second route to the modern zoo's budgets: plain arithmetic over each architecture's stage table.

Written from torchvision's model definitions (resnet.py, mobilenetv2.py, squeezenet.py,
googlenet.py) and the BERT paper (module names as Hugging Face's BertLayer), without the layer
classes or the shape inference of ``accelsim.workload``: each function walks the stage
specification, tracks the feature-map size by the convolution/pooling formulas, and records, for
every conv, linear, matmul and batch-norm node (named as torchvision's module path), its parameters,
MACs and im2col GEMM shape (M, K, N).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Row:
    params: int
    macs: int
    gemm: tuple[int, int, int] | None  # (M, K, N) at batch 1; None for batch norm


@dataclass
class Ref:
    """An ordered record of the layers with parameters or MACs, by torchvision module name."""

    rows: dict[str, Row] = field(default_factory=dict)

    def conv(self, name: str, cin: int, cout: int, k: int, s: int, p: int, hw: int,
             groups: int = 1, bias: bool = False) -> int:
        out = (hw + 2 * p - k) // s + 1
        k_gemm = cin // groups * k * k
        params = cout * k_gemm + (cout if bias else 0)
        # Grouped conv: one GEMM per group; its shape is reported per group (N = cout / groups).
        self.rows[name] = Row(params, out * out * cout * k_gemm, (out * out, k_gemm, cout // groups))
        return out

    def bn(self, name: str, c: int) -> None:
        self.rows[name] = Row(2 * c, 0, None)

    def linear(self, name: str, fin: int, fout: int, tokens: int = 1) -> None:
        self.rows[name] = Row(fin * fout + fout, tokens * fin * fout, (tokens, fin, fout))

    def matmul(self, name: str, m: int, k: int, n: int, heads: int = 1) -> None:
        """``heads`` GEMMs of M x K x N (the shape is reported per head, as per conv group)."""
        self.rows[name] = Row(0, heads * m * k * n, (m, k, n))

    @property
    def params(self) -> int:
        return sum(r.params for r in self.rows.values())

    @property
    def gemm_macs(self) -> int:
        """fvcore's count: conv, linear and matmul MACs (batch norm's affine is not a MAC here)."""
        return sum(r.macs for r in self.rows.values())


def pool_out(hw: int, k: int, s: int, p: int = 0, ceil_mode: bool = False) -> int:
    """PyTorch's pooling output size, including its ceil-mode rule (last window starts inside)."""
    if not ceil_mode:
        return (hw + 2 * p - k) // s + 1
    out = math.ceil((hw + 2 * p - k) / s) + 1
    if (out - 1) * s >= hw + p:
        out -= 1
    return out


def resnet(depth: int, hw: int = 224) -> Ref:
    """torchvision ResNet-18/50 (v1.5: a bottleneck's stride sits in its 3x3 conv) on a 3 x hw x hw input."""
    bottleneck, blocks = {18: (False, (2, 2, 2, 2)), 50: (True, (3, 4, 6, 3))}[depth]
    expansion = 4 if bottleneck else 1
    r = Ref()
    hw = r.conv("conv1", 3, 64, 7, 2, 3, hw)
    r.bn("bn1", 64)
    hw = pool_out(hw, 3, 2, 1)
    inplanes = 64
    for stage, (planes, n) in enumerate(zip((64, 128, 256, 512), blocks, strict=True), start=1):
        for b in range(n):
            s = 2 if stage > 1 and b == 0 else 1
            p, hw_in = f"layer{stage}.{b}", hw
            if bottleneck:
                r.conv(f"{p}.conv1", inplanes, planes, 1, 1, 0, hw_in)
                r.bn(f"{p}.bn1", planes)
                hw = r.conv(f"{p}.conv2", planes, planes, 3, s, 1, hw_in)
                r.bn(f"{p}.bn2", planes)
                r.conv(f"{p}.conv3", planes, planes * 4, 1, 1, 0, hw)
                r.bn(f"{p}.bn3", planes * 4)
            else:
                hw = r.conv(f"{p}.conv1", inplanes, planes, 3, s, 1, hw_in)
                r.bn(f"{p}.bn1", planes)
                r.conv(f"{p}.conv2", planes, planes, 3, 1, 1, hw)
                r.bn(f"{p}.bn2", planes)
            if s != 1 or inplanes != planes * expansion:
                r.conv(f"{p}.downsample.0", inplanes, planes * expansion, 1, s, 0, hw_in)
                r.bn(f"{p}.downsample.1", planes * expansion)
            inplanes = planes * expansion
    r.linear("fc", 512 * expansion, 1000)
    return r


# torchvision mobilenetv2.py: expansion t, output channels c, repeats n, first stride s.
MOBILENET_V2_SETTING = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2),
                        (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1))


def mobilenet_v2(hw: int = 224) -> Ref:
    r = Ref()
    hw = r.conv("features.0.0", 3, 32, 3, 2, 1, hw)
    r.bn("features.0.1", 32)
    cin, idx = 32, 1
    for t, c, n, s in MOBILENET_V2_SETTING:
        for i in range(n):
            stride, hidden, p = (s if i == 0 else 1), cin * t, f"features.{idx}.conv"
            j = 0
            if t != 1:
                r.conv(f"{p}.0.0", cin, hidden, 1, 1, 0, hw)
                r.bn(f"{p}.0.1", hidden)
                j = 1
            hw = r.conv(f"{p}.{j}.0", hidden, hidden, 3, stride, 1, hw, groups=hidden)
            r.bn(f"{p}.{j}.1", hidden)
            r.conv(f"{p}.{j + 1}", hidden, c, 1, 1, 0, hw)
            r.bn(f"{p}.{j + 2}", c)
            cin, idx = c, idx + 1
    r.conv(f"features.{idx}.0", cin, 1280, 1, 1, 0, hw)
    r.bn(f"features.{idx}.1", 1280)
    r.linear("classifier.1", 1280, 1000)
    return r


# torchvision squeezenet.py, version 1.1: (features index, squeeze, expand1x1, expand3x3) per Fire;
# "M" is MaxPool2d(3, 2, ceil_mode=True).
SQUEEZENET1_1_FEATURES = ("M", (3, 16, 64, 64), (4, 16, 64, 64), "M", (6, 32, 128, 128),
                          (7, 32, 128, 128), "M", (9, 48, 192, 192), (10, 48, 192, 192),
                          (11, 64, 256, 256), (12, 64, 256, 256))


def squeezenet1_1(hw: int = 224) -> Ref:
    r = Ref()
    hw = r.conv("features.0", 3, 64, 3, 2, 0, hw, bias=True)
    cin = 64
    for item in SQUEEZENET1_1_FEATURES:
        if item == "M":
            hw = pool_out(hw, 3, 2, ceil_mode=True)
            continue
        i, sq, e1, e3 = item
        r.conv(f"features.{i}.squeeze", cin, sq, 1, 1, 0, hw, bias=True)
        r.conv(f"features.{i}.expand1x1", sq, e1, 1, 1, 0, hw, bias=True)
        r.conv(f"features.{i}.expand3x3", sq, e3, 3, 1, 1, hw, bias=True)
        cin = e1 + e3
    r.conv("classifier.1", cin, 1000, 1, 1, 0, hw, bias=True)
    return r


# torchvision googlenet.py: (name, ch1x1, ch3x3red, ch3x3, ch5x5red, ch5x5, pool_proj) or a
# ceil-mode max pool (kernel, stride).
GOOGLENET_BODY = (
    ("inception3a", 64, 96, 128, 16, 32, 32), ("inception3b", 128, 128, 192, 32, 96, 64), (3, 2),
    ("inception4a", 192, 96, 208, 16, 48, 64), ("inception4b", 160, 112, 224, 24, 64, 64),
    ("inception4c", 128, 128, 256, 24, 64, 64), ("inception4d", 112, 144, 288, 32, 64, 64),
    ("inception4e", 256, 160, 320, 32, 128, 128), (2, 2),
    ("inception5a", 256, 160, 320, 32, 128, 128), ("inception5b", 384, 192, 384, 48, 128, 128),
)


def googlenet(hw: int = 224) -> Ref:
    r = Ref()

    def basic(name: str, cin: int, cout: int, k: int, s: int, p: int, hw: int) -> int:
        out = r.conv(f"{name}.conv", cin, cout, k, s, p, hw)
        r.bn(f"{name}.bn", cout)
        return out

    hw = basic("conv1", 3, 64, 7, 2, 3, hw)
    hw = pool_out(hw, 3, 2, ceil_mode=True)
    hw = basic("conv2", 64, 64, 1, 1, 0, hw)
    hw = basic("conv3", 64, 192, 3, 1, 1, hw)
    hw = pool_out(hw, 3, 2, ceil_mode=True)
    cin = 192
    for item in GOOGLENET_BODY:
        if len(item) == 2:
            hw = pool_out(hw, item[0], item[1], ceil_mode=True)
            continue
        name, c1, c3r, c3, c5r, c5, pp = item  # type: ignore[misc]
        basic(f"{name}.branch1", cin, c1, 1, 1, 0, hw)
        basic(f"{name}.branch2.0", cin, c3r, 1, 1, 0, hw)
        basic(f"{name}.branch2.1", c3r, c3, 3, 1, 1, hw)
        basic(f"{name}.branch3.0", cin, c5r, 1, 1, 0, hw)
        basic(f"{name}.branch3.1", c5r, c5, 3, 1, 1, hw)  # torchvision's 3x3 (the paper: 5x5)
        assert pool_out(hw, 3, 1, 1, ceil_mode=True) == hw
        basic(f"{name}.branch4.1", cin, pp, 1, 1, 0, hw)
        cin = c1 + c3 + c5 + pp
    r.linear("fc", cin, 1000)
    return r


def bert_base_encoder(tokens: int = 128, hidden: int = 768, heads: int = 12, ffn: int = 3072) -> Ref:
    """One BERT-base encoder layer (Devlin et al. 2019): per-token linears, per-head attention."""
    r = Ref()
    d = hidden // heads
    for proj in ("query", "key", "value"):
        r.linear(f"attention.self.{proj}", hidden, hidden, tokens)
    r.matmul("attention.scores", tokens, d, tokens, heads)  # Q K^T, one T x d x T GEMM per head
    r.matmul("attention.context", tokens, tokens, d, heads)  # softmax(.) V, one T x T x d GEMM per head
    r.linear("attention.output.dense", hidden, hidden, tokens)
    r.rows["attention.output.LayerNorm"] = Row(2 * hidden, 0, None)
    r.linear("intermediate.dense", hidden, ffn, tokens)
    r.linear("output.dense", ffn, hidden, tokens)
    r.rows["output.LayerNorm"] = Row(2 * hidden, 0, None)
    return r


# Each reference at its model's own input size (3x224x224; 128 tokens) or, given a size (the image's
# height = width, or the token count), at that one.
REFERENCES = {
    "resnet18": lambda size=224: resnet(18, size),
    "resnet50": lambda size=224: resnet(50, size),
    "mobilenet_v2": mobilenet_v2,
    "squeezenet1_1": squeezenet1_1,
    "googlenet": googlenet,
    "bert-base-encoder": bert_base_encoder,
}

# torchvision's parameter counts (BN weight and bias included, running statistics not) and the
# published conv+linear MAC counts (torchvision's docs "GFLOPS" column, which counts MACs).
PUBLISHED = {
    "resnet18": (11_689_512, 1.814e9),
    "resnet50": (25_557_032, 4.089e9),
    "mobilenet_v2": (3_504_872, 0.300e9),
    "squeezenet1_1": (1_235_496, 0.349e9),
    "googlenet": (6_624_904, 1.498e9),
    "bert-base-encoder": (7_087_872, None),  # 12 such layers + embeddings + pooler = BERT-base's 110 M
}
