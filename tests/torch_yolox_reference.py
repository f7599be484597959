"""A PyTorch YOLOX with the official state-dict key names, for parity tests and benchmarks.

Written from the architecture of Megvii's YOLOX (`yolox/models/{network_blocks,darknet,
yolo_pafpn,yolo_head}.py`): `backbone.backbone.stem.conv.conv.weight`,
`backbone.backbone.dark2.0.dconv.bn.running_mean`, `backbone.C3_p4.m.0.conv1.conv.weight`,
`head.cls_convs.0.1.conv.weight`, `head.obj_preds.2.bias` ..., so its state dicts have the keys and
shapes of `yolox_*.pth` and ByteTrack's `bytetrack_*.pth.tar`. Inference only (eval mode returns the
decoded [batch, anchors, 5 + classes] as the official model does). Import it only after
`pytest.importorskip("torch")`.
"""

from __future__ import annotations

import torch
from torch import nn

SIZES = {"nano": (0.33, 0.25, True), "tiny": (0.33, 0.375, False), "s": (0.33, 0.50, False),
         "m": (0.67, 0.75, False), "l": (1.0, 1.0, False), "x": (1.33, 1.25, False)}


class BaseConv(nn.Module):
    def __init__(self, cin, cout, k, stride=1, groups=1):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, k, stride, (k - 1) // 2, groups=groups, bias=False)
        self.bn = nn.BatchNorm2d(cout, eps=1e-3, momentum=0.03)
        self.act = nn.SiLU()

    def forward(self, x):
        return self.act(self.bn(self.conv(x)))


class DWConv(nn.Module):
    def __init__(self, cin, cout, k, stride=1):
        super().__init__()
        self.dconv = BaseConv(cin, cin, k, stride, groups=cin)
        self.pconv = BaseConv(cin, cout, 1)

    def forward(self, x):
        return self.pconv(self.dconv(x))


def _conv3(cin, cout, stride, depthwise):
    return DWConv(cin, cout, 3, stride) if depthwise else BaseConv(cin, cout, 3, stride)


class Bottleneck(nn.Module):
    def __init__(self, cin, cout, shortcut, depthwise):
        super().__init__()
        self.conv1 = BaseConv(cin, cout, 1)
        self.conv2 = _conv3(cout, cout, 1, depthwise)
        self.use_add = shortcut and cin == cout

    def forward(self, x):
        y = self.conv2(self.conv1(x))
        return y + x if self.use_add else y


class CSPLayer(nn.Module):
    def __init__(self, cin, cout, n=1, shortcut=True, depthwise=False):
        super().__init__()
        hidden = int(cout * 0.5)
        self.conv1 = BaseConv(cin, hidden, 1)
        self.conv2 = BaseConv(cin, hidden, 1)
        self.conv3 = BaseConv(2 * hidden, cout, 1)
        self.m = nn.Sequential(*[Bottleneck(hidden, hidden, shortcut, depthwise) for _ in range(n)])

    def forward(self, x):
        return self.conv3(torch.cat([self.m(self.conv1(x)), self.conv2(x)], dim=1))


class SPPBottleneck(nn.Module):
    def __init__(self, cin, cout, kernels=(5, 9, 13)):
        super().__init__()
        self.conv1 = BaseConv(cin, cin // 2, 1)
        self.m = nn.ModuleList([nn.MaxPool2d(k, 1, k // 2) for k in kernels])
        self.conv2 = BaseConv(cin // 2 * (len(kernels) + 1), cout, 1)

    def forward(self, x):
        x = self.conv1(x)
        return self.conv2(torch.cat([x] + [m(x) for m in self.m], dim=1))


class Focus(nn.Module):
    def __init__(self, cin, cout, k=3):
        super().__init__()
        self.conv = BaseConv(cin * 4, cout, k)

    def forward(self, x):
        return self.conv(torch.cat(
            [x[..., ::2, ::2], x[..., 1::2, ::2], x[..., ::2, 1::2], x[..., 1::2, 1::2]], dim=1))


class CSPDarknet(nn.Module):
    def __init__(self, depth, width, depthwise):
        super().__init__()
        c, n = int(width * 64), max(round(depth * 3), 1)
        self.stem = Focus(3, c)
        self.dark2 = nn.Sequential(_conv3(c, 2 * c, 2, depthwise), CSPLayer(2 * c, 2 * c, n, depthwise=depthwise))
        self.dark3 = nn.Sequential(_conv3(2 * c, 4 * c, 2, depthwise), CSPLayer(4 * c, 4 * c, 3 * n, depthwise=depthwise))
        self.dark4 = nn.Sequential(_conv3(4 * c, 8 * c, 2, depthwise), CSPLayer(8 * c, 8 * c, 3 * n, depthwise=depthwise))
        self.dark5 = nn.Sequential(_conv3(8 * c, 16 * c, 2, depthwise), SPPBottleneck(16 * c, 16 * c),
                                   CSPLayer(16 * c, 16 * c, n, shortcut=False, depthwise=depthwise))

    def forward(self, x):
        x = self.dark2(self.stem(x))
        d3 = self.dark3(x)
        d4 = self.dark4(d3)
        return d3, d4, self.dark5(d4)


class YOLOPAFPN(nn.Module):
    def __init__(self, depth, width, depthwise):
        super().__init__()
        self.backbone = CSPDarknet(depth, width, depthwise)
        c3, c4, c5 = (int(ch * width) for ch in (256, 512, 1024))
        n = round(3 * depth)
        self.upsample = nn.Upsample(scale_factor=2, mode="nearest")
        self.lateral_conv0 = BaseConv(c5, c4, 1)
        self.C3_p4 = CSPLayer(2 * c4, c4, n, False, depthwise)
        self.reduce_conv1 = BaseConv(c4, c3, 1)
        self.C3_p3 = CSPLayer(2 * c3, c3, n, False, depthwise)
        self.bu_conv2 = _conv3(c3, c3, 2, depthwise)
        self.C3_n3 = CSPLayer(2 * c3, c4, n, False, depthwise)
        self.bu_conv1 = _conv3(c4, c4, 2, depthwise)
        self.C3_n4 = CSPLayer(2 * c4, c5, n, False, depthwise)

    def forward(self, x):
        x2, x1, x0 = self.backbone(x)
        fpn_out0 = self.lateral_conv0(x0)
        f_out0 = self.C3_p4(torch.cat([self.upsample(fpn_out0), x1], 1))
        fpn_out1 = self.reduce_conv1(f_out0)
        pan_out2 = self.C3_p3(torch.cat([self.upsample(fpn_out1), x2], 1))
        pan_out1 = self.C3_n3(torch.cat([self.bu_conv2(pan_out2), fpn_out1], 1))
        pan_out0 = self.C3_n4(torch.cat([self.bu_conv1(pan_out1), fpn_out0], 1))
        return pan_out2, pan_out1, pan_out0


class YOLOXHead(nn.Module):
    def __init__(self, num_classes, width, depthwise, strides=(8, 16, 32)):
        super().__init__()
        hidden = int(256 * width)
        self.strides = strides
        self.stems, self.cls_convs, self.reg_convs = nn.ModuleList(), nn.ModuleList(), nn.ModuleList()
        self.cls_preds, self.reg_preds, self.obj_preds = nn.ModuleList(), nn.ModuleList(), nn.ModuleList()
        for ch in (256, 512, 1024):
            self.stems.append(BaseConv(int(ch * width), hidden, 1))
            self.cls_convs.append(nn.Sequential(_conv3(hidden, hidden, 1, depthwise), _conv3(hidden, hidden, 1, depthwise)))
            self.reg_convs.append(nn.Sequential(_conv3(hidden, hidden, 1, depthwise), _conv3(hidden, hidden, 1, depthwise)))
            self.cls_preds.append(nn.Conv2d(hidden, num_classes, 1))
            self.reg_preds.append(nn.Conv2d(hidden, 4, 1))
            self.obj_preds.append(nn.Conv2d(hidden, 1, 1))

    def forward(self, features):
        outputs, grids, strides = [], [], []
        for k, x in enumerate(features):
            x = self.stems[k](x)
            cls = self.cls_preds[k](self.cls_convs[k](x))
            reg_feat = self.reg_convs[k](x)
            out = torch.cat([self.reg_preds[k](reg_feat), self.obj_preds[k](reg_feat).sigmoid(), cls.sigmoid()], 1)
            h, w = out.shape[-2:]
            yv, xv = torch.meshgrid(torch.arange(h), torch.arange(w), indexing="ij")
            grids.append(torch.stack((xv, yv), 2).view(1, -1, 2))
            strides.append(torch.full((1, h * w, 1), self.strides[k]))
            outputs.append(out.flatten(start_dim=2))
        out = torch.cat(outputs, dim=2).permute(0, 2, 1)
        grid, stride = torch.cat(grids, 1).to(out.dtype), torch.cat(strides, 1).to(out.dtype)
        return torch.cat([(out[..., :2] + grid) * stride, torch.exp(out[..., 2:4]) * stride, out[..., 4:]], -1)


class YOLOX(nn.Module):
    def __init__(self, size="s", num_classes=80):
        super().__init__()
        depth, width, depthwise = SIZES[size]
        self.backbone = YOLOPAFPN(depth, width, depthwise)
        self.head = YOLOXHead(num_classes, width, depthwise)

    def forward(self, x):
        return self.head(self.backbone(x))


def parameter_count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
