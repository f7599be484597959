"""ResNet-18/34/50 exactly as torchvision builds them: backbones for ReID, pose and legibility.

He et al., "Deep Residual Learning for Image Recognition", CVPR 2016, in the torchvision "v1.5"
form: ResNet-18/34 stack BasicBlocks (two 3x3 convolutions), ResNet-50/101 Bottlenecks whose
stride sits on the 3x3 convolution; the shortcut is a strided 1x1 convolution + BatchNorm
whenever the shape changes. Every convolution pads explicitly and
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


class BasicBlock(nn.Module):
    """3x3 (strided) -> 3x3, each with BatchNorm, plus the shortcut (ResNet-18/34, HRNet branches).

    Attributes:
      planes: output channels.
      stride: stride of the first convolution and of the shortcut.

    Call: x [batch, height, width, in] -> [batch, height / stride, width / stride, planes].
    """

    planes: int
    stride: int = 1

    @nn.compact
    def __call__(self, x: jax.Array, train: bool) -> jax.Array:
        y = conv(self.planes, 3, self.stride, name="conv1")(x)
        y = nn.relu(batch_norm(train, "bn1")(y))
        y = conv(self.planes, 3, name="conv2")(y)
        y = batch_norm(train, "bn2")(y)
        if self.stride != 1 or x.shape[-1] != self.planes:
            x = conv(self.planes, 1, self.stride, name="downsample_0")(x)
            x = batch_norm(train, "downsample_1")(x)
        return nn.relu(y + x)


# torchvision's depths: name -> (block, blocks per stage).
RESNETS = {
    "resnet18": ("basic", (2, 2, 2, 2)),
    "resnet34": ("basic", (3, 4, 6, 3)),
    "resnet50": ("bottleneck", (3, 4, 6, 3)),
    "resnet101": ("bottleneck", (3, 4, 23, 3)),
}


class ResNet(nn.Module):
    """The ResNet trunk without its average pool and fully connected layer.

    Attributes:
      stage_sizes: blocks per stage; with bottlenecks (3, 4, 6, 3) is ResNet-50 and
        (3, 4, 23, 3) ResNet-101, with basic blocks (2, 2, 2, 2) is ResNet-18 and (3, 4, 6, 3)
        ResNet-34 (see RESNETS).
      block: "bottleneck" (x4 expansion) or "basic".
      last_stride: stride of the last stage; 1 keeps a 16x16 (at 256x128) map as in the ReID
        strong baseline (Luo et al. 2019), 2 is the ImageNet network.
      width: channels of the stem and the first stage (64 in every torchvision ResNet; smaller
        widths make CPU-sized variants that no ImageNet checkpoint fits).
      return_stages: return the stem (after conv1/bn1/relu, stride 2) and every stage's output
        instead of the last map, for feature pyramids.
      remat: recompute each block in the backward pass (zoo.models.remat).

    Call: images [batch, height, width, 3] (normalised) -> feature map
      [batch, height / (8 * last_stride), width / (8 * last_stride), channels] with channels
      8 * width for basic blocks (512) and 32 * width for bottlenecks (2048), sizes rounded up at
      every stride, as PyTorch does with these paddings; with return_stages, the list [stem,
      stage1, ..., stage4] at strides 2, 4, 8, 16, 8 * last_stride.
    """

    stage_sizes: Sequence[int] = (3, 4, 6, 3)
    last_stride: int = 2
    block: str = "bottleneck"
    width: int = 64
    remat: bool = False
    return_stages: bool = False

    @nn.compact
    def __call__(self, images: jax.Array, *, train: bool) -> jax.Array | list[jax.Array]:
        if self.block not in ("bottleneck", "basic"):
            raise ValueError(f"Unknown ResNet block {self.block!r}; expected 'bottleneck' or 'basic'.")
        # the train flag is positional: remat needs it static (argument 2, counting self)
        block_class = maybe_remat(Bottleneck if self.block == "bottleneck" else BasicBlock, self.remat,
                                  static_argnums=(2,))
        x = conv(self.width, 7, 2, name="conv1")(images)
        x = nn.relu(batch_norm(train, "bn1")(x))
        stages = [x]
        x = max_pool_3x3_s2(x)
        strides = (1, 2, 2, self.last_stride)
        for stage, (blocks, stride) in enumerate(zip(self.stage_sizes, strides)):
            planes = self.width * 2**stage
            for block in range(blocks):
                x = block_class(planes, stride if block == 0 else 1, name=f"layer{stage + 1}_{block}")(x, train)
            stages.append(x)
        return stages if self.return_stages else x


def resnet(depth: str, **kwargs) -> ResNet:
    """A torchvision ResNet trunk by name ("resnet18", "resnet34", "resnet50", "resnet101")."""
    if depth not in RESNETS:
        raise ValueError(f"Unknown ResNet {depth!r}; expected one of {', '.join(RESNETS)}.")
    block, stages = RESNETS[depth]
    return ResNet(stage_sizes=stages, block=block, **kwargs)


class ResNetClassifier(nn.Module):
    """A torchvision ResNet with its classifier: trunk, global average pool, `fc`.

    The jersey legibility classifier is one (Koshkina & Elder: ResNet-34, one sigmoid output).

    Attributes:
      depth: "resnet18", "resnet34", "resnet50" or "resnet101".
      num_outputs: width of `fc` (1: a binary classifier read through a sigmoid).
      width: see `ResNet` (64 for ImageNet weights).
      remat: see `ResNet`.

    Call: images [batch, height, width, 3] (normalised) -> {"logits": [batch, num_outputs]}.
    """

    depth: str = "resnet34"
    num_outputs: int = 1
    width: int = 64
    remat: bool = False

    @nn.compact
    def __call__(self, images: jax.Array, *, train: bool) -> dict[str, jax.Array]:
        features = resnet(self.depth, width=self.width, remat=self.remat, name="backbone")(images, train=train)
        pooled = jnp.mean(features, axis=(1, 2))
        # torchvision's Linear init: uniform(+-1/sqrt(fan_in)) for weight and bias.
        bound = pooled.shape[-1] ** -0.5
        init = nn.initializers.uniform(2 * bound)
        logits = nn.Dense(self.num_outputs, kernel_init=lambda *a: init(*a) - bound,
                          bias_init=lambda *a: init(*a) - bound, name="fc")(pooled)
        return {"logits": logits}
