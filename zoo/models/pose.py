"""Top-down heatmap pose models: SimpleBaseline (ResNet) and ViTPose (ViT), with their key names.

Xiao, Wu & Wei, "Simple Baselines for Human Pose Estimation and Tracking", ECCV 2018: a ResNet
trunk (output stride 32), three 4x4 stride-2 transposed convolutions (256 filters, BatchNorm,
ReLU) and a 1x1 convolution to one heatmap per keypoint, at 1/4 of the input size. Xu et al.,
"ViTPose", NeurIPS 2022: a plain ViT (stride 16, `zoo.models.vit`) with two such deconvolutions.
Both see one person per image (the crop of a detection or, here, a tracklet thumbnail) and give
17 COCO keypoints; the jersey pipeline crops the torso from the shoulders and hips.

Module names follow the PyTorch keys: the head's `deconv_layers_<i>` are the indices of the
published `nn.Sequential` (ConvTranspose at 0, 3, 6; BatchNorm at 1, 4, 7) and `final_layer`;
see `zoo.convert.torch_pose`.
"""

from __future__ import annotations

from collections.abc import Sequence

import einops
import flax.linen as nn
import jax
import jax.numpy as jnp

from zoo.models.resnet import RESNETS, batch_norm, resnet
from zoo.models.vit import VisionTransformer

# ViTPose backbones: name -> (embed_dim, depth, num_heads), patch 16.
VITPOSE = {"vit_small": (384, 12, 12), "vit_base": (768, 12, 12), "vit_large": (1024, 24, 16),
           "vit_huge": (1280, 32, 16)}
BACKBONES = (*RESNETS, *VITPOSE)
NUM_KEYPOINTS = 17


class DeconvHead(nn.Module):
    """Transposed convolutions (each doubling the size) + BatchNorm + ReLU, then 1x1 to heatmaps.

    PyTorch's ConvTranspose2d(kernel 4, stride 2, padding 1, bias False) gives exactly twice the
    input size; lax.conv_transpose with padding kernel - 1 - 1 = 2 on each side and the kernel
    transposed is the same operation.

    Call: features [batch, h, w, c] -> heatmaps [batch, h * 2^n, w * 2^n, num_keypoints].
    """

    num_keypoints: int = NUM_KEYPOINTS
    filters: Sequence[int] = (256, 256, 256)

    @nn.compact
    def __call__(self, features: jax.Array, *, train: bool) -> jax.Array:
        x = features
        for i, f in enumerate(self.filters):
            x = nn.ConvTranspose(f, (4, 4), strides=(2, 2), padding=((2, 2), (2, 2)), use_bias=False,
                                 transpose_kernel=True, kernel_init=nn.initializers.normal(0.001),
                                 name=f"deconv_layers_{3 * i}")(x)
            x = nn.relu(batch_norm(train, f"deconv_layers_{3 * i + 1}")(x))
        return nn.Conv(self.num_keypoints, (1, 1), kernel_init=nn.initializers.normal(0.001),
                       name="final_layer")(x)


def decode_heatmaps(heatmaps: jax.Array, stride: float) -> jax.Array:
    """Keypoints [batch, K, 3] (x, y in input pixels, score = the heatmap's peak) from heatmaps
    [batch, h, w, K]: the arg-max, moved a quarter pixel towards the higher neighbour (the
    SimpleBaseline decoding), times the stride."""
    b, h, w, k = heatmaps.shape
    flat = einops.rearrange(heatmaps, "b h w k -> b k (h w)")
    index = jnp.argmax(flat, axis=-1)
    score = jnp.max(flat, axis=-1)
    y, x = index // w, index % w
    maps = einops.rearrange(heatmaps, "b h w k -> b k h w")

    def at(yy, xx):
        yy, xx = jnp.clip(yy, 0, h - 1), jnp.clip(xx, 0, w - 1)
        return jnp.take_along_axis(maps.reshape(b, k, h * w), (yy * w + xx)[..., None], axis=-1)[..., 0]

    inside_x = (x > 0) & (x < w - 1)
    inside_y = (y > 0) & (y < h - 1)
    dx = jnp.where(inside_x, jnp.sign(at(y, x + 1) - at(y, x - 1)) * 0.25, 0.0)
    dy = jnp.where(inside_y, jnp.sign(at(y + 1, x) - at(y - 1, x)) * 0.25, 0.0)
    return jnp.stack([(x + dx) * stride, (y + dy) * stride, score], axis=-1)


class HeatmapPose(nn.Module):
    """A top-down pose model: `backbone` + `keypoint_head`.

    Attributes:
      backbone: a ResNet ("resnet18", "resnet34", "resnet50", "resnet101": SimpleBaseline) or a
        ViTPose ViT ("vit_small", "vit_base", "vit_large", "vit_huge").
      width: ResNet stem width (64 for the published weights; smaller for CPU-sized runs).
      deconv_filters: filters of the head's transposed convolutions (SimpleBaseline: 3 x 256,
        ViTPose: 2 x 256); their number must bring the stride to 4.
      num_keypoints: 17 (COCO).
      remat: recompute each backbone block in the backward pass (zoo.models.remat).

    Call: images [batch, height, width, 3] normalised (height and width multiples of 32 for a
      ResNet, 16 for a ViT) -> {"heatmaps": [batch, height / 4, width / 4, K]} and, at inference,
      "keypoints" [batch, K, 3]: (x, y) in input pixels and the peak score.
    """

    backbone: str = "resnet50"
    width: int = 64
    deconv_filters: Sequence[int] = (256, 256, 256)
    num_keypoints: int = NUM_KEYPOINTS
    remat: bool = False

    @nn.compact
    def __call__(self, images: jax.Array, *, train: bool) -> dict[str, jax.Array]:
        if self.backbone in RESNETS:
            features = resnet(self.backbone, width=self.width, remat=self.remat,
                              name="backbone")(images, train=train)
        elif self.backbone in VITPOSE:
            dim, depth, heads = VITPOSE[self.backbone]
            tokens, (gh, gw) = VisionTransformer(
                patch_size=(16, 16), embed_dim=dim, depth=depth, num_heads=heads, patch_padding=2,
                class_token_position=True, remat=self.remat, name="backbone")(images)
            features = einops.rearrange(tokens, "b (h w) d -> b h w d", h=gh, w=gw)
        else:
            raise ValueError(f"Unknown pose backbone {self.backbone!r}; expected one of {', '.join(BACKBONES)}.")
        heatmaps = DeconvHead(self.num_keypoints, self.deconv_filters, name="keypoint_head")(features, train=train)
        outputs = {"heatmaps": heatmaps}
        if not train:
            stride = images.shape[1] / heatmaps.shape[1]
            outputs["keypoints"] = decode_heatmaps(heatmaps.astype(jnp.float32), stride)
        return outputs
