"""A frozen torchvision ResNet-34 that reduces top views to 512-d features, as in the SoccerNet
calibration paper's best "top view" route (Cioppa et al., CVPRW 2021).

ResNet-34 (He et al., CVPR 2016) in torchvision's layout: a 7x7/2 stem and max-pool, then
stages of (3, 4, 6, 3) basic blocks (two 3x3 convolutions with BatchNorm, the stride on the first,
a 1x1/stride + BatchNorm shortcut when the shape changes) of 64, 128, 256, 512 channels, and the
global average pool (torchvision's model without `fc`, as the published code uses it).
Module names mirror the torchvision keys, so `zoo.convert.torch_resnet34` maps ImageNet weights
by renaming (`layer1_0/conv1` is `layer1.0.conv1`).

`preprocess` is the published transform of a top view: the uint8 image as a PIL image, resized to
256 (bilinear), centre-cropped to 224, scaled to [0, 1] and normalised with the ImageNet mean and
standard deviation. (At 224 x 224 in, the crop removes the outer 16 / 256 of each side.)
"""

from __future__ import annotations

from collections.abc import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from zoo.models.resnet import batch_norm, conv, max_pool_3x3_s2

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class BasicBlock(nn.Module):
    """3x3 (strided) -> 3x3, each with BatchNorm, plus the shortcut: [B, H, W, in] -> [B, H/s, W/s, planes]."""

    planes: int
    stride: int = 1

    @nn.compact
    def __call__(self, x: jax.Array, *, train: bool) -> jax.Array:
        y = nn.relu(batch_norm(train, "bn1")(conv(self.planes, 3, self.stride, name="conv1")(x)))
        y = batch_norm(train, "bn2")(conv(self.planes, 3, name="conv2")(y))
        if self.stride != 1 or x.shape[-1] != self.planes:
            x = batch_norm(train, "downsample_1")(conv(self.planes, 1, self.stride, name="downsample_0")(x))
        return nn.relu(y + x)


class ResNet34(nn.Module):
    """ResNet-34 to its average pool: images [B, H, W, 3] (normalised) -> [B, 512]."""

    stage_sizes: Sequence[int] = (3, 4, 6, 3)

    @nn.compact
    def __call__(self, images: jax.Array, *, train: bool = False) -> jax.Array:
        x = nn.relu(batch_norm(train, "bn1")(conv(64, 7, 2, name="conv1")(images)))
        x = max_pool_3x3_s2(x)
        for stage, blocks in enumerate(self.stage_sizes):
            for block in range(blocks):
                stride = 2 if stage > 0 and block == 0 else 1
                x = BasicBlock(64 * 2**stage, stride, name=f"layer{stage + 1}_{block}")(x, train=train)
        return jnp.mean(x, axis=(1, 2))


def preprocess(images: jax.Array, *, resize: int = 256, crop: int = 224) -> jax.Array:
    """uint8 top views [B, H, W, 3] -> normalised [B, crop, crop, 3] float32 (see module doc)."""
    x = jax.image.resize(images.astype(jnp.float32), (images.shape[0], resize, resize, 3), "bilinear")
    x = jnp.round(jnp.clip(x, 0, 255))  # PIL resizes uint8 images to uint8
    top = (resize - crop) // 2
    x = x[:, top:top + crop, top:top + crop] / 255.0
    return (x - jnp.asarray(IMAGENET_MEAN)) / jnp.asarray(IMAGENET_STD)
