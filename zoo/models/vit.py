"""The Vision Transformer encoder of timm (PARSeq's encoder) and of ViTPose, with their key names.

Dosovitskiy et al., "An Image is Worth 16x16 Words", ICLR 2021, as timm's `VisionTransformer`
builds it without a class token: a strided convolution cuts the image into patches, a learned
position embedding is added, then pre-norm blocks `x + attn(norm1(x))`, `x + mlp(norm2(x))` and a
final LayerNorm (eps 1e-6). Module names follow the PyTorch keys (`patch_embed/proj`,
`blocks_0/attn/qkv`, `blocks_0/mlp/fc1`, `norm`), so `zoo.convert` maps weights by renaming.

ViTPose (Xu et al., NeurIPS 2022) uses the same blocks with two differences, both fields here:
its patch convolution pads by 2 (`patch_padding`), and its position embedding has one extra
leading entry (the pre-training class token's), added to every patch (`class_token_position`).
"""

from __future__ import annotations

from collections.abc import Sequence

import einops
import flax.linen as nn
import jax
import jax.numpy as jnp

from zoo.models.remat import maybe_remat

# timm initialises Linear weights and the position embedding with trunc_normal(std=0.02).
dense_init = nn.initializers.truncated_normal(stddev=0.02)
LAYER_NORM_EPS = 1e-6


def gelu(x: jax.Array) -> jax.Array:
    """PyTorch's default nn.GELU: the exact erf form, not the tanh approximation."""
    return nn.gelu(x, approximate=False)


def attention(q: jax.Array, k: jax.Array, v: jax.Array, mask: jax.Array | None = None,
              dropout: nn.Dropout | None = None, deterministic: bool = True) -> jax.Array:
    """Scaled dot-product attention over heads.

    q [..., queries, heads, head_dim], k and v [..., keys, heads, head_dim]; leading axes
    broadcast (one memory can serve many queries). mask [..., queries, keys] (broadcastable),
    True where a key is hidden. Returns [..., queries, heads, head_dim].
    """
    scores = jnp.einsum("...qhd,...khd->...hqk", q * q.shape[-1] ** -0.5, k)
    if mask is not None:
        scores = jnp.where(jnp.expand_dims(mask, -3), jnp.finfo(scores.dtype).min, scores)
    weights = jax.nn.softmax(scores, axis=-1)
    if dropout is not None:
        weights = dropout(weights, deterministic=deterministic)
    return jnp.einsum("...hqk,...khd->...qhd", weights, v)


class SelfAttention(nn.Module):
    """timm's Attention: one `qkv` Linear, heads, `proj`.

    Call: x [batch, tokens, dim] -> [batch, tokens, dim].
    """

    num_heads: int

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        dim = x.shape[-1]
        qkv = nn.Dense(3 * dim, kernel_init=dense_init, name="qkv")(x)
        q, k, v = einops.rearrange(qkv, "b n (three h d) -> three b n h d", three=3, h=self.num_heads)
        out = einops.rearrange(attention(q, k, v), "b n h d -> b n (h d)")
        return nn.Dense(dim, kernel_init=dense_init, name="proj")(out)


class Mlp(nn.Module):
    """fc1 -> GELU -> fc2.  Call: x [..., dim] -> [..., dim]."""

    hidden: int

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        y = gelu(nn.Dense(self.hidden, kernel_init=dense_init, name="fc1")(x))
        return nn.Dense(x.shape[-1], kernel_init=dense_init, name="fc2")(y)


class Block(nn.Module):
    """A pre-norm transformer block.  Call: x [batch, tokens, dim] -> [batch, tokens, dim]."""

    num_heads: int
    mlp_ratio: float = 4.0

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        x = x + SelfAttention(self.num_heads, name="attn")(nn.LayerNorm(LAYER_NORM_EPS, name="norm1")(x))
        hidden = int(x.shape[-1] * self.mlp_ratio)
        return x + Mlp(hidden, name="mlp")(nn.LayerNorm(LAYER_NORM_EPS, name="norm2")(x))


class PatchEmbed(nn.Module):
    """A strided convolution over patches.  Call: images [b, h, w, 3] -> [b, h', w', dim]."""

    embed_dim: int
    patch_size: Sequence[int]
    padding: int = 0

    @nn.compact
    def __call__(self, images: jax.Array) -> jax.Array:
        pad = self.padding
        return nn.Conv(self.embed_dim, tuple(self.patch_size), strides=tuple(self.patch_size),
                       padding=((pad, pad), (pad, pad)), name="proj")(images)


class VisionTransformer(nn.Module):
    """The ViT encoder, without class token or classifier.

    Attributes:
      patch_size: (height, width) of a patch (PARSeq: (4, 8); ViTPose: (16, 16)).
      embed_dim, depth, num_heads, mlp_ratio: the usual sizes (ViT-S: 384, 12, 6, 4).
      patch_padding: zero padding of the patch convolution (ViTPose: 2).
      class_token_position: the position embedding has a leading class-token entry that is added
        to every patch (ViTPose), rather than one entry per patch only (timm without class token).
      remat: recompute each block in the backward pass (zoo.models.remat).

    Call: images [batch, height, width, 3] -> (tokens [batch, h' * w', embed_dim], (h', w')),
      tokens in row-major patch order, after the final LayerNorm `norm`.
    """

    patch_size: Sequence[int] = (4, 8)
    embed_dim: int = 384
    depth: int = 12
    num_heads: int = 6
    mlp_ratio: float = 4.0
    patch_padding: int = 0
    class_token_position: bool = False
    remat: bool = False

    @nn.compact
    def __call__(self, images: jax.Array) -> tuple[jax.Array, tuple[int, int]]:
        grid = PatchEmbed(self.embed_dim, self.patch_size, self.patch_padding, name="patch_embed")(images)
        grid_size = grid.shape[1:3]
        x = einops.rearrange(grid, "b h w d -> b (h w) d")
        positions = x.shape[1] + int(self.class_token_position)
        pos_embed = self.param("pos_embed", dense_init, (1, positions, self.embed_dim))
        if self.class_token_position:
            x = x + pos_embed[:, 1:] + pos_embed[:, :1]
        else:
            x = x + pos_embed
        block = maybe_remat(Block, self.remat, static_argnums=())
        for i in range(self.depth):
            x = block(self.num_heads, self.mlp_ratio, name=f"blocks_{i}")(x)
        return nn.LayerNorm(LAYER_NORM_EPS, name="norm")(x), grid_size
