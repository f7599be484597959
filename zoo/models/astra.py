"""ASTRA: a Transformer encoder-decoder that spots actions in chunks of frame features.

Xarles, Escalera, Moeslund, Clapés, "ASTRA: An Action Spotting TRAnsformer for Soccer Videos",
ACM MMSports 2023 (3rd in the 2023 SoccerNet action-spotting challenge, 70.10 tight Average-mAP).
This is its video-feature path (the published model adds a VGGish audio branch; the zoo has no
audio features):

  features [b, T_in, sum(groups)] -> per feature group (Baidu's five concatenated extractors, or
  one group for the ResNet features) a position-wise feed-forward (PFFN) to `dim`
  -> + a learned temporal encoding (per input step) + a learned group encoding
  -> tokens in time-major order [b, T_in * G, dim]
  -> a "hierarchical" Transformer encoder: layer l attends within `encoder_splits[l]` consecutive
     segments of the tokens (4, 2, then 1 = global), so early layers are local in time
  -> a Transformer decoder whose `output_frames` learned queries attend to the tokens
  -> per output step: class probabilities over background + K classes (sigmoid, multi-label) and
     a displacement (output steps from the event) with a log-variance (the uncertainty-aware head).

Encoder and decoder layers are PyTorch's `nn.TransformerEncoderLayer` / `DecoderLayer` as ASTRA
uses them: post-norm, ReLU, feed-forward 4 x dim, dropout 0.1 inside the layers, 8 heads.
During training two feature augmentations run inside the model: temporal drop (input steps
replaced by a learned embedding) and random switch (neighbouring input steps swapped).
"""

from __future__ import annotations

from collections.abc import Sequence

import einops
import flax.linen as nn
import jax
import jax.numpy as jnp

# Baidu's soccer embeddings (8576-d at 1 fps) concatenate five extractors' outputs, in this order
# (ASTRA `Bfeat_dim`): each gets its own PFFN and group encoding.
BAIDU_GROUPS = (2048, 2048, 384, 2048, 2048)


def _uniform01(key, shape, dtype=jnp.float32):
    """torch.rand: ASTRA initialises its encodings and queries uniformly in [0, 1)."""
    return jax.random.uniform(key, shape, dtype)


# How the temporal and group encodings and the decoder queries start: "uniform" is ASTRA's
# torch.rand; "normal" draws them from N(0, 1), so that they start far apart (uniform vectors in
# [0, 1) share their mean and start nearly parallel, which a long training run has to undo).
ENCODING_INITS = {"uniform": _uniform01, "normal": nn.initializers.normal(1.0)}


class FeedForward(nn.Module):
    """Dropout -> Dense(hidden) -> ReLU -> Dropout -> Dense(out) (ASTRA's PFFN and heads)."""

    hidden: int
    out: int
    dropout: float

    @nn.compact
    def __call__(self, x: jax.Array, *, train: bool) -> jax.Array:
        x = nn.Dropout(self.dropout, deterministic=not train)(x)
        x = nn.relu(nn.Dense(self.hidden, name="hidden")(x))
        x = nn.Dropout(self.dropout, deterministic=not train)(x)
        return nn.Dense(self.out, name="out")(x)


class EncoderLayer(nn.Module):
    """torch.nn.TransformerEncoderLayer (post-norm, ReLU). Call: x [b, n, d], mask [b|1, 1, n, n]."""

    heads: int
    mlp_dim: int
    dropout: float = 0.1

    @nn.compact
    def __call__(self, x: jax.Array, mask: jax.Array | None, *, train: bool) -> jax.Array:
        drop = lambda y: nn.Dropout(self.dropout, deterministic=not train)(y)  # noqa: E731
        attention = nn.MultiHeadDotProductAttention(
            self.heads, dropout_rate=self.dropout, deterministic=not train, name="self_attention")(x, x, mask=mask)
        x = nn.LayerNorm(epsilon=1e-5, name="norm1")(x + drop(attention))
        y = nn.Dense(self.mlp_dim, name="linear1")(x)
        y = nn.Dense(x.shape[-1], name="linear2")(drop(nn.relu(y)))
        return nn.LayerNorm(epsilon=1e-5, name="norm2")(x + drop(y))


class DecoderLayer(nn.Module):
    """torch.nn.TransformerDecoderLayer (post-norm, ReLU). Call: queries [b, q, d], memory [b, n, d]."""

    heads: int
    mlp_dim: int
    dropout: float = 0.1

    @nn.compact
    def __call__(self, x: jax.Array, memory: jax.Array, *, train: bool) -> jax.Array:
        drop = lambda y: nn.Dropout(self.dropout, deterministic=not train)(y)  # noqa: E731
        attend = lambda name: nn.MultiHeadDotProductAttention(  # noqa: E731
            self.heads, dropout_rate=self.dropout, deterministic=not train, name=name)
        x = nn.LayerNorm(epsilon=1e-5, name="norm1")(x + drop(attend("self_attention")(x, x)))
        x = nn.LayerNorm(epsilon=1e-5, name="norm2")(x + drop(attend("cross_attention")(x, memory)))
        y = nn.Dense(self.mlp_dim, name="linear1")(x)
        y = nn.Dense(x.shape[-1], name="linear2")(drop(nn.relu(y)))
        return nn.LayerNorm(epsilon=1e-5, name="norm3")(x + drop(y))


def segment_mask(num_tokens: int, segments: int) -> jax.Array:
    """[1, 1, n, n] attention mask of ASTRA's split layers: tokens attend within their segment.

    ASTRA cuts the n tokens into `segments` pieces, the first `segments - 1` of n // segments
    tokens and the last with the rest, and runs the layer on each piece; a block-diagonal mask
    over the whole sequence computes exactly that.
    """
    length = max(num_tokens // segments, 1)
    segment = jnp.minimum(jnp.arange(num_tokens) // length, segments - 1)
    return (segment[:, None] == segment[None, :])[None, None]


def temporal_drop(key: jax.Array, features: jax.Array, embedding: jax.Array, rate: float) -> jax.Array:
    """Replaces each input step of each example, with probability `rate`, by `embedding`. [b, t, f]."""
    dropped = jax.random.bernoulli(key, rate, features.shape[:2])[..., None]
    return jnp.where(dropped, embedding.astype(features.dtype), features)


def random_switch(key: jax.Array, features: jax.Array, rate: float) -> jax.Array:
    """Swaps input steps t and t + 1 for each t drawn with probability `rate`, per example. [b, t, f].

    As ASTRA's in-place swap `x[i], x[i + 1] = x[i + 1], x[i]` over all drawn i at once: when
    drawn steps are neighbours the second assignment wins (step i + 1 takes step i's features).
    """
    batch, steps = features.shape[:2]
    drawn = jax.random.bernoulli(key, rate, (batch, steps)).at[:, -1].set(False)
    position = jnp.arange(steps)[None]
    source = jnp.where(drawn, position + 1, position)
    after_drawn = jnp.pad(drawn[:, :-1], ((0, 0), (1, 0)))  # step t follows a drawn step t - 1
    source = jnp.where(after_drawn, position - 1, source)
    return jnp.take_along_axis(features, source[..., None], axis=1)


class ASTRA(nn.Module):
    """ASTRA over one chunk of frame features (see the module docstring).

    Attributes:
      num_classes: K action classes; outputs have K + 1 columns, background first.
      feature_groups: widths of the concatenated feature groups (BAIDU_GROUPS, or (512,)).
      input_frames: feature steps per chunk (chunk seconds x feature rate).
      output_frames: output steps per chunk (chunk seconds x output rate; ASTRA: 2 per second).
      dim: token width (512).
      heads: attention heads (8).
      encoder_splits: segments of each encoder layer, one entry per layer ((4, 2, 1)).
      decoder_layers: decoder layers (3).
      dropout: dropout of the PFFNs and heads (0.4); the Transformer layers use 0.1.
      temporal_drop_rate, random_switch_rate: feature augmentations in training (0.5, 0.3).
      encoding_init: "uniform" (ASTRA) or "normal", see ENCODING_INITS.

    Call: features [b, input_frames, sum(feature_groups)] -> {"class_logits": [b, output_frames,
      K + 1], "displacement": [b, output_frames, K + 1], "log_variance": [b, output_frames, K + 1]}.
      Class probabilities are sigmoid(class_logits); the event of a class detected at output step j
      is at j - displacement (steps).
    """

    num_classes: int
    feature_groups: Sequence[int] = (512,)
    input_frames: int = 100
    output_frames: int = 100
    dim: int = 512
    heads: int = 8
    encoder_splits: Sequence[int] = (4, 2, 1)
    decoder_layers: int = 3
    dropout: float = 0.4
    temporal_drop_rate: float = 0.5
    random_switch_rate: float = 0.3
    encoding_init: str = "uniform"

    @nn.compact
    def __call__(self, features: jax.Array, *, train: bool = False) -> dict[str, jax.Array]:
        width = sum(self.feature_groups)
        if features.shape[1:] != (self.input_frames, width):
            raise ValueError(f"ASTRA takes [batch, {self.input_frames}, {width}] features, got {features.shape}")
        outputs = self.num_classes + 1
        if self.encoding_init not in ENCODING_INITS:
            raise ValueError(f"encoding_init must be one of {', '.join(ENCODING_INITS)}, got {self.encoding_init!r}")
        init = ENCODING_INITS[self.encoding_init]
        if train and self.temporal_drop_rate > 0:
            embedding = self.param("temporal_drop_embedding", _uniform01, (width,))
            features = temporal_drop(self.make_rng("dropout"), features, embedding, self.temporal_drop_rate)
        elif self.temporal_drop_rate > 0:  # the parameter exists in inference too
            self.param("temporal_drop_embedding", _uniform01, (width,))
        if train and self.random_switch_rate > 0:
            features = random_switch(self.make_rng("dropout"), features, self.random_switch_rate)

        bounds = [0]
        for size in self.feature_groups:
            bounds.append(bounds[-1] + size)
        groups = [
            nn.relu(FeedForward(size, self.dim, self.dropout, name=f"group{g}_pffn")(
                features[..., bounds[g] : bounds[g + 1]], train=train))
            for g, size in enumerate(self.feature_groups)
        ]
        tokens = jnp.stack(groups, axis=2)  # [b, t, g, d]
        tokens += self.param("temporal_encoding", init, (self.input_frames, self.dim))[None, :, None]
        tokens += self.param("group_encoding", init, (len(self.feature_groups), self.dim))[None, None]
        tokens = einops.rearrange(tokens, "b t g d -> b (t g) d")

        for layer, segments in enumerate(self.encoder_splits):
            mask = segment_mask(tokens.shape[1], segments) if segments > 1 else None
            tokens = EncoderLayer(self.heads, 4 * self.dim, name=f"encoder{layer}")(tokens, mask, train=train)

        queries = self.param("queries", init, (self.output_frames, self.dim))
        x = jnp.broadcast_to(queries, (features.shape[0], *queries.shape))
        for layer in range(self.decoder_layers):
            x = DecoderLayer(self.heads, 4 * self.dim, name=f"decoder{layer}")(x, tokens, train=train)

        class_logits = FeedForward(self.dim, outputs, self.dropout, name="class_head")(x, train=train)
        # The uncertainty-aware displacement head: a shared two-layer trunk, then mean and log-variance.
        shared = nn.relu(FeedForward(self.dim, self.dim, self.dropout, name="displacement_trunk")(x, train=train))
        mean, log_variance = (  # each head drops its own units, as ASTRA's
            nn.Dense(outputs, name=name)(nn.Dropout(self.dropout, deterministic=not train)(shared))
            for name in ("displacement_mean", "displacement_log_variance"))
        return {"class_logits": class_logits, "displacement": mean, "log_variance": log_variance}
