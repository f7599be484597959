"""OSNet-AIN, the omni-scale network with instance normalisation, as torchreid's `osnet_ain_x1_0`.

Zhou et al., "Omni-Scale Feature Learning for Person Re-Identification" (ICCV 2019) and "Learning
Generalisable Omni-Scale Representations for Person Re-Identification" (TPAMI 2021). Each
omni-scale block runs T=4 streams of 1..4 lite 3x3 convolutions (1x1 linear + depthwise 3x3) on a
bottleneck, so the streams see growing receptive fields; one channel gate, shared by all streams,
weights each stream per channel before they are summed (the unified aggregation gate). The AIN
variant adds instance normalisation (IN) in the stem and at the end of the residual branch of the
blocks that the architecture search chose ("INin" blocks).

Module names mirror torchreid's state-dict keys (`conv2_0/conv2_3/layers_1/conv2` is
`conv2.0.conv2.3.layers.1.conv2`), so `zoo.convert` maps weights by renaming. Norms follow PyTorch:
BatchNorm eps 1e-5 / momentum 0.1 (flax 0.9); InstanceNorm2d(affine=True) eps 1e-5 with instance
statistics in training and evaluation alike (no running statistics).
"""

from __future__ import annotations

from collections.abc import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from zoo.models.resnet import batch_norm, conv, conv_init, max_pool_3x3_s2

# Which blocks of the three stages carry IN inside the residual branch (osnet_ain_x1_0).
AIN_BLOCKS = ((True, True), (False, True), (True, False))
# torchreid initialises Linear weights with normal(0, 0.01).
linear_init = nn.initializers.normal(stddev=0.01)


def instance_norm(name: str) -> nn.InstanceNorm:
    """InstanceNorm2d(affine=True): per image and channel over height and width, eps 1e-5."""
    return nn.InstanceNorm(epsilon=1e-5, use_fast_variance=False, name=name)


class ConvNorm(nn.Module):
    """torchreid's ConvLayer / Conv1x1 / Conv1x1Linear: a bias-free conv, a norm, maybe a ReLU.

    Attributes:
      features, kernel, stride: of the convolution (padded by kernel // 2).
      norm: "batch", "instance" or None (Conv1x1Linear(bn=False)).
      relu: whether a ReLU follows.

    Call: x [batch, height, width, in] -> [batch, height / stride, width / stride, features].
    """

    features: int
    kernel: int = 1
    stride: int = 1
    norm: str | None = "batch"
    relu: bool = True

    @nn.compact
    def __call__(self, x: jax.Array, *, train: bool) -> jax.Array:
        x = conv(self.features, self.kernel, self.stride, name="conv")(x)
        if self.norm == "batch":
            x = batch_norm(train, "bn")(x)
        elif self.norm == "instance":
            x = instance_norm("bn")(x)  # torchreid keeps the attribute name `bn` for the IN
        return nn.relu(x) if self.relu else x


class LightConv3x3(nn.Module):
    """1x1 linear convolution, depthwise 3x3, BatchNorm, ReLU.

    Call: x [batch, height, width, in] -> [batch, height, width, features].
    """

    features: int

    @nn.compact
    def __call__(self, x: jax.Array, *, train: bool) -> jax.Array:
        x = conv(self.features, 1, name="conv1")(x)
        x = conv(self.features, 3, name="conv2", groups=self.features)(x)
        return nn.relu(batch_norm(train, "bn")(x))


class LightConvStream(nn.Module):
    """`depth` lite 3x3 convolutions in a row: the receptive field grows by 2 with each.

    Call: x [batch, height, width, in] -> [batch, height, width, features].
    """

    features: int
    depth: int

    @nn.compact
    def __call__(self, x: jax.Array, *, train: bool) -> jax.Array:
        for layer in range(self.depth):
            x = LightConv3x3(self.features, name=f"layers_{layer}")(x, train=train)
        return x


class ChannelGate(nn.Module):
    """Per-channel gates from the globally pooled input: 1x1 conv (C/16), ReLU, 1x1 conv, sigmoid.

    Call: x [batch, height, width, channels] -> x * gates, gates [batch, 1, 1, channels].
    """

    reduction: int = 16

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        channels = x.shape[-1]
        pooled = jnp.mean(x, axis=(1, 2), keepdims=True)
        # 1x1 convolutions (not Dense) so the kernels keep torchreid's [out, in, 1, 1] layout.
        hidden = nn.Conv(channels // self.reduction, (1, 1), kernel_init=conv_init, name="fc1")(pooled)
        gates = nn.Conv(channels, (1, 1), kernel_init=conv_init, name="fc2")(nn.relu(hidden))
        return x * nn.sigmoid(gates)


class OSBlock(nn.Module):
    """Omni-scale residual block (OSBlock, or OSBlockINin when `instance_norm`).

    x -> 1x1 conv-BN-ReLU to features / 4 -> streams of 1..T lite 3x3 convs, each gated by the
    shared channel gate and summed -> 1x1 conv (+BN, or +IN for INin) -> + shortcut -> ReLU.
    The shortcut is a 1x1 conv + BN when the channel count changes.

    Attributes:
      features: output channels.
      instance_norm: the INin variant (IN instead of BN after the last 1x1 conv).
      streams: T, the number of streams (stream t has t lite convolutions).
      bottleneck: the channel reduction of the streams.

    Call: x [batch, height, width, in] -> [batch, height, width, features].
    """

    features: int
    instance_norm: bool = False
    streams: int = 4
    bottleneck: int = 4

    @nn.compact
    def __call__(self, x: jax.Array, *, train: bool) -> jax.Array:
        mid = self.features // self.bottleneck
        reduced = ConvNorm(mid, name="conv1")(x, train=train)
        gate = ChannelGate(name="gate")  # one gate, shared by every stream
        aggregated = 0.0
        for t in range(self.streams):
            stream = LightConvStream(mid, depth=t + 1, name=f"conv2_{t}")(reduced, train=train)
            aggregated = aggregated + gate(stream)
        residual = ConvNorm(
            self.features, norm=None if self.instance_norm else "batch", relu=False, name="conv3"
        )(aggregated, train=train)
        if self.instance_norm:
            residual = instance_norm("IN")(residual)
        if x.shape[-1] != self.features:
            x = ConvNorm(self.features, relu=False, name="downsample")(x, train=train)
        return nn.relu(residual + x)


class OSNetAIN(nn.Module):
    """OSNet-AIN up to the pooled, projected feature (torchreid's `OSNet.forward` in eval mode).

    stem: 7x7/2 conv + IN + ReLU, 3x3/2 max pool; three stages of two omni-scale blocks with a
    transition (1x1 conv-BN-ReLU + 2x2/2 average pool) after the first two; conv5 1x1; global
    average pool; fc: Linear + BatchNorm1d + ReLU to `feature_dim`.

    Attributes:
      channels: stem and stage widths; (64, 256, 384, 512) is x1.0, (16, 64, 96, 128) x0.25.
      feature_dim: width of the fc layer, the feature the classifier would read.
      blocks: per stage, which blocks are INin blocks (AIN_BLOCKS for osnet_ain).

    Call: images [batch, height, width, 3] (normalised) -> feature [batch, feature_dim] (after
      the fc's ReLU). The feature map before pooling is [batch, height / 16, width / 16,
      channels[3]].
    """

    channels: Sequence[int] = (64, 256, 384, 512)
    feature_dim: int = 512
    blocks: Sequence[Sequence[bool]] = AIN_BLOCKS

    @nn.compact
    def __call__(self, images: jax.Array, *, train: bool) -> jax.Array:
        x = ConvNorm(self.channels[0], 7, 2, norm="instance", name="conv1")(images, train=train)
        x = max_pool_3x3_s2(x)
        for stage, (width, layout) in enumerate(zip(self.channels[1:], self.blocks)):
            for index, with_in in enumerate(layout):
                x = OSBlock(width, instance_norm=with_in, name=f"conv{stage + 2}_{index}")(x, train=train)
            if stage < 2:  # transition layers pool2 / pool3
                x = ConvNorm(width, name=f"pool{stage + 2}_0")(x, train=train)
                x = nn.avg_pool(x, (2, 2), strides=(2, 2))
        x = ConvNorm(self.channels[3], name="conv5")(x, train=train)
        feature = jnp.mean(x, axis=(1, 2))
        feature = nn.Dense(self.feature_dim, kernel_init=linear_init, name="fc_0")(feature)
        return nn.relu(batch_norm(train, "fc_1")(feature))
