"""HRNetV2 (Sun et al., CVPR 2019; Wang et al., TPAMI 2020): high-resolution representations kept
through the whole network, as the keypoint and line networks of the published SoccerNet
calibrators (No Bells Just Whistles, PnLCalib, the 2023 winner) use it.

Layout (HRNetV2-W48 at width 48): a stem of two strided 3x3 convolutions (stride 4), four
bottlenecks (`layer1`), then stages 2-4 of 1, 4 and 3 multi-resolution modules over 2, 3 and 4
branches of width, 2x, 4x and 8x width channels at strides 4, 8, 16 and 32. In every module
each branch runs four basic blocks, then every branch receives the sum of all branches: lower
resolutions through a 1x1 convolution and a bilinear resize (PyTorch's `align_corners=False`,
which `jax.image.resize` equals when enlarging), higher ones through strided 3x3 convolutions.
New branches come from the lowest-resolution one by a strided 3x3 convolution (`transition`).

Module names mirror the published PyTorch state-dict keys with `_` for `.`: `stage3_2` is
`stage3.2`, `branches_1_3` is `branches.1.3`, `fuse_layers_2_0_1_0` is `fuse_layers.2.0.1.0`, so
`zoo.convert.torch_hrnet` maps weights by renaming. BatchNorm and convolution padding follow
PyTorch (see `zoo.models.resnet`).
"""

from __future__ import annotations

from collections.abc import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from zoo.models.remat import maybe_remat
from zoo.models.resnet import BasicBlock, Bottleneck, batch_norm, conv

# Modules per stage (stages 2, 3, 4) and basic blocks per branch, as in HRNetV2-W18...W64.
STAGE_MODULES = (1, 4, 3)
BLOCKS_PER_BRANCH = 4
STEM_CHANNELS = 64


def resize_bilinear(x: jax.Array, height: int, width: int) -> jax.Array:
    """[batch, h, w, c] -> [batch, height, width, c], as PyTorch's bilinear `align_corners=False`
    when enlarging (half-pixel centres, edge pixels repeated)."""
    if x.shape[1:3] == (height, width):
        return x
    return jax.image.resize(x, (x.shape[0], height, width, x.shape[3]), "bilinear", antialias=False)


def upsample_nearest(x: jax.Array, factor: int = 2) -> jax.Array:
    """[batch, h, w, c] -> [batch, factor h, factor w, c] by repeating pixels."""
    return jnp.repeat(jnp.repeat(x, factor, axis=1), factor, axis=2)


class HighResolutionModule(nn.Module):
    """One exchange of HRNet: basic blocks per branch, then every branch gets the sum of all.

    Attributes:
      channels: channels per branch, highest resolution first.
      blocks: basic blocks per branch.
      remat: recompute each block in the backward pass (zoo.models.remat).

    Call: list of [batch, h_i, w_i, channels[i]] -> the same shapes.
    """

    channels: Sequence[int]
    blocks: int = BLOCKS_PER_BRANCH
    remat: bool = False

    @nn.compact
    def __call__(self, xs: Sequence[jax.Array], *, train: bool) -> list[jax.Array]:
        xs = list(xs)
        block = maybe_remat(BasicBlock, self.remat, static_argnums=(2,))
        for b, planes in enumerate(self.channels):
            for i in range(self.blocks):
                xs[b] = block(planes, name=f"branches_{b}_{i}")(xs[b], train)
        if len(xs) == 1:
            return xs
        out = []
        for i, target in enumerate(self.channels):
            total = None
            for j, x in enumerate(xs):
                if j > i:  # lower resolution: 1x1 conv + BN, then enlarge
                    term = conv(target, 1, name=f"fuse_layers_{i}_{j}_0")(x)
                    term = batch_norm(train, f"fuse_layers_{i}_{j}_1")(term)
                    term = resize_bilinear(term, xs[i].shape[1], xs[i].shape[2])
                elif j < i:  # higher resolution: strided 3x3 convs, ReLU between them
                    term = x
                    for k in range(i - j):
                        last = k == i - j - 1
                        width = target if last else self.channels[j]
                        term = conv(width, 3, 2, name=f"fuse_layers_{i}_{j}_{k}_0")(term)
                        term = batch_norm(train, f"fuse_layers_{i}_{j}_{k}_1")(term)
                        if not last:
                            term = nn.relu(term)
                else:
                    term = x
                total = term if total is None else total + term
            out.append(nn.relu(total))
        return out


def hrnet_backbone(
    images: jax.Array, *, width: int, train: bool, stage_modules: Sequence[int] = STAGE_MODULES,
    blocks: int = BLOCKS_PER_BRANCH, remat: bool = False,
) -> tuple[list[jax.Array], jax.Array]:
    """The HRNetV2 trunk, creating its modules in the calling compact module (so their names are
    the published top-level keys).

    images [batch, H, W, 3] -> (branches: [batch, H/4, W/4, width], [batch, H/8, W/8, 2 width],
    ... (sizes rounded up at every stride), stem: [batch, H/2, W/2, 64], the first convolution's
    output before its BatchNorm, which the published heads reuse).
    """
    x = conv(STEM_CHANNELS, 3, 2, name="conv1")(images)
    stem = x
    x = nn.relu(batch_norm(train, "bn1")(x))
    x = conv(STEM_CHANNELS, 3, 2, name="conv2")(x)
    x = nn.relu(batch_norm(train, "bn2")(x))
    bottleneck = maybe_remat(Bottleneck, remat, static_argnums=(2,))
    for i in range(4):
        x = bottleneck(STEM_CHANNELS, name=f"layer1_{i}")(x, train)
    xs = [x]
    for stage, modules in enumerate(stage_modules, start=2):
        channels = [width * 2**b for b in range(stage)]
        inputs = []
        for b, planes in enumerate(channels):
            name = f"transition{stage - 1}_{b}"
            if b < len(xs):
                if xs[b].shape[-1] == planes:
                    inputs.append(xs[b])
                    continue
                y = conv(planes, 3, name=f"{name}_0")(xs[b])
                inputs.append(nn.relu(batch_norm(train, f"{name}_1")(y)))
            else:  # a new, lower-resolution branch from the lowest existing one
                y = conv(planes, 3, 2, name=f"{name}_0_0")(xs[-1])
                inputs.append(nn.relu(batch_norm(train, f"{name}_0_1")(y)))
        xs = inputs
        for m in range(modules):
            xs = HighResolutionModule(channels, blocks, remat, name=f"stage{stage}_{m}")(xs, train=train)
    return xs, stem


def concatenated_branches(branches: Sequence[jax.Array]) -> jax.Array:
    """HRNetV2's representation: every branch resized (bilinearly) to the first one's size and
    concatenated: [batch, H/4, W/4, 15 width] for four branches."""
    height, width = branches[0].shape[1:3]
    return jnp.concatenate([resize_bilinear(b, height, width) for b in branches], axis=-1)
