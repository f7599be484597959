"""ResNet v1 exactly as Keras builds it (`keras.applications.resnet.ResNet50/101/152`).

The official SoccerNet-v2 `ResNET_TF2` features are the `avg_pool` output of the Keras ResNet-152
with ImageNet weights (REFERENCE.md §1.2). Keras' ResNet v1 is not torchvision's:

  * the stride of a down-sampling bottleneck sits on its first 1x1 convolution (`_1_conv`), not
    on the 3x3 one (torchvision's "v1.5"), and on the 1x1 shortcut convolution (`_0_conv`);
  * every convolution has a bias, even before a BatchNorm;
  * BatchNorm uses epsilon 1.001e-5;
  * the stem pads the input with 3 zeros, runs a 7x7 / 2 convolution with no padding, then pads
    with one zero before a 3x3 / 2 max pool with no padding.

Layers are named as the Keras layers are (`conv1_conv`, `conv4_block12_2_bn`, ...) and sit flat
under the model, so `zoo.convert.keras_resnet` maps a Keras `.h5` weights file by name. A Keras
Conv2D kernel is [kh, kw, in, out], the Flax layout, so no transposition is needed either.
"""

from __future__ import annotations

from collections.abc import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

# Bottlenecks per stage (`stack_residual_blocks_v1` calls of keras.applications.resnet).
STAGE_SIZES: dict[str, tuple[int, ...]] = {
    "resnet50": (3, 4, 6, 3),
    "resnet101": (3, 4, 23, 3),
    "resnet152": (3, 8, 36, 3),
}
BN_EPSILON = 1.001e-5  # keras.applications.resnet: BatchNormalization(epsilon=1.001e-5)
FEATURE_DIM = 2048  # channels of the last stage = the `avg_pool` width


class KerasResNet(nn.Module):
    """Keras ResNet v1 up to `avg_pool` (the global average of the last stage).

    Attributes:
      stage_sizes: bottlenecks per stage; `STAGE_SIZES["resnet152"]` for the SoccerNet features.

    Call: images [batch, height, width, 3] float32, already preprocessed ("caffe": channels
      reversed and the ImageNet BGR means subtracted, see `zoo.features.frames`), any size >= 32
      -> avg_pool [batch, 2048]. BatchNorm uses its moving statistics unless `train=True`.
    """

    stage_sizes: Sequence[int] = STAGE_SIZES["resnet152"]

    @nn.compact
    def __call__(self, images: jax.Array, *, train: bool = False) -> jax.Array:
        def conv(x, features, kernel, stride, name, padding="VALID"):
            return nn.Conv(features, (kernel, kernel), strides=(stride, stride), padding=padding, name=name)(x)

        def batch_norm(x, name):
            # Keras' default momentum 0.99 (flax's momentum has the same meaning).
            return nn.BatchNorm(use_running_average=not train, momentum=0.99, epsilon=BN_EPSILON, name=name)(x)

        def block(x, filters, stride, conv_shortcut, name):
            """keras.applications.resnet.residual_block_v1."""
            if conv_shortcut:
                shortcut = batch_norm(conv(x, 4 * filters, 1, stride, f"{name}_0_conv"), f"{name}_0_bn")
            else:
                shortcut = x
            y = nn.relu(batch_norm(conv(x, filters, 1, stride, f"{name}_1_conv"), f"{name}_1_bn"))
            y = nn.relu(batch_norm(conv(y, filters, 3, 1, f"{name}_2_conv", padding="SAME"), f"{name}_2_bn"))
            y = batch_norm(conv(y, 4 * filters, 1, 1, f"{name}_3_conv"), f"{name}_3_bn")
            return nn.relu(shortcut + y)

        x = jnp.pad(images, ((0, 0), (3, 3), (3, 3), (0, 0)))  # conv1_pad
        x = nn.relu(batch_norm(conv(x, 64, 7, 2, "conv1_conv"), "conv1_bn"))
        x = jnp.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)))  # pool1_pad: zeros, after the ReLU
        x = nn.max_pool(x, (3, 3), strides=(2, 2), padding="VALID")  # pool1_pool
        for stage, blocks in enumerate(self.stage_sizes):
            filters = 64 * 2**stage
            first_stride = 1 if stage == 0 else 2  # conv2 keeps the resolution (stride1=1)
            for index in range(blocks):
                x = block(x, filters, first_stride if index == 0 else 1, index == 0,
                          f"conv{stage + 2}_block{index + 1}")
        return jnp.mean(x, axis=(1, 2))  # avg_pool (GlobalAveragePooling2D)
