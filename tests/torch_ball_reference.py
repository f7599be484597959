"""PyTorch reference networks for ball action spotting, for conversion/parity tests and benchmarks.

- `RegNetY`: timm's RegNetY with exactly timm's state-dict keys (`stem.conv.weight`,
  `s1.b1.conv1.bn.running_mean`, `s1.b1.se.fc1.weight`, `s2.b1.downsample.conv.weight`,
  `head.fc.weight` ...), written from timm's `models/regnet.py` and `layers/` (ConvNormAct,
  SEModule, ClassifierHead). With a temporal shift, each shifted block has an extra `shift`
  module run before `conv1` (E2E-Spot and T-DEED wrap `conv1` instead; only the keys differ).
- `GateShift` (GSM / GSF) and `tsm_shift` in NCHW on [batch * clip_len, c, h, w].
- `E2ESpot` (RegNetY + GSM, nn.GRU, dropout, Linear) and `TDEED` (RegNetY + GSF in s3-s4,
  temporal encoding, the SGP-Mixer encoder-decoder in [batch, dim, time] layout with
  depthwise Conv1d as in T-DEED, heads).

Module names equal the Flax modules' of zoo.models (`gru`, `classifier`, `temporal.sgp_0.branches.psi`,
`class_head.fc` ...), so `flax_variables` maps a state dict onto the Flax tree by name. torch is
imported here: import this module only after `pytest.importorskip("torch")`.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

# ----------------------------------------------------------------------------- RegNetY (timm keys)


class ConvNormAct(nn.Module):
    def __init__(self, cin, cout, kernel=1, stride=1, groups=1, act=True):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, kernel, stride=stride, padding=((stride - 1) + (kernel - 1)) // 2,
                              groups=groups, bias=False)
        self.bn = nn.BatchNorm2d(cout)
        self.act = act

    def forward(self, x):
        x = self.bn(self.conv(x))
        return F.relu(x) if self.act else x


class SEModule(nn.Module):
    def __init__(self, channels, reduced):
        super().__init__()
        self.fc1 = nn.Conv2d(channels, reduced, 1)
        self.fc2 = nn.Conv2d(reduced, channels, 1)

    def forward(self, x):
        gate = self.fc2(F.relu(self.fc1(x.mean((2, 3), keepdim=True))))
        return x * torch.sigmoid(gate)


def tsm_shift(x, clip_len, fold_div=8):
    """TSM on [batch * clip_len, c, h, w]: channels [0, f) from t + 1, [f, 2f) from t - 1."""
    nt, c, h, w = x.shape
    x = x.view(nt // clip_len, clip_len, c, h, w)
    fold = c // fold_div
    out = torch.zeros_like(x)
    out[:, :-1, :fold] = x[:, 1:, :fold]
    out[:, 1:, fold:2 * fold] = x[:, :-1, fold:2 * fold]
    out[:, :, 2 * fold:] = x[:, :, 2 * fold:]
    return out.view(nt, c, h, w)


class GateShift(nn.Module):
    """GSM (fuse=False) or GSF (fuse=True) on the first `fold` channels, NCHW."""

    def __init__(self, channels, clip_len, fuse):
        super().__init__()
        self.fold = math.ceil(channels // 4 / 4) * 4
        self.clip_len = clip_len
        self.fuse = fuse
        self.bn = nn.BatchNorm3d(self.fold)
        self.gate = nn.Conv3d(self.fold, 2, 3, padding=1, groups=2)
        if fuse:
            self.fuse_first = nn.Conv2d(2, 1, 3, padding=1)
            self.fuse_second = nn.Conv2d(2, 1, 3, padding=1)
        else:
            nn.init.zeros_(self.gate.weight)
            nn.init.zeros_(self.gate.bias)

    @staticmethod
    def _interleave(y):  # [b, c, t, h, w]: channel a * c/2 + q -> 2 q + a
        b, c, t, h, w = y.shape
        return y.view(b, 2, c // 2, t, h, w).transpose(1, 2).reshape(b, c, t, h, w)

    def _fused(self, shifted, residual, conv):
        means = torch.stack([shifted.mean((3, 4)), residual.mean((3, 4))], dim=1)  # [b, 2, c, t]
        weight = torch.sigmoid(conv(means))[:, 0, :, :, None, None]  # [b, c, t, 1, 1]
        return shifted * weight + residual * (1 - weight)

    def forward(self, x_full):
        nt, _, h, w = x_full.shape
        b, half = nt // self.clip_len, self.fold // 2
        x = x_full[:, :self.fold].reshape(b, self.clip_len, self.fold, h, w).permute(0, 2, 1, 3, 4)
        gate = torch.tanh(self.gate(F.relu(self.bn(x))))
        first, second = x[:, :half], x[:, half:]
        gated_first, gated_second = gate[:, :1] * first, gate[:, 1:] * second
        shifted_first = F.pad(gated_first[:, :, 1:], (0, 0, 0, 0, 0, 1))
        shifted_second = F.pad(gated_second[:, :, :-1], (0, 0, 0, 0, 1, 0))
        residual_first, residual_second = first - gated_first, second - gated_second
        if self.fuse:
            out_first = self._fused(shifted_first, residual_first, self.fuse_first)
            out_second = self._fused(shifted_second, residual_second, self.fuse_second)
        else:
            out_first, out_second = shifted_first + residual_first, shifted_second + residual_second
        out = torch.cat([self._interleave(out_first), self._interleave(out_second)], dim=1)
        out = out.permute(0, 2, 1, 3, 4).reshape(nt, self.fold, h, w)
        return torch.cat([out, x_full[:, self.fold:]], dim=1)


class Bottleneck(nn.Module):
    def __init__(self, cin, cout, stride, group_size, se_ratio=0.25, shift="none", clip_len=1):
        super().__init__()
        self.shift_kind, self.clip_len = shift, clip_len
        if shift in ("gsm", "gsf"):
            self.shift = GateShift(cin, clip_len, fuse=shift == "gsf")
        self.conv1 = ConvNormAct(cin, cout, 1)
        self.conv2 = ConvNormAct(cout, cout, 3, stride, groups=cout // group_size)
        self.se = SEModule(cout, round(cin * se_ratio))
        self.conv3 = ConvNormAct(cout, cout, 1, act=False)
        self.downsample = ConvNormAct(cin, cout, 1, stride, act=False) if stride != 1 or cin != cout else None

    def forward(self, x):
        shortcut = x
        if self.shift_kind == "tsm":
            x = tsm_shift(x, self.clip_len)
        elif self.shift_kind in ("gsm", "gsf"):
            x = self.shift(x)
        x = self.conv3(self.se(self.conv2(self.conv1(x))))
        if self.downsample is not None:
            shortcut = self.downsample(shortcut)
        return F.relu(x + shortcut)


class RegStage(nn.Sequential):
    def __init__(self, cin, cout, depth, group_size, shift, clip_len):
        super().__init__()
        for i in range(depth):
            self.add_module(f"b{i + 1}", Bottleneck(cin if i == 0 else cout, cout, 2 if i == 0 else 1,
                                                    min(group_size, cout), shift=shift, clip_len=clip_len))


class ClassifierHead(nn.Module):
    def __init__(self, features, num_classes):
        super().__init__()
        self.fc = nn.Linear(features, num_classes) if num_classes else nn.Identity()

    def forward(self, x, pre_logits=False):
        x = x.mean((2, 3))
        return x if pre_logits else self.fc(x)


class RegNetY(nn.Module):
    """timm's RegNetY (`widths`/`depths`/`group_size` as zoo.models.regnet.RegNetSpec)."""

    def __init__(self, widths=(24, 56, 152, 368), depths=(1, 1, 4, 7), group_size=8, num_classes=1000,
                 shift="none", shift_stages=(1, 2, 3, 4), clip_len=1):
        super().__init__()
        self.stem = ConvNormAct(3, 32, 3, 2)
        cin = 32
        for i, (width, depth) in enumerate(zip(widths, depths), start=1):
            self.add_module(f"s{i}", RegStage(cin, width, depth, group_size,
                                              shift if i in shift_stages else "none", clip_len))
            cin = width
        self.final_conv = nn.Identity()
        self.head = ClassifierHead(cin, num_classes)
        self.num_features = cin
        for m in self.modules():  # timm's _init_weights with zero_init_last
            if isinstance(m, nn.Conv2d):
                fan_out = m.kernel_size[0] * m.kernel_size[1] * m.out_channels // m.groups
                m.weight.data.normal_(0, math.sqrt(2.0 / fan_out))
                if m.bias is not None:
                    m.bias.data.zero_()
            elif isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, 0.0, 0.01)
                nn.init.zeros_(m.bias)
            elif isinstance(m, Bottleneck):
                nn.init.zeros_(m.conv3.bn.weight)

    def forward_features(self, x):
        x = self.stem(x)
        x = self.s4(self.s3(self.s2(self.s1(x))))
        return self.final_conv(x)

    def forward(self, x, pre_logits=False):
        return self.head(self.forward_features(x), pre_logits=pre_logits)


REGNETY_002 = {"widths": (24, 56, 152, 368), "depths": (1, 1, 4, 7), "group_size": 8}
REGNETY_008 = {"widths": (64, 128, 320, 768), "depths": (1, 3, 8, 2), "group_size": 16}


# ----------------------------------------------------------------------------- E2E-Spot


class E2ESpot(nn.Module):
    """RegNetY + GSM/TSM in every block, bidirectional nn.GRU, dropout 0.5, Linear to K + 1."""

    def __init__(self, num_classes, clip_len, regnet=REGNETY_002, shift="gsm", hidden_dim=0, gru_layers=1):
        super().__init__()
        self.backbone = RegNetY(**regnet, num_classes=0, shift=shift, clip_len=clip_len)
        dim = self.backbone.num_features
        hidden = hidden_dim or min(dim, 768)
        self.gru = nn.GRU(dim, hidden, num_layers=gru_layers, batch_first=True, bidirectional=True)
        self.dropout = nn.Dropout()
        self.classifier = nn.Linear(2 * hidden, num_classes + 1)

    def forward(self, frames):  # [b, t, 3, h, w]
        b, t = frames.shape[:2]
        features = self.backbone(frames.flatten(0, 1), pre_logits=True).view(b, t, -1)
        states, _ = self.gru(features)
        return {"class_logits": self.classifier(self.dropout(states))}


# ----------------------------------------------------------------------------- T-DEED (SGP in [b, c, t])


def depthwise(dim, kernel, std=0.1):
    conv = nn.Conv1d(dim, dim, kernel, padding=kernel // 2, groups=dim)
    nn.init.normal_(conv.weight, 0, std)
    nn.init.zeros_(conv.bias)
    return conv


class ChannelLayerNorm(nn.Module):
    """LayerNorm over the channels of [b, c, t] (T-DEED's LayerNorm; weight/bias of shape [c])."""

    def __init__(self, dim):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))
        self.bias = nn.Parameter(torch.zeros(dim))

    def forward(self, x):
        mu = x.mean(1, keepdim=True)
        var = ((x - mu) ** 2).mean(1, keepdim=True)
        return (x - mu) / torch.sqrt(var + 1e-5) * self.weight[:, None] + self.bias[:, None]


class FeedForward(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.gn = nn.GroupNorm(16, dim)
        self.mlp_0 = nn.Conv1d(dim, 4 * dim, 1)
        self.mlp_2 = nn.Conv1d(4 * dim, dim, 1)

    def forward(self, x):
        return self.mlp_2(F.gelu(self.mlp_0(self.gn(x))))


class SGPBranches(nn.Module):
    def __init__(self, dim, kernel, r):
        super().__init__()
        wide = round((kernel + 1) * r)
        wide = wide + 1 if wide % 2 == 0 else wide
        self.psi, self.convw, self.convkw = depthwise(dim, kernel), depthwise(dim, kernel), depthwise(dim, wide)
        self.fc, self.global_fc = depthwise(dim, 1), depthwise(dim, 1)

    def forward(self, x):
        window = (self.convw(x) + self.convkw(x)) * self.psi(x)
        instant = self.fc(x) * F.relu(self.global_fc(x.mean(-1, keepdim=True)))
        return window, instant


class SGPBlock(nn.Module):
    def __init__(self, dim, kernel, r):
        super().__init__()
        self.ln = ChannelLayerNorm(dim)
        self.branches = SGPBranches(dim, kernel, r)
        self.ffn = FeedForward(dim)

    def forward(self, x):
        normed = self.ln(x)
        window, instant = self.branches(normed)
        out = x + instant + window + normed
        return out + self.ffn(out)


class SGPMixer(nn.Module):
    def __init__(self, dim, kernel, r):
        super().__init__()
        self.ln_skip, self.ln_coarse = ChannelLayerNorm(dim), ChannelLayerNorm(dim)
        self.branches_skip, self.branches_coarse = SGPBranches(dim, kernel, r), SGPBranches(dim, kernel, r)
        self.concat_fc = nn.Conv1d(6 * dim, dim, 1)
        nn.init.normal_(self.concat_fc.weight, 0, 0.1)
        nn.init.zeros_(self.concat_fc.bias)
        self.ffn = FeedForward(dim)

    def forward(self, coarse, skip):
        skip = self.ln_skip(skip)
        coarse = F.interpolate(self.ln_coarse(coarse), size=skip.shape[-1], mode="linear", align_corners=True)
        window_skip, instant_skip = self.branches_skip(skip)
        window_coarse, instant_coarse = self.branches_coarse(coarse)
        out = F.gelu(self.concat_fc(torch.cat(
            [window_skip, window_coarse, instant_skip, instant_coarse, skip, coarse], dim=1)))
        return out + self.ffn(out)


class SGPEncoderDecoder(nn.Module):
    def __init__(self, dim, num_layers=2, kernel=9, r=4.0):
        super().__init__()
        self.num_layers = num_layers
        for i in range(2 * num_layers + 1):
            self.add_module(f"sgp_{i}", SGPBlock(dim, kernel, r))
        for level in range(num_layers):
            self.add_module(f"mixer_{level}", SGPMixer(dim, kernel, r))

    def forward(self, x):  # [b, c, t]
        skips = []
        for level in range(self.num_layers):
            x = getattr(self, f"sgp_{level}")(x)
            skips.append(x)
            x = F.adaptive_max_pool1d(x, math.ceil(x.shape[-1] / 2))
        x = getattr(self, f"sgp_{self.num_layers}")(x)
        for step, level in enumerate(reversed(range(self.num_layers))):
            x = getattr(self, f"mixer_{level}")(x, skips[level])
            x = getattr(self, f"sgp_{self.num_layers + 1 + step}")(x)
        return x


class FrameHead(nn.Module):
    def __init__(self, dim, outputs):
        super().__init__()
        self.dropout = nn.Dropout()
        self.fc = nn.Linear(dim, outputs)

    def forward(self, x):
        return self.fc(self.dropout(x))


class TDEED(nn.Module):
    """RegNetY + GSF (s3, s4), temporal encoding, SGP-Mixer encoder-decoder, three heads."""

    def __init__(self, num_classes, clip_len, regnet=REGNETY_002, shift="gsf", n_layers=2, sgp_kernel=9, sgp_r=4.0,
                 displacement=True, team_head=True):
        super().__init__()
        self.backbone = RegNetY(**regnet, num_classes=0, shift=shift, shift_stages=(3, 4), clip_len=clip_len)
        dim = self.backbone.num_features
        self.temporal_encoding = nn.Parameter(torch.randn(clip_len, dim) / clip_len)
        self.temporal = SGPEncoderDecoder(dim, n_layers, sgp_kernel, sgp_r)
        self.class_head = FrameHead(dim, num_classes + 1)
        self.displacement_head = FrameHead(dim, 1) if displacement else None
        self.team_head = FrameHead(dim, 1) if team_head else None

    def forward(self, frames):  # [b, t, 3, h, w]
        b, t = frames.shape[:2]
        features = self.backbone(frames.flatten(0, 1), pre_logits=True).view(b, t, -1) + self.temporal_encoding
        features = self.temporal(features.transpose(1, 2)).transpose(1, 2)
        outputs = {"class_logits": self.class_head(features)}
        if self.displacement_head is not None:
            outputs["displacement"] = self.displacement_head(features)[..., 0]
        if self.team_head is not None:
            outputs["team_logits"] = self.team_head(features)[..., 0]
        return outputs


# ----------------------------------------------------------------------------- helpers for tests


def randomise_batch_norms(module: nn.Module, seed: int = 0) -> nn.Module:
    """Random BN affine parameters and running statistics (fresh BN is the identity in eval mode),
    and a halved last BN of each residual branch, so outputs stay O(1) and every tensor matters."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, m in module.named_modules():
            if isinstance(m, nn.modules.batchnorm._BatchNorm):
                scale = 0.5 if name.endswith(("conv3.bn", "downsample.bn")) else 1.0
                m.weight.copy_(scale * (0.8 + 0.4 * torch.rand(m.weight.shape, generator=generator)))
                m.bias.copy_(0.1 * torch.randn(m.bias.shape, generator=generator))
                m.running_mean.copy_(0.1 * torch.randn(m.running_mean.shape, generator=generator))
                m.running_var.copy_(0.5 + torch.rand(m.running_var.shape, generator=generator))
    return module


def calibrate_batch_norms(module: nn.Module, inputs: torch.Tensor) -> nn.Module:
    """Sets every BN's running statistics from one training-mode pass over `inputs` (so
    activations stay O(1) in eval mode). Returns the module in eval mode."""
    norms = [m for m in module.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    with torch.no_grad():
        for m in norms:
            m.reset_running_stats()
            m.momentum = None  # cumulative average: one batch sets the statistics exactly
        module.train()
        module(inputs)
        for m in norms:
            m.momentum = 0.1
    return module.eval()


_LEAF = {"kernel": "weight", "scale": "weight", "bias": "bias", "mean": "running_mean", "var": "running_var"}
_GRU = {"input_kernel": "weight_ih", "input_bias": "bias_ih", "recurrent_kernel": "weight_hh", "recurrent_bias": "bias_hh"}


def _flax_layout(value: np.ndarray, want_shape: tuple[int, ...]) -> np.ndarray:
    """A PyTorch tensor in the layout of the Flax leaf of shape `want_shape`."""
    if value.ndim == 2 and len(want_shape) == 2:  # Linear
        return value.T
    if value.ndim >= 3 and len(want_shape) == value.ndim:  # ConvNd [out, in/g, *k] -> [*k, in/g, out]
        return np.transpose(value, (*range(2, value.ndim), 1, 0))
    if value.ndim == 4 and len(want_shape) == 2:  # 1x1 Conv2d (SE) -> Dense
        return value[:, :, 0, 0].T
    if value.ndim == 3 and len(want_shape) == 2:  # width-1 Conv1d (MLP) -> Dense
        return value[:, :, 0].T
    return value


def flax_variables(module: nn.Module, abstract: dict) -> dict:
    """The state dict of an E2ESpot / TDEED / RegNetY reference as the Flax variables of the zoo's
    model with the same names; `abstract` is the model's variables (or their shapes)."""
    from flax import traverse_util

    state = {k: v.detach().numpy().copy() for k, v in module.state_dict().items()}  # no shared memory
    out = {}
    for collection, tree in abstract.items():
        flat = {}
        for path, leaf in traverse_util.flatten_dict(tree).items():
            *mods, name = path
            if name in _GRU:  # gru/l<k>_<direction>/<leaf> -> gru.<weight>_l<k>[_reverse]
                layer, direction = mods[-1].split("_")
                key = f"gru.{_GRU[name]}_{layer}" + ("_reverse" if direction == "backward" else "")
            elif not mods:  # a bare parameter (temporal_encoding): same name, same layout
                key = name
            else:
                key = ".".join([*mods, _LEAF[name]])
            value = state[key] if not mods else _flax_layout(state[key], tuple(leaf.shape))
            assert value.shape == tuple(leaf.shape), (key, value.shape, leaf.shape)
            flat[path] = value
        out[collection] = traverse_util.unflatten_dict(flat)
    return out
