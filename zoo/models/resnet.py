"""ResNet-50 exactly as torchvision builds it, as a backbone for player re-identification.

He et al., "Deep Residual Learning for Image Recognition", CVPR 2016, in the torchvision "v1.5"
form: the stride of a bottleneck sits on its 3x3 convolution, and the shortcut is a strided 1x1
convolution + BatchNorm whenever the shape changes. Every convolution pads explicitly and
symmetrically as PyTorch does (3 for 7x7, 1 for 3x3), so outputs of converted weights match the
PyTorch model; "SAME" padding would shift strided windows by one pixel.

Module names mirror the torchvision state-dict keys (`layer1_0/conv1` is `layer1.0.conv1`,
`downsample_0` / `downsample_1` are `downsample.0` / `downsample.1`), so `zoo.convert` maps
weights by renaming. BatchNorm follows PyTorch: eps 1e-5, running statistics updated with
momentum 0.1 (flax's momentum is the complement, 0.9), batch statistics in training and running
statistics otherwise. One difference remains in training: PyTorch folds the unbiased batch variance
(n / (n - 1)) into `running_var`, flax the biased one; outputs are equal either way.
"""

from __future__ import annotations

from collections.abc import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from zoo.models.remat import maybe_remat

# torchvision initialises convolutions with kaiming_normal_(mode="fan_out", nonlinearity="relu").
conv_init = nn.initializers.variance_scaling(2.0, "fan_out", "normal")


def batch_norm(train: bool, name: str) -> nn.BatchNorm:
    """BatchNorm2d/1d with PyTorch's defaults (eps 1e-5, momentum 0.1 == flax 0.9)."""
    return nn.BatchNorm(use_running_average=not train, momentum=0.9, epsilon=1e-5, name=name)


class PointwiseConv(nn.Module):
    """A bias-free 1x1 convolution (stride s, no padding) computed as a matrix product.

    The same function and the same `kernel` [1, 1, in, features] as nn.Conv, but XLA:CPU runs
    the weight gradient of a 1x1 convolution 3-4x slower than that of the equivalent dot, and
    most of ResNet-50's and OSNet's work is in 1x1 convolutions. On GPUs both are one GEMM.

    Call: x [batch, height, width, in] -> [batch, ceil(height / s), ceil(width / s), features].
    """

    features: int
    stride: int = 1

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        kernel = self.param("kernel", conv_init, (1, 1, x.shape[-1], self.features))
        if self.stride > 1:  # a strided 1x1 window reads every stride-th pixel from the first
            x = x[:, :: self.stride, :: self.stride]
        return jnp.einsum("bhwc,co->bhwo", x, kernel[0, 0])


def conv(features: int, kernel: int, stride: int = 1, *, name: str, groups: int = 1) -> nn.Module:
    """A bias-free convolution padded like PyTorch's `padding=kernel // 2`."""
    if kernel == 1 and groups == 1:
        return PointwiseConv(features, stride, name=name)
    pad = kernel // 2
    return nn.Conv(
        features, (kernel, kernel), strides=(stride, stride), padding=((pad, pad), (pad, pad)),
        feature_group_count=groups, use_bias=False, kernel_init=conv_init, name=name,
    )


def max_pool_3x3_s2(x: jax.Array) -> jax.Array:
    """nn.MaxPool2d(3, stride=2, padding=1): the padding never wins (flax pads with -inf)."""
    return nn.max_pool(x, (3, 3), strides=(2, 2), padding=((1, 1), (1, 1)))


class Bottleneck(nn.Module):
    """1x1 reduce -> 3x3 (strided) -> 1x1 expand (x4), each with BatchNorm, plus the shortcut.

    Attributes:
      planes: width of the 3x3 convolution; the block outputs 4 * planes channels.
      stride: stride of the 3x3 convolution and of the shortcut.

    Call: x [batch, height, width, in] -> [batch, height / stride, width / stride, 4 * planes].
    """

    planes: int
    stride: int = 1

    @nn.compact
    def __call__(self, x: jax.Array, train: bool) -> jax.Array:
        out_channels = 4 * self.planes
        y = conv(self.planes, 1, name="conv1")(x)
        y = nn.relu(batch_norm(train, "bn1")(y))
        y = conv(self.planes, 3, self.stride, name="conv2")(y)
        y = nn.relu(batch_norm(train, "bn2")(y))
        y = conv(out_channels, 1, name="conv3")(y)
        y = batch_norm(train, "bn3")(y)
        if self.stride != 1 or x.shape[-1] != out_channels:
            x = conv(out_channels, 1, self.stride, name="downsample_0")(x)
            x = batch_norm(train, "downsample_1")(x)
        return nn.relu(y + x)


class ResNet(nn.Module):
    """The ResNet trunk without its average pool and fully connected layer.

    Attributes:
      stage_sizes: bottlenecks per stage; (3, 4, 6, 3) is ResNet-50, (3, 4, 23, 3) ResNet-101.
      last_stride: stride of the last stage; 1 keeps a 16x16 (at 256x128) map as in the ReID
        strong baseline (Luo et al. 2019), 2 is the ImageNet network.
      remat: recompute each bottleneck in the backward pass (zoo.models.remat).

    Call: images [batch, height, width, 3] (normalised) -> feature map
      [batch, height / (8 * last_stride), width / (8 * last_stride), 2048] (sizes rounded up at
      every stride, as PyTorch does with these paddings).
    """

    stage_sizes: Sequence[int] = (3, 4, 6, 3)
    last_stride: int = 2
    remat: bool = False

    @nn.compact
    def __call__(self, images: jax.Array, *, train: bool) -> jax.Array:
        x = conv(64, 7, 2, name="conv1")(images)
        x = nn.relu(batch_norm(train, "bn1")(x))
        x = max_pool_3x3_s2(x)
        strides = (1, 2, 2, self.last_stride)
        bottleneck = maybe_remat(Bottleneck, self.remat, static_argnums=(2,))
        for stage, (blocks, stride) in enumerate(zip(self.stage_sizes, strides)):
            planes = 64 * 2**stage
            for block in range(blocks):
                x = bottleneck(planes, stride if block == 0 else 1, name=f"layer{stage + 1}_{block}")(x, train)
        return x
