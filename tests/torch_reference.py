"""PyTorch reference networks with the official state-dict key names, for parity tests and benchmarks.

Written from torchvision's `models/resnet.py` (ResNet-50, Bottleneck v1.5, key names `conv1`,
`bn1`, `layer1.0.conv1`, `layer1.0.downsample.0` ...) and torchreid's `models/osnet_ain.py`
(`osnet_ain_x1_0`, key names `conv1.conv`, `conv2.0.conv2.3.layers.1.conv2`, `pool2.0`, `fc.0`
...), so their state dicts have exactly the keys and shapes of the official checkpoints. torch is
imported here, so import this module only after `pytest.importorskip("torch")`.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


# ----------------------------------------------------------------------------- ResNet-50


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, inplanes: int, planes: int, stride: int = 1, downsample=None):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, planes * 4, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * 4)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + identity)


class ResNet50(nn.Module):
    """torchvision's resnet50 with `last_stride`; `forward` returns the last feature map (NCHW)."""

    def __init__(self, last_stride: int = 2, num_classes: int = 1000):
        super().__init__()
        self.inplanes = 64
        self.conv1 = nn.Conv2d(3, 64, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        self.layer1 = self._make_layer(64, 3, 1)
        self.layer2 = self._make_layer(128, 4, 2)
        self.layer3 = self._make_layer(256, 6, 2)
        self.layer4 = self._make_layer(512, 3, last_stride)
        self.fc = nn.Linear(2048, num_classes)  # ImageNet classifier, unused by featuremaps
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def _make_layer(self, planes: int, blocks: int, stride: int) -> nn.Sequential:
        downsample = None
        if stride != 1 or self.inplanes != planes * 4:
            downsample = nn.Sequential(
                nn.Conv2d(self.inplanes, planes * 4, 1, stride=stride, bias=False),
                nn.BatchNorm2d(planes * 4),
            )
        layers = [Bottleneck(self.inplanes, planes, stride, downsample)]
        self.inplanes = planes * 4
        layers += [Bottleneck(self.inplanes, planes) for _ in range(1, blocks)]
        return nn.Sequential(*layers)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        return self.layer4(self.layer3(self.layer2(self.layer1(x))))


class ResNet50FC512(ResNet50):
    """torchreid's resnet50_fc512: last stride 1, fc = Linear(2048, 512) + BatchNorm1d + ReLU,
    then the identity classifier. Evaluation returns the 512-d feature, training the logits."""

    def __init__(self, num_classes: int):
        super().__init__(last_stride=1)
        self.fc = nn.Sequential(nn.Linear(2048, 512), nn.BatchNorm1d(512), nn.ReLU(inplace=True))
        self.classifier = nn.Linear(512, num_classes)

    def featuremaps(self, x):
        return super().forward(x)

    def forward(self, x):
        v = self.fc(self.featuremaps(x).mean(dim=(2, 3)))
        return v if not self.training else self.classifier(v)


class ReidResNet50(nn.Module):
    """The strong-baseline ReID network on ResNet-50: GAP, BNNeck (frozen zero shift), bias-free
    classifier. Returns (logits, embedding) in training and the post-BN embedding in evaluation."""

    def __init__(self, num_classes: int, last_stride: int = 1):
        super().__init__()
        self.backbone = ResNet50(last_stride=last_stride)
        del self.backbone.fc
        self.bnneck = nn.BatchNorm1d(2048)
        self.bnneck.bias.requires_grad_(False)
        self.classifier = nn.Linear(2048, num_classes, bias=False)
        nn.init.normal_(self.classifier.weight, std=0.001)

    def forward(self, x):
        embedding = self.backbone(x).mean(dim=(2, 3))
        embedding_bn = self.bnneck(embedding)
        if not self.training:
            return embedding_bn
        return self.classifier(embedding_bn), embedding


# ----------------------------------------------------------------------------- OSNet-AIN


class ConvLayer(nn.Module):
    def __init__(self, cin, cout, k, stride=1, padding=0, IN=False):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, k, stride=stride, padding=padding, bias=False)
        self.bn = nn.InstanceNorm2d(cout, affine=True) if IN else nn.BatchNorm2d(cout)
        self.relu = nn.ReLU()

    def forward(self, x):
        return self.relu(self.bn(self.conv(x)))


class Conv1x1(ConvLayer):
    def __init__(self, cin, cout):
        super().__init__(cin, cout, 1)


class Conv1x1Linear(nn.Module):
    def __init__(self, cin, cout, bn=True):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, 1, bias=False)
        self.bn = nn.BatchNorm2d(cout) if bn else None

    def forward(self, x):
        x = self.conv(x)
        return x if self.bn is None else self.bn(x)


class LightConv3x3(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 1, bias=False)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1, bias=False, groups=cout)
        self.bn = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU()

    def forward(self, x):
        return self.relu(self.bn(self.conv2(self.conv1(x))))


class LightConvStream(nn.Module):
    def __init__(self, cin, cout, depth):
        super().__init__()
        self.layers = nn.Sequential(
            LightConv3x3(cin, cout), *[LightConv3x3(cout, cout) for _ in range(depth - 1)]
        )

    def forward(self, x):
        return self.layers(x)


class ChannelGate(nn.Module):
    def __init__(self, channels, reduction=16):
        super().__init__()
        self.fc1 = nn.Conv2d(channels, channels // reduction, 1, bias=True)
        self.fc2 = nn.Conv2d(channels // reduction, channels, 1, bias=True)

    def forward(self, x):
        gates = torch.sigmoid(self.fc2(F.relu(self.fc1(F.adaptive_avg_pool2d(x, 1)))))
        return x * gates


class OSBlock(nn.Module):
    """OSBlock, or OSBlockINin when `IN` (IN after conv3 instead of its BN)."""

    def __init__(self, cin, cout, IN=False, T=4, reduction=4):
        super().__init__()
        mid = cout // reduction
        self.conv1 = Conv1x1(cin, mid)
        self.conv2 = nn.ModuleList([LightConvStream(mid, mid, t) for t in range(1, T + 1)])
        self.gate = ChannelGate(mid)
        self.conv3 = Conv1x1Linear(mid, cout, bn=not IN)
        self.downsample = Conv1x1Linear(cin, cout) if cin != cout else None
        self.IN = nn.InstanceNorm2d(cout, affine=True) if IN else None

    def forward(self, x):
        x1 = self.conv1(x)
        x2 = 0
        for stream in self.conv2:
            x2 = x2 + self.gate(stream(x1))
        x3 = self.conv3(x2)
        if self.IN is not None:
            x3 = self.IN(x3)
        identity = x if self.downsample is None else self.downsample(x)
        return F.relu(x3 + identity)


class OSNetAIN(nn.Module):
    """torchreid's osnet_ain_x1_0 (other widths via `channels`); eval forward -> [b, 512]."""

    def __init__(self, num_classes=1000, channels=(64, 256, 384, 512), feature_dim=512):
        super().__init__()
        c = channels
        self.conv1 = ConvLayer(3, c[0], 7, stride=2, padding=3, IN=True)
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        self.conv2 = nn.Sequential(OSBlock(c[0], c[1], IN=True), OSBlock(c[1], c[1], IN=True))
        self.pool2 = nn.Sequential(Conv1x1(c[1], c[1]), nn.AvgPool2d(2, stride=2))
        self.conv3 = nn.Sequential(OSBlock(c[1], c[2], IN=False), OSBlock(c[2], c[2], IN=True))
        self.pool3 = nn.Sequential(Conv1x1(c[2], c[2]), nn.AvgPool2d(2, stride=2))
        self.conv4 = nn.Sequential(OSBlock(c[2], c[3], IN=True), OSBlock(c[3], c[3], IN=False))
        self.conv5 = Conv1x1(c[3], c[3])
        self.fc = nn.Sequential(nn.Linear(c[3], feature_dim), nn.BatchNorm1d(feature_dim), nn.ReLU())
        self.classifier = nn.Linear(feature_dim, num_classes)

    def forward(self, x):
        x = self.maxpool(self.conv1(x))
        x = self.pool2(self.conv2(x))
        x = self.pool3(self.conv3(x))
        x = self.conv5(self.conv4(x))
        v = self.fc(x.mean(dim=(2, 3)))
        return v if not self.training else self.classifier(v)


# Norms that end a residual branch (ResNet and OSNet names). A random deep network whose every BN
# is calibrated to its input amplifies float32 rounding to ~3e-4 at the output (in PyTorch against
# float64 as much as in JAX); damping these gains after calibration, as trained networks have
# them, keeps rounding near 1e-6 while every tensor still matters.
RESIDUAL_ENDS = ("bn3", "downsample.1", "conv3.bn", "IN", "downsample.bn")


def randomise(module: nn.Module, calibration_images: torch.Tensor, seed: int = 0) -> nn.Module:
    """Random weights and norm affine parameters everywhere, and BN running statistics taken from
    `calibration_images` (then jittered), so a parity test exercises every converted tensor
    (fresh BN is the identity in eval mode) while activations stay O(1) through the network.
    Returns the module in eval mode."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, tensor in module.state_dict().items():
            if name.endswith("num_batches_tracked"):
                continue
            if name.endswith("running_var"):
                tensor.copy_(0.5 + torch.rand(tensor.shape, generator=generator))
            elif name.endswith(("running_mean", "bias")):
                tensor.copy_(0.1 * torch.randn(tensor.shape, generator=generator))
            elif name.endswith("weight") and tensor.ndim == 1:  # norm scales
                tensor.copy_(0.8 + 0.4 * torch.rand(tensor.shape, generator=generator))
            else:  # conv / linear weights: keep the He scale so activations stay O(1)
                fan_in = tensor[0].numel()
                tensor.copy_(torch.randn(tensor.shape, generator=generator) * (2.0 / fan_in) ** 0.5)
        batch_norms = [m for m in module.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
        for bn in batch_norms:
            bn.reset_running_stats()
            bn.momentum = None  # cumulative average: one batch sets the statistics exactly
        module.train()
        module(calibration_images)
        for bn in batch_norms:
            bn.momentum = 0.1
            bn.running_mean.add_(0.05 * torch.randn(bn.running_mean.shape, generator=generator))
            bn.running_var.mul_(0.9 + 0.2 * torch.rand(bn.running_var.shape, generator=generator))
        for name, norm in module.named_modules():
            if name.endswith(RESIDUAL_ENDS):
                norm.weight.mul_(0.5)
                norm.bias.mul_(0.5)
    return module.eval()
