"""CALF (Cioppa et al., CVPR 2020) and its calibration-aware form (Cioppa et al., CVPRW 2021).

CALF spots actions in chunks of T frames of per-frame features (2-minute chunks at 2 fps):

  feature branch   per-frame Linear D -> 64m, Linear 64m -> 16m, then a temporal pyramid of 1-D
                   convolutions with kernels ceil(RF/7), ceil(RF/3), ceil(RF/2), RF (RF the
                   receptive field in frames) and 4m, 8m, 16m, 32m channels, all concatenated:
                   76m channels per frame, ReLU everywhere.
  segmentation     a 3-frame convolution to C capsules of `dim_capsule` values per frame,
                   BatchNorm over the *time* axis (the published BatchNorm2d(chunk_size) on
                   [B, T, d, C]: one mean and variance per chunk position), sigmoid, and the
                   score of class c at t = sqrt(4 / d * sum_k (s_tkc - 1/2)^2) in [0, 1].
  spotting         the capsules (before BatchNorm) and 1 - score, ReLU, three rounds of
                   max-pool(3, stride 2) / 3-frame convolutions (32 then 16 channels), flattened,
                   then two linear heads: N action vectors per chunk, each (sigmoid confidence,
                   sigmoid position in the chunk, softmax over the C classes).

m is 2 * `feature_multiplier` for plain CALF (128 / 32 channels: 152 per frame at m = 2) and
`feature_multiplier` when a context branch is added; the calibration paper uses
feature_multiplier 2, so that the ResNet-feature branch and the context branch give 152 channels
each, concatenated (304) before the segmentation module. Context branches (`context`):

  "topview_features"  per-frame features of the top views (a frozen ResNet-34's 512-d average
                      pool), one Linear -> 76m + ReLU (the paper's best patterned-class model).
  "topview_images"    the top views themselves [T, H, W, 3] (the published 64 x 32 "radar"
                      images): per frame 5x5 conv 16 + max-pool 4, 5x5 conv 16m + max-pool 2
                      (the published (1, 5, 5) 3-D convolutions), a temporal pyramid of
                      (k, 1, 1) convolutions as above, each max-pooled over the remaining
                      spatial cells: 76m channels.
  "player_graph"      a player graph per frame through a DeeperGCN (zoo.models.deeper_gcn),
                      max-pooled over the nodes and lifted to 76m channels.

Inputs are a dict: "features" [B, T, D] always; "topview_features" [B, T, F],
"topview_images" [B, T, H, W, 3], or "graph_nodes" [B, T, P, 8] + "graph_positions" [B, T, P, 2]
+ "graph_mask" [B, T, P] for the context branch. Outputs: {"segmentation": [B, T, C] scores,
"spotting": [B, N, 2 + C]}. Module names follow the published layers (conv_1, conv_p_1, ...).
"""

from __future__ import annotations

import math

import einops
import flax.linen as nn
import jax
import jax.numpy as jnp

from zoo.models.deeper_gcn import DeeperGCN

CONTEXTS = ("none", "topview_features", "topview_images", "player_graph")
PYRAMID_DIVISORS = (7, 3, 2, 1)  # kernel = ceil(receptive_field / divisor)
PYRAMID_WIDTHS = (4, 8, 16, 32)  # channels per pyramid level, times the multiplier


def pyramid_kernels(receptive_field: int) -> tuple[int, ...]:
    return tuple(math.ceil(receptive_field / d) for d in PYRAMID_DIVISORS)


def same_padding(kernel: int) -> tuple[int, int]:
    """PyTorch ZeroPad2d((k - 1) // 2 before, the rest after), which keeps the length."""
    return (kernel - 1) // 2, kernel - 1 - (kernel - 1) // 2


def temporal_conv(features: int, kernel: int, name: str) -> nn.Conv:
    """A convolution over the time axis of [batch, time, channels], length-preserving."""
    return nn.Conv(features, (kernel,), padding=(same_padding(kernel),), name=name)


class TemporalPyramid(nn.Module):
    """Per-frame reduction and the temporal pyramid: [B, T, D] -> [B, T, 76 m]."""

    multiplier: int
    receptive_field: int
    prefix: str = ""

    @nn.compact
    def __call__(self, features: jax.Array) -> jax.Array:
        m, p = self.multiplier, self.prefix
        x = nn.relu(nn.Dense(64 * m, name=f"{p}conv_1")(features))
        x = nn.relu(nn.Dense(16 * m, name=f"{p}conv_2")(x))
        levels = [
            nn.relu(temporal_conv(width * m, kernel, f"{p}conv_p_{i + 1}")(x))
            for i, (width, kernel) in enumerate(zip(PYRAMID_WIDTHS, pyramid_kernels(self.receptive_field)))
        ]
        return jnp.concatenate([x, *levels], axis=-1)


class TopViewImageBranch(nn.Module):
    """The published "3DConv" branch on top views: [B, T, H, W, C] -> [B, T, 76 m].

    The (1, 5, 5) and (1, k, k) 3-D convolutions and pools touch one frame at a time, so they run
    as 2-D layers over all frames; the (k, 1, 1) pyramid runs as 1-D convolutions over time at
    every remaining spatial cell. The final max-pool takes the published window,
    (((H - 4) / 4 - 4) / 2) x (((W - 4) / 4 - 4) / 2) cells, truncated.
    """

    multiplier: int
    receptive_field: int

    @nn.compact
    def __call__(self, images: jax.Array) -> jax.Array:
        b, t, h, w, _ = images.shape
        m = self.multiplier
        x = einops.rearrange(images, "b t h w c -> (b t) h w c")
        x = nn.relu(nn.Conv(16, (5, 5), padding="VALID", name="r_conv_1")(x))
        x = nn.max_pool(x, (4, 4), strides=(4, 4))
        x = nn.relu(nn.Conv(16 * m, (5, 5), padding="VALID", name="r_conv_2")(x))
        x = nn.max_pool(x, (2, 2), strides=(2, 2))
        pool_h, pool_w = int((((h - 4) / 4) - 4) / 2), int((((w - 4) / 4) - 4) / 2)
        if pool_h < 1 or pool_w < 1:
            raise ValueError(f"Top views of {h}x{w} are too small for this branch (at least 20x20).")
        cells_h, cells_w = x.shape[1], x.shape[2]
        x = einops.rearrange(x, "(b t) h w c -> (b h w) t c", b=b, t=t)

        def pooled(y):  # max over the published spatial window, which must leave one cell
            y = einops.rearrange(y, "(b h w) t c -> b t h w c", b=b, h=cells_h, w=cells_w)
            y = y[:, :, : (cells_h // pool_h) * pool_h, : (cells_w // pool_w) * pool_w]
            y = einops.reduce(y, "b t (h ph) (w pw) c -> b t h w c", "max", ph=pool_h, pw=pool_w)
            if y.shape[2:4] != (1, 1):
                raise ValueError(f"Top views of {h}x{w} leave {y.shape[2:4]} cells after pooling; "
                                 "the published branch needs one (e.g. 32x64).")
            return y[:, :, 0, 0]

        levels = [
            pooled(nn.relu(temporal_conv(width * m, kernel, f"r_conv_p_{i + 1}")(x)))
            for i, (width, kernel) in enumerate(zip(PYRAMID_WIDTHS, pyramid_kernels(self.receptive_field)))
        ]
        return jnp.concatenate([pooled(x), *levels], axis=-1)


class CALF(nn.Module):
    """CALF with an optional calibration context branch (see the module docstring).

    Attributes:
      num_classes: C, the classes this network spots (17, or the 8 / 9 of a class subset).
      chunk_size: T, frames per chunk (published 240 = 120 s at 2 fps); the BatchNorm of the
        segmentation module has one statistic per chunk position, so T is fixed.
      receptive_field: frames (published 80 = 40 s).
      dim_capsule: values per class capsule (16).
      num_detections: N action vectors per chunk (15).
      feature_multiplier: width multiplier (1 for CALF, 2 in the calibration paper).
      context: one of CONTEXTS.
      context_dropout: in training, drop the feature branch with probability p/2 and the context
        branch with probability p/2 (the published `with_dropout`; 0 disables).
      graph_*: the DeeperGCN of the "player_graph" context (hidden width, layers, dropout,
        edge distance in metres, aggregation backend).
    """

    num_classes: int
    chunk_size: int = 240
    receptive_field: int = 80
    dim_capsule: int = 16
    num_detections: int = 15
    feature_multiplier: int = 1
    context: str = "none"
    context_dropout: float = 0.0
    graph_hidden: int = 64
    graph_layers: int = 14
    graph_dropout: float = 0.1
    graph_edge_distance: float = 25.0
    graph_aggregation: str = "dense"

    def _context(self, inputs: dict, train: bool) -> jax.Array:
        m = self.feature_multiplier
        if self.context == "topview_features":
            return nn.relu(nn.Dense(76 * m, name="dense_1")(inputs["topview_features"]))
        if self.context == "topview_images":
            return TopViewImageBranch(m, self.receptive_field, name="topview")(inputs["topview_images"])
        b, t = inputs["graph_nodes"].shape[:2]
        flat = lambda x: einops.rearrange(x, "b t ... -> (b t) ...")
        graph = DeeperGCN(
            76 * m, hidden=self.graph_hidden, num_layers=self.graph_layers, dropout_rate=self.graph_dropout,
            edge_distance=self.graph_edge_distance, aggregation=self.graph_aggregation, name="graph",
        )(flat(inputs["graph_nodes"]), flat(inputs["graph_positions"]), flat(inputs["graph_mask"]), train=train)
        return einops.rearrange(graph, "(b t) c -> b t c", b=b, t=t)

    @nn.compact
    def __call__(self, inputs: dict, *, train: bool) -> dict[str, jax.Array]:
        if self.context not in CONTEXTS:
            raise ValueError(f"Unknown context {self.context!r}; expected one of {CONTEXTS}.")
        features = inputs["features"]
        if features.shape[1] != self.chunk_size:
            raise ValueError(f"CALF takes chunks of {self.chunk_size} frames, got {features.shape[1]}.")
        with_context = self.context != "none"
        multiplier = self.feature_multiplier * (1 if with_context else 2)
        x = TemporalPyramid(multiplier, self.receptive_field, name="features")(features)
        if with_context:
            context = self._context(inputs, train)
            if train and self.context_dropout > 0:
                draw = jax.random.uniform(self.make_rng("dropout"), ())
                x = jnp.where(draw < self.context_dropout / 2, 0.0, x)
                context = jnp.where((draw >= self.context_dropout / 2) & (draw < self.context_dropout), 0.0, context)
            x = jnp.concatenate([x, context], axis=-1)

        # Segmentation module.
        c, d = self.num_classes, self.dim_capsule
        capsules = temporal_conv(d * c, 3, "conv_seg")(x)  # channel k * C + c: capsule value k of class c
        normalised = nn.BatchNorm(
            use_running_average=not train, axis=1, momentum=0.99, epsilon=1e-3, name="batch_seg",
        )(einops.rearrange(capsules, "b t (d c) -> b t d c", d=d, c=c))
        distance = jnp.sum(jnp.square(nn.sigmoid(normalised) - 0.5), axis=2) * 4.0 / d
        segmentation = jnp.sqrt(distance)

        # Spotting module.
        y = nn.relu(jnp.concatenate([capsules, 1.0 - segmentation], axis=-1))
        y = nn.max_pool(y, (3,), strides=(2,))
        y = nn.relu(temporal_conv(32, 3, "conv_spot_1")(y))
        y = nn.max_pool(y, (3,), strides=(2,))
        y = nn.relu(temporal_conv(16, 3, "conv_spot_2")(y))
        y = nn.max_pool(y, (3,), strides=(2,))
        y = einops.rearrange(y, "b t c -> b (c t)")  # torch's channel-major flatten
        n = self.num_detections
        confidence_position = nn.sigmoid(
            einops.rearrange(nn.Dense(n * 2, name="conv_conf")(y), "b (n k) -> b n k", n=n))
        classes = nn.softmax(einops.rearrange(nn.Dense(n * c, name="conv_class")(y), "b (n c) -> b n c", n=n))
        return {"segmentation": segmentation, "spotting": jnp.concatenate([confidence_position, classes], axis=-1)}
