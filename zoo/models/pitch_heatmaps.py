"""Pitch keypoint and line heatmap networks for camera calibration.

The published keypoint calibrators (No Bells Just Whistles, PnLCalib) run two HRNetV2-W48
networks at 960x540: one outputs 57 keypoint heatmaps plus a background channel, the other 23
line heatmaps plus background, both at stride 2 with a softmax over channels (PnLCalib's line
network, which predicts the two ends of each line, a sigmoid). `PitchHeatmapNet` composes them:

  backbone "hrnet":        `hrnet_backbone`, the four branches concatenated at stride 4 (15 x
                           width channels), and the first convolution's output at stride 2;
  backbone "resnet_fpn":   a ResNet-18 (or -34) with a feature pyramid (Lin et al. 2017) merged
                           top-down to stride 4 (`fpn_channels`), and the stem at stride 2 --
                           light enough to train on a CPU;
  head (per output set):   stride-4 features upsampled x2 (nearest), concatenated with the
                           stride-2 features, 1x1 conv + BN + ReLU at that width, 1x1 conv to
                           the outputs, softmax or sigmoid over channels.

With `separate_networks` each output set has its own backbone (the published form, and what
`zoo.convert.torch_hrnet` fills: module "keypoints" from the keypoint checkpoint, "lines" from
the line one); otherwise one backbone feeds both heads.

Call: images [batch, H, W, 3] (ImageNet-normalised) -> {"keypoints": [batch, H/2, W/2, 58],
"lines": [batch, H/2, W/2, 24]} probabilities (sizes rounded up at every stride), background
last.
"""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp

from zoo.models.hrnet import (
    BLOCKS_PER_BRANCH,
    STAGE_MODULES,
    concatenated_branches,
    hrnet_backbone,
    upsample_nearest,
)
from zoo.models.resnet import ResNet, batch_norm, conv

BACKBONES = ("hrnet", "resnet_fpn")
ACTIVATIONS = ("softmax", "sigmoid")
RESNET_STAGES = {10: (1, 1, 1, 1), 18: (2, 2, 2, 2), 34: (3, 4, 6, 3)}  # 10: for tests


def heatmap_head(features: jax.Array, skip: jax.Array, outputs: int, *, train: bool, name: str,
                 activation: str) -> jax.Array:
    """The published head, its modules named `<name>_0_0`, `<name>_0_1`, `<name>_0_3` (PyTorch
    `head.0.0`, `head.0.1`, `head.0.3`) in the calling module.

    features [batch, h, w, c] at stride 4, skip [batch, 2h', 2w', s] at stride 2 (h' <= h; the
    enlarged features are cropped to the skip's size) -> [batch, 2h', 2w', outputs].
    """
    x = upsample_nearest(features)[:, : skip.shape[1], : skip.shape[2]]
    x = jnp.concatenate([x, skip], axis=-1)
    width = x.shape[-1]
    x = nn.Conv(width, (1, 1), name=f"{name}_0_0")(x)
    x = nn.relu(batch_norm(train, f"{name}_0_1")(x))
    x = nn.Conv(outputs, (1, 1), name=f"{name}_0_3")(x)
    x = x.astype(jnp.float32)  # probabilities in float32 whatever the compute precision
    return jax.nn.softmax(x, axis=-1) if activation == "softmax" else jax.nn.sigmoid(x)


class ResNetFPN(nn.Module):
    """ResNet-18/34 with a top-down feature pyramid merged to stride 4.

    Call: images [batch, H, W, 3] -> (P2 [batch, H/4, W/4, fpn_channels], stem [batch, H/2, W/2,
    64]).
    """

    depth: int = 18
    fpn_channels: int = 128
    remat: bool = False

    @nn.compact
    def __call__(self, images: jax.Array, *, train: bool) -> tuple[jax.Array, jax.Array]:
        if self.depth not in RESNET_STAGES:
            raise ValueError(f"resnet depth must be one of {sorted(RESNET_STAGES)}, got {self.depth}")
        stem, *stages = ResNet(RESNET_STAGES[self.depth], block="basic", return_stages=True,
                               remat=self.remat, name="resnet")(images, train=train)
        merged = None
        for level in range(len(stages) - 1, -1, -1):
            lateral = nn.Conv(self.fpn_channels, (1, 1), name=f"lateral_{level}")(stages[level])
            if merged is not None:
                merged = upsample_nearest(merged)[:, : lateral.shape[1], : lateral.shape[2]]
                lateral = lateral + merged
            merged = lateral
        merged = conv(self.fpn_channels, 3, name="smooth")(merged)
        merged = nn.relu(batch_norm(train, "smooth_bn")(merged))
        return merged, stem


class HeatmapNetwork(nn.Module):
    """One backbone and one head: the published single-task network (module names = its keys).

    Call: images [batch, H, W, 3] -> [batch, H/2, W/2, outputs].
    """

    outputs: int
    backbone: str = "hrnet"
    width: int = 48
    resnet_depth: int = 18
    activation: str = "softmax"
    hrnet_modules: tuple[int, int, int] = STAGE_MODULES
    hrnet_blocks: int = BLOCKS_PER_BRANCH
    remat: bool = False

    @nn.compact
    def __call__(self, images: jax.Array, *, train: bool) -> jax.Array:
        features, skip = backbone_features(self, images, train=train)
        return heatmap_head(features, skip, self.outputs, train=train, name="head",
                            activation=self.activation)


def backbone_features(module, images, *, train: bool) -> tuple[jax.Array, jax.Array]:
    """(stride-4 features, stride-2 skip) of `module.backbone`, built inside `module`."""
    if module.backbone == "hrnet":
        branches, stem = hrnet_backbone(images, width=module.width, train=train,
                                        stage_modules=module.hrnet_modules, blocks=module.hrnet_blocks,
                                        remat=module.remat)
        return concatenated_branches(branches), stem
    if module.backbone == "resnet_fpn":
        return ResNetFPN(module.resnet_depth, module.width, module.remat, name="backbone")(images, train=train)
    raise ValueError(f"model.backbone must be one of {BACKBONES}, got {module.backbone!r}")


class PitchHeatmapNet(nn.Module):
    """Keypoint and line heatmaps of the pitch (see the module docstring).

    Attributes:
      backbone: "hrnet" (HRNetV2 at `width`, 48 = W48) or "resnet_fpn" (ResNet-`resnet_depth`,
        FPN of `width` channels).
      width: HRNet branch width, or FPN channels.
      separate_networks: one backbone per output set (as published) or one shared backbone.
      num_keypoints, num_lines: heatmap classes, each plus a background channel.
      line_activation: "softmax" (line heatmaps) or "sigmoid" (PnLCalib's line-end heatmaps).
      hrnet_modules, hrnet_blocks: HRNet modules in stages 2-4 and basic blocks per branch
        ((1, 4, 3) and 4 in HRNetV2; smaller for the "small" HRNets).
      remat: recompute each backbone block in the backward pass (zoo.models.remat): the same
        parameters, less memory (960x540 HRNet-W48 training on one GPU).
    """

    backbone: str = "hrnet"
    width: int = 48
    resnet_depth: int = 18
    separate_networks: bool = True
    num_keypoints: int = 57
    num_lines: int = 23
    line_activation: str = "softmax"
    hrnet_modules: tuple[int, int, int] = STAGE_MODULES
    hrnet_blocks: int = BLOCKS_PER_BRANCH
    remat: bool = False

    @nn.compact
    def __call__(self, images: jax.Array, *, train: bool = False) -> dict[str, jax.Array]:
        if self.line_activation not in ACTIVATIONS:
            raise ValueError(f"model.line_activation must be one of {ACTIVATIONS}, got "
                             f"{self.line_activation!r}")
        if self.separate_networks:
            common = dict(backbone=self.backbone, width=self.width, resnet_depth=self.resnet_depth,
                          hrnet_modules=tuple(self.hrnet_modules), hrnet_blocks=self.hrnet_blocks,
                          remat=self.remat)
            keypoints = HeatmapNetwork(self.num_keypoints + 1, **common, name="keypoints")(
                images, train=train)
            lines = HeatmapNetwork(self.num_lines + 1, **common, activation=self.line_activation,
                                   name="lines")(images, train=train)
            return {"keypoints": keypoints, "lines": lines}
        features, skip = backbone_features(self, images, train=train)
        return {
            "keypoints": heatmap_head(features, skip, self.num_keypoints + 1, train=train,
                                      name="keypoint_head", activation="softmax"),
            "lines": heatmap_head(features, skip, self.num_lines + 1, train=train,
                                  name="line_head", activation=self.line_activation),
        }
