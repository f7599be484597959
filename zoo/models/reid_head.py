"""The re-identification head (pooling, optional reduction, BNNeck, classifier) and `ReidModel`.

The head is the "BNNeck" of the ReID strong baseline (Luo et al., "Bag of Tricks and a Strong
Baseline for Deep Person Re-identification", CVPRW 2019): the pooled embedding feeds the triplet
loss, a BatchNorm of it feeds a bias-free identity classifier (softmax / label smoothing), and
retrieval uses the normalised (post-BN) embedding. The baseline freezes the BN shift at zero
(`bias.requires_grad_(False)`); here the BN simply has no shift (`use_bias=False`), which is the
same function with one parameter less and nothing for an optimiser to touch.
"""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp

from zoo.models.osnet import OSNetAIN, linear_init
from zoo.models.resnet import ResNet, batch_norm

# Backbones by name; each maps images [b, h, w, 3] to a feature map or a pooled feature.
OSNET_AIN_CHANNELS = {
    "osnet_ain_x1_0": (64, 256, 384, 512),
    "osnet_ain_x0_75": (48, 192, 288, 384),
    "osnet_ain_x0_5": (32, 128, 192, 256),
    "osnet_ain_x0_25": (16, 64, 96, 128),
}
BACKBONES = ("resnet50", "osnet_ain", *OSNET_AIN_CHANNELS)
# The strong baseline initialises its classifier with normal(0, 0.001).
classifier_init = nn.initializers.normal(stddev=0.001)
GEM_EPS = 1e-6


def make_backbone(backbone: str, *, last_stride: int = 1, **module_kwargs) -> nn.Module:
    """ResNet-50 (with `last_stride`) or an OSNet-AIN width ("osnet_ain" is x1.0)."""
    if backbone == "resnet50":
        return ResNet(stage_sizes=(3, 4, 6, 3), last_stride=last_stride, **module_kwargs)
    if backbone == "osnet_ain":
        backbone = "osnet_ain_x1_0"
    if backbone in OSNET_AIN_CHANNELS:
        return OSNetAIN(channels=OSNET_AIN_CHANNELS[backbone], feature_dim=512, **module_kwargs)
    raise ValueError(f"Unknown backbone {backbone!r}; expected one of {', '.join(BACKBONES)}.")


class GeM(nn.Module):
    """Generalised-mean pooling (Radenović et al. 2018) with a learned exponent p (init 3).

    p = 1 is average pooling and p -> inf max pooling. Activations are clamped at 1e-6 first so
    the fractional power stays finite (they are post-ReLU, so only exact zeros move).

    Call: feature_map [batch, height, width, channels] -> [batch, channels].
    """

    init_p: float = 3.0

    @nn.compact
    def __call__(self, feature_map: jax.Array) -> jax.Array:
        p = self.param("p", nn.initializers.constant(self.init_p), ())
        powered = jnp.power(jnp.maximum(feature_map, GEM_EPS), p)
        return jnp.power(jnp.mean(powered, axis=(1, 2)), 1.0 / p)


class ReidHead(nn.Module):
    """Pooling, an optional reduction layer, BNNeck and the identity classifier.

    Attributes:
      num_classes: training identities (the classifier's width).
      pooling: "avg" or "gem" over the feature map; a pooled [batch, dim] input is used as is.
      reduction_dim: if set, Linear + BatchNorm1d + ReLU to this width after pooling (torchreid's
        `fc_dims=[512]` of resnet50_fc512), names `reduction` / `reduction_bn`.

    Call: features [batch, height, width, dim] or [batch, dim] ->
      {"embedding": [batch, d] pre-BN (triplet loss), "embedding_bn": [batch, d] post-BN
       (retrieval), "logits": [batch, num_classes] (identity loss)}, d = reduction_dim or dim.
    """

    num_classes: int
    pooling: str = "avg"
    reduction_dim: int | None = None

    @nn.compact
    def __call__(self, features: jax.Array, *, train: bool) -> dict[str, jax.Array]:
        if features.ndim == 4:
            if self.pooling == "avg":
                features = jnp.mean(features, axis=(1, 2))
            elif self.pooling == "gem":
                features = GeM(name="gem")(features)
            else:
                raise ValueError(f"Unknown pooling {self.pooling!r}; expected 'avg' or 'gem'.")
        if self.reduction_dim:  # 0 or None: no reduction layer
            features = nn.Dense(self.reduction_dim, kernel_init=linear_init, name="reduction")(features)
            features = nn.relu(batch_norm(train, "reduction_bn")(features))
        embedding_bn = nn.BatchNorm(
            use_running_average=not train, momentum=0.9, epsilon=1e-5, use_bias=False, name="bnneck"
        )(features)
        logits = nn.Dense(
            self.num_classes, use_bias=False, kernel_init=classifier_init, name="classifier"
        )(embedding_bn)
        return {"embedding": features, "embedding_bn": embedding_bn, "logits": logits}


class ReidModel(nn.Module):
    """A ReID network: backbone (`backbone`) + ReidHead (`head`).

    Attributes:
      backbone: "resnet50" (feature map, pooled by the head) or "osnet_ain" / "osnet_ain_x*"
        (torchreid's pooled 512-d feature after its fc layer; the head then only adds BNNeck and
        the classifier, so pooling must be "avg"; torchreid's own classifier reads the fc output
        directly, without a BNNeck).
      num_classes: training identities.
      pooling: "avg" or "gem" (resnet50 only).
      reduction_dim: optional reduction layer width (e.g. 512 for resnet50_fc512).
      last_stride: stride of ResNet's last stage (1 in the strong baseline: a 16x8 map at 256x128).

    Call: images [batch, height, width, 3], normalised float32 -> ReidHead's dict.
    """

    backbone: str = "resnet50"
    num_classes: int = 751
    pooling: str = "avg"
    reduction_dim: int | None = None
    last_stride: int = 1
    remat: bool = False  # recompute each ResNet bottleneck in the backward pass (resnet50 only)

    @nn.compact
    def __call__(self, images: jax.Array, *, train: bool) -> dict[str, jax.Array]:
        if self.backbone != "resnet50" and self.pooling != "avg":
            raise ValueError(
                f"backbone {self.backbone!r} pools inside the network (as torchreid's OSNet does); "
                f"pooling={self.pooling!r} applies to resnet50 only."
            )
        if self.remat and self.backbone != "resnet50":
            raise ValueError(f"remat is implemented for resnet50's bottlenecks, not {self.backbone!r}.")
        extra = {"remat": True} if self.remat else {}
        backbone = make_backbone(self.backbone, last_stride=self.last_stride, name="backbone", **extra)
        features = backbone(images, train=train)
        return ReidHead(
            self.num_classes, pooling=self.pooling, reduction_dim=self.reduction_dim, name="head"
        )(features, train=train)
