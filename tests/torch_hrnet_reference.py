"""A PyTorch HRNetV2 heatmap network with the published state-dict key names, for parity tests.

Written for these tests from the HRNet papers (Sun et al. 2019, Wang et al. 2020) and the layout
of the published calibration checkpoints (No Bells Just Whistles / PnLCalib; timm's `hrnet_w48`
shares the backbone keys): a stem of two strided 3x3 convolutions (`conv1`, `bn1`, `conv2`,
`bn2`), four bottlenecks (`layer1.<i>`), `transition1-3` to new branches, stages of
multi-resolution modules (`stage<k>.<m>.branches.<b>.<i>` basic blocks and
`stage<k>.<m>.fuse_layers.<i>.<j>` exchanges), then the head (`head.0.0-3`): the four branches
resized (bilinearly) to 1/4, concatenated, upsampled x2 (nearest) and concatenated with the first
convolution's output, a 1x1 convolution, BN, ReLU and the output 1x1 convolution, then a softmax
(keypoints) or a sigmoid (line extremities) over channels.

torch is imported here, so import this module only after `pytest.importorskip("torch")`.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


def _bn(channels: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(channels, momentum=0.1)


class Basic(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int = 1):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = _bn(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = _bn(cout)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), _bn(cout))

    def forward(self, x):
        skip = x if self.downsample is None else self.downsample(x)
        y = F.relu(self.bn1(self.conv1(x)))
        return F.relu(self.bn2(self.conv2(y)) + skip)


class Bottle(nn.Module):
    def __init__(self, cin: int, planes: int):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, planes, 1, bias=False)
        self.bn1 = _bn(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = _bn(planes)
        self.conv3 = nn.Conv2d(planes, 4 * planes, 1, bias=False)
        self.bn3 = _bn(4 * planes)
        self.downsample = None
        if cin != 4 * planes:
            self.downsample = nn.Sequential(nn.Conv2d(cin, 4 * planes, 1, bias=False), _bn(4 * planes))

    def forward(self, x):
        skip = x if self.downsample is None else self.downsample(x)
        y = F.relu(self.bn1(self.conv1(x)))
        y = F.relu(self.bn2(self.conv2(y)))
        return F.relu(self.bn3(self.conv3(y)) + skip)


class Exchange(nn.Module):
    """One multi-resolution module: basic blocks per branch, then every branch gets the sum of all."""

    def __init__(self, channels, blocks: int):
        super().__init__()
        self.branches = nn.ModuleList(
            nn.Sequential(*[Basic(c, c) for _ in range(blocks)]) for c in channels)
        n = len(channels)
        self.fuse_layers = None
        if n > 1:
            rows = []
            for i in range(n):
                row = []
                for j in range(n):
                    if j > i:
                        row.append(nn.Sequential(nn.Conv2d(channels[j], channels[i], 1, bias=False),
                                                 _bn(channels[i])))
                    elif j == i:
                        row.append(None)
                    else:
                        steps = []
                        for k in range(i - j):
                            last = k == i - j - 1
                            out = channels[i] if last else channels[j]
                            layers = [nn.Conv2d(channels[j], out, 3, 2, 1, bias=False), _bn(out)]
                            if not last:
                                layers.append(nn.ReLU())
                            steps.append(nn.Sequential(*layers))
                        row.append(nn.Sequential(*steps))
                rows.append(nn.ModuleList(row))
            self.fuse_layers = nn.ModuleList(rows)

    def forward(self, xs):
        xs = [branch(x) for branch, x in zip(self.branches, xs)]
        if self.fuse_layers is None:
            return xs
        out = []
        for i, row in enumerate(self.fuse_layers):
            y = None
            for j, x in enumerate(xs):
                if j == i:
                    term = x
                elif j > i:
                    term = F.interpolate(row[j](x), size=xs[i].shape[2:], mode="bilinear",
                                         align_corners=False)
                else:
                    term = row[j](x)
                y = term if y is None else y + term
            out.append(F.relu(y))
        return out


class HRNetHeatmaps(nn.Module):
    """HRNetV2-W<width> with the calibration head; outputs [B, num_outputs, H/2, W/2]."""

    def __init__(self, width: int = 48, num_outputs: int = 58, activation: str = "softmax",
                 modules=(1, 4, 3), blocks: int = 4):
        super().__init__()
        self.activation = activation
        self.conv1 = nn.Conv2d(3, 64, 3, 2, 1, bias=False)
        self.bn1 = _bn(64)
        self.conv2 = nn.Conv2d(64, 64, 3, 2, 1, bias=False)
        self.bn2 = _bn(64)
        self.layer1 = nn.Sequential(Bottle(64, 64), *[Bottle(256, 64) for _ in range(3)])
        previous = [256]
        for stage, count in enumerate(modules, start=2):
            channels = [width * 2**b for b in range(stage)]
            transitions = []
            for b, c in enumerate(channels):
                if b < len(previous):
                    transitions.append(None if previous[b] == c else nn.Sequential(
                        nn.Conv2d(previous[b], c, 3, 1, 1, bias=False), _bn(c), nn.ReLU()))
                else:
                    transitions.append(nn.Sequential(nn.Sequential(
                        nn.Conv2d(previous[-1], c, 3, 2, 1, bias=False), _bn(c), nn.ReLU())))
            setattr(self, f"transition{stage - 1}", nn.ModuleList(transitions))
            setattr(self, f"stage{stage}", nn.Sequential(*[Exchange(channels, blocks) for _ in range(count)]))
            previous = channels
        total = sum(previous) + 64
        self.head = nn.Sequential(nn.Sequential(
            nn.Conv2d(total, total, 1), _bn(total), nn.ReLU(), nn.Conv2d(total, num_outputs, 1)))
        self.num_stages = len(modules)

    def forward(self, x):
        x = self.conv1(x)
        skip = x
        x = F.relu(self.bn1(x))
        x = F.relu(self.bn2(self.conv2(x)))
        xs = [self.layer1(x)]
        for stage in range(2, self.num_stages + 2):
            transitions = getattr(self, f"transition{stage - 1}")
            inputs = []
            for b, transition in enumerate(transitions):
                source = xs[b] if b < len(xs) else xs[-1]
                inputs.append(source if transition is None else transition(source))
            xs = getattr(self, f"stage{stage}")(inputs)
        size = xs[0].shape[2:]
        x = torch.cat([xs[0]] + [F.interpolate(y, size=size, mode="bilinear", align_corners=False)
                                 for y in xs[1:]], 1)
        x = torch.cat([F.interpolate(x, scale_factor=2, mode="nearest"), skip], 1)
        x = self.head(x)
        return torch.softmax(x, 1) if self.activation == "softmax" else torch.sigmoid(x)
