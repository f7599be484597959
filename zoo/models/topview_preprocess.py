"""The published preprocessing of a top view for the frozen ResNet-34 of the SoccerNet calibration
paper's best "top view" route (Cioppa et al., CVPRW 2021).

The network itself is torchvision's ResNet-34 to its global average pool (the published code
drops `fc`): `zoo.models.resnet.resnet("resnet34")` with its map averaged over space, ImageNet
weights converted by `zoo.convert.torch_resnet.convert_resnet(..., depth="resnet34")`.

`preprocess` is the published transform of a top view: the uint8 image as a PIL image, resized to
256 (bilinear), centre-cropped to 224, scaled to [0, 1] and normalised with the ImageNet mean and
standard deviation. (At 224 x 224 in, the crop removes the outer 16 / 256 of each side.)
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def preprocess(images: jax.Array, *, resize: int = 256, crop: int = 224) -> jax.Array:
    """uint8 top views [B, H, W, 3] -> normalised [B, crop, crop, 3] float32 (see module doc)."""
    x = jax.image.resize(images.astype(jnp.float32), (images.shape[0], resize, resize, 3), "bilinear")
    x = jnp.round(jnp.clip(x, 0, 255))  # PIL resizes uint8 images to uint8
    top = (resize - crop) // 2
    x = x[:, top:top + crop, top:top + crop] / 255.0
    return (x - jnp.asarray(IMAGENET_MEAN)) / jnp.asarray(IMAGENET_STD)
