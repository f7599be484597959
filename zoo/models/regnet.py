"""RegNetY as timm builds it (`regnety_002`, `regnety_008`), with optional temporal shifts.

Radosavovic et al., "Designing Network Design Spaces", CVPR 2020. A RegNetY is a stem (3x3
stride-2 conv, 32 channels) and four stages of Y blocks: 1x1 conv -> grouped 3x3 conv (the
stride) -> squeeze-excitation -> 1x1 conv, plus the shortcut (a strided 1x1 conv + BN whenever
the shape changes), ReLU after the sum. Stage widths and depths come from the quantised linear
rule (w0, wa, wm, depth) exactly as timm's `generate_regnet` / `adjust_widths_groups_comp` compute
them; the SE bottleneck is round(0.25 * block input channels), as in timm.

Module names mirror timm's state-dict keys (`s2/b1/conv2/conv` is `s2.b1.conv2.conv`, `se/fc1`
is `se.fc1`, `downsample/bn` is `downsample.bn`), so `zoo.convert.timm_regnet` maps weights by
renaming. Convolutions pad symmetrically as PyTorch does; BatchNorm eps 1e-5, momentum 0.1
(flax 0.9); the grouped 3x3 convs are computed by `zoo.models.grouped_conv` (fast gradients on
CPU). Initialisation follows timm (conv normal with std sqrt(2 / fan_out), fan_out divided
by the groups; the last BN of each residual branch starts at zero).

Temporal shifts (zoo.models.temporal_shift) go in front of each block's `conv1` of the stages in
`shift_stages`, as E2E-Spot (`make_temporal_shift`: every block of s1-s4) and T-DEED (s3-s4)
insert them. The block sees frames [batch * clip_len, ...] and needs `clip_len`.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from zoo.models.grouped_conv import GroupedConv
from zoo.models.precision import compute_dtype
from zoo.models.remat import maybe_remat
from zoo.models.resnet import batch_norm, conv
from zoo.models.temporal_shift import GateShift, check_shift, tsm_shift

# ImageNet statistics of RGB in [0, 1], as timm's RegNet weights expect.
IMAGENET_MEAN = np.array([0.485, 0.456, 0.406], np.float32)
IMAGENET_STD = np.array([0.229, 0.224, 0.225], np.float32)


@dataclasses.dataclass(frozen=True)
class RegNetSpec:
    """Stage widths and depths of a RegNetY (4 stages), its group width and stem width.

    `from_design` derives them from the design-space parameters as timm does.
    """

    widths: tuple[int, ...]
    depths: tuple[int, ...]
    group_size: int
    se_ratio: float = 0.25
    stem_width: int = 32

    @classmethod
    def from_design(cls, w0: int, wa: float, wm: float, depth: int, group_size: int, quant: int = 8) -> RegNetSpec:
        """Per-block widths w0 + wa * i, snapped to w0 * wm^round(log_wm(.)), quantised to `quant`;
        equal widths form a stage; each width is then rounded to a multiple of its group width.
        float32 arithmetic as in timm (which computes it with torch float32 tensors)."""
        continuous = np.arange(depth, dtype=np.float32) * np.float32(wa) + np.float32(w0)
        exponents = np.round(np.log(continuous / np.float32(w0)) / np.float32(math.log(wm)))
        block_widths = np.round(np.float32(w0) * np.power(np.float32(wm), exponents) / quant) * quant
        stage_widths, stage_depths = np.unique(block_widths.astype(np.int64), return_counts=True)
        widths = []
        for width in stage_widths.tolist():
            group = min(group_size, width)
            widths.append(int(round(width / group) * group))
        return cls(tuple(widths), tuple(int(d) for d in stage_depths), group_size)

    @property
    def num_features(self) -> int:
        return self.widths[-1]


# timm's `model_cfgs` for the two RegNetYs the ball-spotting baselines use.
REGNETY = {
    "regnety_002": RegNetSpec.from_design(w0=24, wa=36.44, wm=2.49, depth=13, group_size=8),
    "regnety_008": RegNetSpec.from_design(w0=56, wa=38.84, wm=2.4, depth=14, group_size=16),
    # A small RegNetY of the zoo's for tests and CPU runs on the synthetic data (not a timm model).
    "regnety_micro": RegNetSpec(widths=(16, 24, 48, 96), depths=(1, 1, 2, 1), group_size=8, stem_width=16),
}


def regnet_spec(backbone: str | RegNetSpec) -> RegNetSpec:
    """The spec of a backbone name (a key of REGNETY) or the spec itself (tests use small ones)."""
    if isinstance(backbone, RegNetSpec):
        return backbone
    if backbone not in REGNETY:
        raise ValueError(f"Unknown backbone {backbone!r}; expected one of {', '.join(REGNETY)}.")
    return REGNETY[backbone]


class ConvNormAct(nn.Module):
    """timm's ConvNormAct: a bias-free conv (`conv`), BatchNorm (`bn`), maybe a ReLU.

    Call: x [n, h, w, in] -> [n, ceil(h / stride), ceil(w / stride), features].
    """

    features: int
    kernel: int = 1
    stride: int = 1
    groups: int = 1
    act: bool = True
    zero_init_norm: bool = False  # timm's zero_init_last for the residual branch's last BN

    @nn.compact
    def __call__(self, x: jax.Array, *, train: bool) -> jax.Array:
        if self.groups == 1:
            x = conv(self.features, self.kernel, self.stride, name="conv")(x)
        else:  # timm divides fan_out by the groups: the variance scale grows by as much
            x = GroupedConv(
                self.features, (self.kernel, self.kernel), strides=(self.stride, self.stride), groups=self.groups,
                method="native_forward", name="conv",
                kernel_init=nn.initializers.variance_scaling(2.0 * self.groups, "fan_out", "normal"),
            )(x)
        if self.zero_init_norm:
            x = nn.BatchNorm(use_running_average=not train, momentum=0.9, epsilon=1e-5,
                             scale_init=nn.initializers.zeros, name="bn")(x)
        else:
            x = batch_norm(train, "bn")(x)
        return nn.relu(x) if self.act else x


class SqueezeExcite(nn.Module):
    """timm's SEModule: mean over space -> fc1 (ReLU) -> fc2 (sigmoid) -> channel gates.

    fc1/fc2 are 1x1 convs with bias on a 1x1 map in timm, Dense layers here.
    Call: x [n, h, w, c] -> [n, h, w, c].
    """

    reduced: int

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        init = nn.initializers.variance_scaling(2.0, "fan_out", "normal")
        squeezed = x.mean(axis=(1, 2))
        squeezed = nn.relu(nn.Dense(self.reduced, kernel_init=init, name="fc1")(squeezed))
        gates = jax.nn.sigmoid(nn.Dense(x.shape[-1], kernel_init=init, name="fc2")(squeezed))
        return x * gates[:, None, None, :]


class YBlock(nn.Module):
    """timm's RegNet `Bottleneck` (bottle ratio 1) with SE, and an optional temporal shift.

    Attributes:
      features: output channels (also the bottleneck width).
      stride: of the grouped 3x3 conv and the shortcut.
      group_size: channels per group of the 3x3 conv.
      se_ratio: SE width relative to the block's input channels.
      shift: temporal shift in front of conv1: "none", "tsm", "gsm" or "gsf" (module `shift`).

    Call: x [batch * clip_len, h, w, in], clip_len -> [batch * clip_len, h / stride, w / stride, features].
    """

    features: int
    stride: int = 1
    group_size: int = 8
    se_ratio: float = 0.25
    shift: str = "none"

    @nn.compact
    def __call__(self, x: jax.Array, clip_len: int, train: bool) -> jax.Array:
        shortcut = x
        if self.shift == "tsm":
            x = tsm_shift(x, clip_len)
        elif self.shift in ("gsm", "gsf"):
            x = GateShift(fuse=self.shift == "gsf", name="shift")(x, clip_len, train=train)
        y = ConvNormAct(self.features, 1, name="conv1")(x, train=train)
        y = ConvNormAct(self.features, 3, self.stride, groups=self.features // self.group_size,
                        name="conv2")(y, train=train)
        y = SqueezeExcite(round(shortcut.shape[-1] * self.se_ratio), name="se")(y)
        y = ConvNormAct(self.features, 1, act=False, zero_init_norm=True, name="conv3")(y, train=train)
        if self.stride != 1 or shortcut.shape[-1] != self.features:
            shortcut = ConvNormAct(self.features, 1, self.stride, act=False, name="downsample")(
                shortcut, train=train)
        return nn.relu(y + shortcut)


class RegStage(nn.Module):
    """Blocks `b1` ... `b<depth>`; the first one strides by 2.

    Call: x [n, h, w, in], clip_len -> [n, h / 2, w / 2, features].
    """

    features: int
    depth: int
    group_size: int
    se_ratio: float = 0.25
    shift: str = "none"
    remat: bool = False

    @nn.compact
    def __call__(self, x: jax.Array, clip_len: int, *, train: bool) -> jax.Array:
        block = maybe_remat(YBlock, self.remat, static_argnums=(2, 3))
        for index in range(self.depth):
            x = block(self.features, 2 if index == 0 else 1, self.group_size, self.se_ratio, self.shift,
                      name=f"b{index + 1}")(x, clip_len, train)
        return x


class RegNetY(nn.Module):
    """A RegNetY trunk with global average pooling: timm's `forward_head(pre_logits=True)`.

    Attributes:
      spec: "regnety_002", "regnety_008" or a RegNetSpec.
      temporal_shift: "none", "tsm", "gsm" or "gsf", in front of conv1 of every block of
        `shift_stages` (1-based stage numbers).
      shift_stages: stages that get the shift; E2E-Spot shifts in all four, T-DEED in 3 and 4.
      remat: recompute each block in the backward pass (zoo.models.remat).

    Call: frames [n, height, width, 3] (ImageNet-normalised float, or uint8 RGB, normalised here;
      n = batch * clip_len, clip by clip),
      clip_len (frames per clip; 1 or anything dividing n when there is no shift) ->
      pooled features [n, spec.num_features].
    """

    spec: str | RegNetSpec = "regnety_002"
    temporal_shift: str = "none"
    shift_stages: Sequence[int] = (1, 2, 3, 4)
    remat: bool = False

    @nn.compact
    def __call__(self, frames: jax.Array, clip_len: int = 1, *, train: bool) -> jax.Array:
        spec = regnet_spec(self.spec)
        check_shift(self.temporal_shift)
        if frames.dtype == jnp.uint8:
            # Frames straight from the decoder: normalised on the device, so batches travel as
            # uint8 (a quarter of float32's bytes) from the input pipeline to the accelerators.
            frames = (frames.astype(jnp.float32) / 255.0 - IMAGENET_MEAN) / IMAGENET_STD
            frames = frames.astype(compute_dtype())
        if len(spec.widths) != 4 or len(spec.depths) != 4:
            raise ValueError(f"A RegNet has 4 stages; {spec} has {len(spec.widths)}.")
        x = ConvNormAct(spec.stem_width, 3, 2, name="stem")(frames, train=train)
        for stage, (width, depth) in enumerate(zip(spec.widths, spec.depths), start=1):
            shift = self.temporal_shift if stage in self.shift_stages else "none"
            x = RegStage(width, depth, min(spec.group_size, width), spec.se_ratio, shift, self.remat,
                         name=f"s{stage}")(x, clip_len, train=train)
        return jnp.mean(x, axis=(1, 2))

