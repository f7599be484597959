"""YOLOX (Ge et al., "YOLOX: Exceeding YOLO Series in 2021"): CSPDarknet, PAFPN, decoupled head.

Sizes by depth / width multipliers, as the official experiments define them:

  nano  0.33 / 0.25 (depthwise convolutions)    tiny 0.33 / 0.375    s 0.33 / 0.50
  m     0.67 / 0.75    l 1.0 / 1.0    x 1.33 / 1.25   (SoccerNet's ByteTrack baseline: x, 1 class)

Module names mirror the official PyTorch state-dict keys with `.` before an index turned into `_`
(`backbone.backbone.dark2.0.conv.weight` is `backbone/backbone/dark2_0/conv/kernel`,
`head.cls_convs.0.1.dconv.bn.running_mean` is `head/cls_convs_0_1/dconv/bn/mean`), so
`zoo.convert.yolox` maps weights by renaming. BatchNorm uses the official training settings
(eps 1e-3, momentum 0.03), convolutions pad (k - 1) // 2 on both sides as PyTorch does.

Inputs: images [batch, height, width, 3] float32 (height and width multiples of 32), pixel
format as the checkpoint expects (see `zoo.tasks.tracking_detector`). Outputs [batch, anchors,
5 + num_classes] over the anchors of strides 8, 16 and 32 (each level row-major): in training
the raw regression (dx, dy, log w, log h), objectness logit and class logits; in inference the
decoded boxes (centre x, y, width, height in input pixels), objectness and class probabilities,
as the official model returns them.
"""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
from einops import rearrange

from zoo.models.remat import maybe_remat


SIZES = {  # name -> (depth, width, depthwise)
    "nano": (0.33, 0.25, True),
    "tiny": (0.33, 0.375, False),
    "s": (0.33, 0.50, False),
    "m": (0.67, 0.75, False),
    "l": (1.0, 1.0, False),
    "x": (1.33, 1.25, False),
}
STRIDES = (8, 16, 32)
IN_CHANNELS = (256, 512, 1024)
PRIOR_PROB = 0.01  # initial objectness / class probability (the official bias init)
# PyTorch's default Conv2d init (kaiming_uniform with a = sqrt(5)), which YOLOX keeps.
conv_init = nn.initializers.variance_scaling(1.0 / 3.0, "fan_in", "uniform")


def _bias_init(fan_in: int):
    bound = 1.0 / np.sqrt(fan_in)
    return lambda key, shape, dtype=jnp.float32: jax.random.uniform(key, shape, dtype, -bound, bound)


class BaseConv(nn.Module):
    """Conv (no bias) -> BatchNorm -> SiLU. Names `conv`, `bn`; groups = in channels is depthwise."""

    features: int
    kernel: int
    stride: int = 1
    depthwise: bool = False

    @nn.compact
    def __call__(self, x: jax.Array, *, train: bool) -> jax.Array:
        pad = (self.kernel - 1) // 2
        # Depthwise (nano) as XLA's own grouped convolution: at YOLOX's sizes its gradients beat
        # zoo.models.grouped_conv's patches on CPU (1.9 vs 2.2 s per nano step) and compile 2.5x faster.
        x = nn.Conv(self.features, (self.kernel, self.kernel), strides=self.stride,
                    padding=((pad, pad), (pad, pad)), feature_group_count=x.shape[-1] if self.depthwise else 1,
                    use_bias=False, kernel_init=conv_init, name="conv")(x)
        x = nn.BatchNorm(use_running_average=not train, momentum=0.97, epsilon=1e-3, name="bn")(x)
        return nn.silu(x)


class DWConv(nn.Module):
    """Depthwise k x k (`dconv`) then pointwise 1 x 1 (`pconv`), each a BaseConv."""

    features: int
    kernel: int
    stride: int = 1

    @nn.compact
    def __call__(self, x: jax.Array, *, train: bool) -> jax.Array:
        x = BaseConv(x.shape[-1], self.kernel, self.stride, depthwise=True, name="dconv")(x, train=train)
        return BaseConv(self.features, 1, name="pconv")(x, train=train)


def conv3(features: int, stride: int, depthwise: bool, name: str) -> nn.Module:
    """The 3x3 convolution of a block: DWConv in nano, BaseConv otherwise."""
    return DWConv(features, 3, stride, name=name) if depthwise else BaseConv(features, 3, stride, name=name)


class Bottleneck(nn.Module):
    features: int
    shortcut: bool = True
    depthwise: bool = False

    @nn.compact
    def __call__(self, x: jax.Array, train: bool) -> jax.Array:  # train positional: a static remat argument
        y = BaseConv(self.features, 1, name="conv1")(x, train=train)
        y = conv3(self.features, 1, self.depthwise, "conv2")(y, train=train)
        return y + x if self.shortcut and x.shape[-1] == self.features else y


class CSPLayer(nn.Module):
    """CSP bottleneck with 3 convolutions (YOLOv5's C3): two 1x1 branches, n bottlenecks on one
    (each recomputed in the backward pass with `remat`)."""

    features: int
    depth: int = 1
    shortcut: bool = True
    depthwise: bool = False
    remat: bool = False

    @nn.compact
    def __call__(self, x: jax.Array, *, train: bool) -> jax.Array:
        hidden = int(self.features * 0.5)
        a = BaseConv(hidden, 1, name="conv1")(x, train=train)
        b = BaseConv(hidden, 1, name="conv2")(x, train=train)
        bottleneck = maybe_remat(Bottleneck, self.remat, static_argnums=(2,))
        for i in range(self.depth):
            a = bottleneck(hidden, self.shortcut, self.depthwise, name=f"m_{i}")(a, train)
        return BaseConv(self.features, 1, name="conv3")(jnp.concatenate([a, b], axis=-1), train=train)


class SPPBottleneck(nn.Module):
    features: int
    kernel_sizes: tuple[int, ...] = (5, 9, 13)

    @nn.compact
    def __call__(self, x: jax.Array, *, train: bool) -> jax.Array:
        x = BaseConv(x.shape[-1] // 2, 1, name="conv1")(x, train=train)
        pools = [nn.max_pool(x, (k, k), strides=(1, 1), padding=((k // 2, k // 2), (k // 2, k // 2)))
                 for k in self.kernel_sizes]
        return BaseConv(self.features, 1, name="conv2")(jnp.concatenate([x, *pools], axis=-1), train=train)


class Focus(nn.Module):
    """Space to depth, [b, h, w, c] -> [b, h/2, w/2, 4c] in the official channel order (top-left,
    bottom-left, top-right, bottom-right pixel of each 2x2 cell), then a BaseConv (`conv`)."""

    features: int
    kernel: int = 3

    @nn.compact
    def __call__(self, x: jax.Array, *, train: bool) -> jax.Array:
        x = jnp.concatenate([x[:, ::2, ::2], x[:, 1::2, ::2], x[:, ::2, 1::2], x[:, 1::2, 1::2]], axis=-1)
        return BaseConv(self.features, self.kernel, name="conv")(x, train=train)


class CSPDarknet(nn.Module):
    """The backbone; returns the dark3, dark4, dark5 maps (strides 8, 16, 32)."""

    depth: float
    width: float
    depthwise: bool = False
    remat: bool = False

    @nn.compact
    def __call__(self, x: jax.Array, *, train: bool) -> tuple[jax.Array, ...]:
        c = int(self.width * 64)
        n = max(round(self.depth * 3), 1)
        x = Focus(c, name="stem")(x, train=train)
        outputs = []
        for stage, (mult, blocks) in enumerate(((2, n), (4, 3 * n), (8, 3 * n)), start=2):
            x = conv3(c * mult, 2, self.depthwise, f"dark{stage}_0")(x, train=train)
            x = CSPLayer(c * mult, blocks, depthwise=self.depthwise, remat=self.remat,
                         name=f"dark{stage}_1")(x, train=train)
            if stage >= 3:
                outputs.append(x)
        x = conv3(c * 16, 2, self.depthwise, "dark5_0")(x, train=train)
        x = SPPBottleneck(c * 16, name="dark5_1")(x, train=train)
        x = CSPLayer(c * 16, n, shortcut=False, depthwise=self.depthwise, remat=self.remat,
                     name="dark5_2")(x, train=train)
        return (*outputs, x)


def upsample(x: jax.Array) -> jax.Array:
    return jnp.repeat(jnp.repeat(x, 2, axis=1), 2, axis=2)


class PAFPN(nn.Module):
    """CSPDarknet + the top-down and bottom-up path aggregation; returns maps at strides 8/16/32."""

    depth: float
    width: float
    depthwise: bool = False
    remat: bool = False

    @nn.compact
    def __call__(self, images: jax.Array, *, train: bool) -> tuple[jax.Array, ...]:
        c3, c4, c5 = (int(ch * self.width) for ch in IN_CHANNELS)
        n = round(3 * self.depth)
        x2, x1, x0 = CSPDarknet(self.depth, self.width, self.depthwise, self.remat, name="backbone")(images, train=train)
        fpn_out0 = BaseConv(c4, 1, name="lateral_conv0")(x0, train=train)
        f_out0 = CSPLayer(c4, n, False, self.depthwise, self.remat, name="C3_p4")(
            jnp.concatenate([upsample(fpn_out0), x1], axis=-1), train=train)
        fpn_out1 = BaseConv(c3, 1, name="reduce_conv1")(f_out0, train=train)
        pan_out2 = CSPLayer(c3, n, False, self.depthwise, self.remat, name="C3_p3")(
            jnp.concatenate([upsample(fpn_out1), x2], axis=-1), train=train)
        p_out1 = conv3(c3, 2, self.depthwise, "bu_conv2")(pan_out2, train=train)
        pan_out1 = CSPLayer(c4, n, False, self.depthwise, self.remat, name="C3_n3")(
            jnp.concatenate([p_out1, fpn_out1], axis=-1), train=train)
        p_out0 = conv3(c4, 2, self.depthwise, "bu_conv1")(pan_out1, train=train)
        pan_out0 = CSPLayer(c5, n, False, self.depthwise, self.remat, name="C3_n4")(
            jnp.concatenate([p_out0, fpn_out0], axis=-1), train=train)
        return pan_out2, pan_out1, pan_out0


def anchor_points(height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """The anchor grid of an input size: cells [A, 2] (column, row) and strides [A], levels in
    stride order, each row-major, A = sum of (height / s) * (width / s)."""
    cells, strides = [], []
    for s in STRIDES:
        rows, cols = np.meshgrid(np.arange(height // s), np.arange(width // s), indexing="ij")
        cells.append(np.stack([cols.ravel(), rows.ravel()], axis=1))
        strides.append(np.full(rows.size, s))
    return np.concatenate(cells).astype(np.float32), np.concatenate(strides).astype(np.float32)


def decode(raw: jax.Array, height: int, width: int) -> jax.Array:
    """Raw outputs [b, A, 5 + C] -> boxes (cx, cy, w, h pixels), objectness and class probabilities."""
    cells, strides = anchor_points(height, width)
    xy = (raw[..., :2] + cells) * strides[:, None]
    wh = jnp.exp(raw[..., 2:4]) * strides[:, None]
    return jnp.concatenate([xy, wh, jax.nn.sigmoid(raw[..., 4:])], axis=-1)


class YOLOXHead(nn.Module):
    """Decoupled head per level: 1x1 stem, then a classification branch (2 convs, class logits)
    and a regression branch (2 convs, box and objectness), all level-specific."""

    num_classes: int
    width: float
    depthwise: bool = False

    @nn.compact
    def __call__(self, features: tuple[jax.Array, ...], *, train: bool) -> jax.Array:
        hidden = int(256 * self.width)
        prior = float(-np.log((1 - PRIOR_PROB) / PRIOR_PROB))
        outputs = []
        for i, x in enumerate(features):
            x = BaseConv(hidden, 1, name=f"stems_{i}")(x, train=train)
            cls, reg = x, x
            for j in range(2):
                cls = conv3(hidden, 1, self.depthwise, f"cls_convs_{i}_{j}")(cls, train=train)
                reg = conv3(hidden, 1, self.depthwise, f"reg_convs_{i}_{j}")(reg, train=train)

            def pred(n, name, bias_init):
                return nn.Conv(n, (1, 1), kernel_init=conv_init, bias_init=bias_init, name=name)

            prior_init = nn.initializers.constant(prior)
            cls_out = pred(self.num_classes, f"cls_preds_{i}", prior_init)(cls)
            reg_out = pred(4, f"reg_preds_{i}", _bias_init(hidden))(reg)
            obj_out = pred(1, f"obj_preds_{i}", prior_init)(reg)
            outputs.append(rearrange(jnp.concatenate([reg_out, obj_out, cls_out], axis=-1), "b h w c -> b (h w) c"))
        return jnp.concatenate(outputs, axis=1)


class YOLOX(nn.Module):
    """The detector: PAFPN (`backbone`) + YOLOXHead (`head`).

    Attributes:
      num_classes: detection classes (SoccerNet: the person roles and the ball, or 1).
      size: one of SIZES; or give `depth` and `width` (> 0) to override its multipliers.
      depthwise: override the size's choice of depthwise convolutions (None: the size's).
      remat: recompute each CSP bottleneck in the backward pass (zoo.models.remat): YOLOX-X at
        896x1600 keeps a lot of activations.
    """

    num_classes: int = 1
    size: str = "s"
    depth: float = 0.0
    width: float = 0.0
    depthwise: bool | None = None
    remat: bool = False

    def multipliers(self) -> tuple[float, float, bool]:
        if self.size not in SIZES:
            raise ValueError(f"Unknown YOLOX size {self.size!r}; expected one of {', '.join(SIZES)}.")
        depth, width, depthwise = SIZES[self.size]
        return (self.depth or depth, self.width or width,
                depthwise if self.depthwise is None else self.depthwise)

    @nn.compact
    def __call__(self, images: jax.Array, *, train: bool) -> jax.Array:
        height, width = images.shape[1:3]
        if height % 32 or width % 32:
            raise ValueError(f"YOLOX input height and width must be multiples of 32, got {height}x{width}.")
        depth, mult, depthwise = self.multipliers()
        features = PAFPN(depth, mult, depthwise, self.remat, name="backbone")(images, train=train)
        raw = YOLOXHead(self.num_classes, mult, depthwise, name="head")(features, train=train)
        # Boxes decoded in float32: bfloat16 has ~8 px steps at 1600 px.
        return raw if train else decode(raw.astype(jnp.float32), height, width)
