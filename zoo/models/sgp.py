"""SGP blocks, the SGP-Mixer and T-DEED's encoder-decoder of them, on [batch, time, dim] sequences.

SGP (Shi et al., "TriDet: Temporal Action Detection with Relative Boundary Modeling", CVPR 2023)
replaces self-attention by two branches on the channel-layer-normalised input x':
- instant level: fc(x') * relu(global_fc(mean_t x')), a per-channel scale of each frame by a
  gate computed from the whole-sequence mean;
- window level: (convw(x') + convkw(x')) * psi(x'), depthwise convolutions of width `kernel_size`
  and round((kernel_size + 1) * r) (made odd) times a depthwise `psi` of width `kernel_size`;
then x + x' + both branches, and a GroupNorm(16) + MLP(4x, GELU) residual. All the branch convs
are depthwise (per channel), as in T-DEED's `SGPBlock`.

The SGP-Mixer (Xarles et al., "T-DEED: Temporal-Discriminability Enhancer Encoder-Decoder for
Precise Event Spotting in Sports Videos", CVPRW 2024) fuses a coarse sequence, layer-normed and
linearly upsampled (align_corners) to the skip's length, with the skip: both get the two SGP
branches, the four branch outputs and both inputs are concatenated (6 * dim), projected back to
dim with GELU, and a GroupNorm + MLP residual follows.

The encoder-decoder (`SGPEncoderDecoder`, T-DEED's `EDSGPMIXERLayers`) runs `num_layers` levels
of SGP block + max-pool by 2 (PyTorch's AdaptiveMaxPool1d to ceil(length / 2)), an SGP block at
the bottom, then per level an SGP-Mixer with the level's skip and an SGP block. Initialisation as
T-DEED: branch convs normal(0, 0.1) with zero bias, the mixer's projection too; MLP and norms
with PyTorch's defaults.
"""

from __future__ import annotations

import math

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from zoo.models.temporal_shift import torch_default_bias_init, torch_default_kernel_init

BRANCH_INIT_STD = 0.1  # T-DEED's init_conv_vars (used as the standard deviation)
GROUPS = 16


def gelu(x: jax.Array) -> jax.Array:
    """nn.GELU(): the exact erf form (flax defaults to the tanh approximation)."""
    return nn.gelu(x, approximate=False)


def wide_kernel_size(kernel_size: int, r: float) -> int:
    """The window-level branch's second kernel: round((k + 1) * r), made odd."""
    size = round((kernel_size + 1) * r)
    return size + 1 if size % 2 == 0 else size


def adaptive_max_pool(x: jax.Array, out_len: int) -> jax.Array:
    """nn.AdaptiveMaxPool1d(out_len) on [batch, time, dim]: output i is the max over frames
    floor(i * L / out_len) .. ceil((i + 1) * L / out_len) - 1 (windows may overlap when L is odd)."""
    length = x.shape[1]
    starts = [(i * length) // out_len for i in range(out_len)]
    ends = [-((-(i + 1) * length) // out_len) for i in range(out_len)]
    width = max(e - s for s, e in zip(starts, ends))
    index = np.array([[min(s + j, e - 1) for j in range(width)] for s, e in zip(starts, ends)])  # repeats are harmless for max
    return jnp.max(x[:, index], axis=2)


def linear_upsample(x: jax.Array, out_len: int) -> jax.Array:
    """nn.Upsample(size=out_len, mode="linear", align_corners=True) on [batch, time, dim]."""
    length = x.shape[1]
    if out_len == length:
        return x
    # Source positions in float32, as PyTorch computes them (float64 differs by ~1e-6).
    scale = np.float32((length - 1) / (out_len - 1) if out_len > 1 else 0.0)
    source = np.arange(out_len, dtype=np.float32) * scale
    lower = np.minimum(np.floor(source).astype(np.int64), length - 1)
    upper = np.minimum(lower + 1, length - 1)
    weight = jnp.asarray((source - lower.astype(np.float32))[None, :, None], x.dtype)
    return x[:, lower] * (1.0 - weight) + x[:, upper] * weight


class DepthwiseConv(nn.Module):
    """Conv1d(dim, dim, kernel_size, padding=kernel_size // 2, groups=dim) with bias, normal(0, 0.1) init.

    Call: x [batch, time, dim] -> [batch, time, dim]. Width 1 is a per-channel scale and shift
    (computed as such; same kernel layout [1, 1, dim]).
    """

    kernel_size: int

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        dim = x.shape[-1]
        kernel = self.param("kernel", nn.initializers.normal(BRANCH_INIT_STD), (self.kernel_size, 1, dim))
        bias = self.param("bias", nn.initializers.zeros, (dim,))
        if self.kernel_size == 1:
            return x * kernel[0, 0] + bias
        # The taps as stacked shifted views and one contraction: XLA:CPU's depthwise convolution
        # (feature_group_count=dim) has a very slow gradient.
        pad, length = self.kernel_size // 2, x.shape[1]
        padded = jnp.pad(x, ((0, 0), (pad, pad), (0, 0)))
        views = jnp.stack([padded[:, k : k + length] for k in range(self.kernel_size)], axis=2)  # [b, t, k, d]
        return jnp.einsum("btkd,kd->btd", views, kernel[:, 0]) + bias


def channel_layer_norm(name: str) -> nn.LayerNorm:
    """T-DEED's LayerNorm over channels (eps 1e-5, biased variance)."""
    return nn.LayerNorm(epsilon=1e-5, use_fast_variance=False, name=name)


class FeedForward(nn.Module):
    """GroupNorm(16, dim) -> Linear(dim, 4 dim) -> GELU -> Linear(4 dim, dim), PyTorch default init.

    Call: x [batch, time, dim] -> [batch, time, dim] (the residual is the caller's).
    """

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        dim = x.shape[-1]
        if dim % GROUPS:
            raise ValueError(f"SGP blocks need a width divisible by {GROUPS} (GroupNorm); got {dim}.")
        y = nn.GroupNorm(num_groups=GROUPS, epsilon=1e-5, use_fast_variance=False, name="gn")(x)
        y = nn.Dense(4 * dim, kernel_init=torch_default_kernel_init, bias_init=torch_default_bias_init(dim),
                     name="mlp_0")(y)
        return nn.Dense(dim, kernel_init=torch_default_kernel_init, bias_init=torch_default_bias_init(4 * dim),
                        name="mlp_2")(gelu(y))


class SGPBranches(nn.Module):
    """The two SGP branches of a normalised sequence: (window level, instant level).

    Names follow T-DEED: `psi`, `convw`, `convkw` (window), `fc`, `global_fc` (instant).
    Call: normed [batch, time, dim] -> two [batch, time, dim].
    """

    kernel_size: int
    r: float

    @nn.compact
    def __call__(self, normed: jax.Array) -> tuple[jax.Array, jax.Array]:
        psi = DepthwiseConv(self.kernel_size, name="psi")(normed)
        window = DepthwiseConv(self.kernel_size, name="convw")(normed)
        window = window + DepthwiseConv(wide_kernel_size(self.kernel_size, self.r), name="convkw")(normed)
        phi = nn.relu(DepthwiseConv(1, name="global_fc")(normed.mean(axis=1, keepdims=True)))
        instant = DepthwiseConv(1, name="fc")(normed) * phi
        return window * psi, instant


class SGPBlock(nn.Module):
    """x + LN(x) + window(LN(x)) + instant(LN(x)), then + MLP(GN(.)).

    Call: x [batch, time, dim] -> [batch, time, dim].
    """

    kernel_size: int = 3
    r: float = 1.5

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        if self.kernel_size % 2 == 0 or self.kernel_size < 3:
            raise ValueError(f"SGP needs an odd kernel size of at least 3; got {self.kernel_size}.")
        normed = channel_layer_norm("ln")(x)
        window, instant = SGPBranches(self.kernel_size, self.r, name="branches")(normed)
        out = x + (instant + window + normed)
        return out + FeedForward(name="ffn")(out)


class SGPMixer(nn.Module):
    """Fuses an upsampled coarse sequence with a skip sequence (T-DEED's SGPMixer, concat=True).

    Call: coarse [batch, time_coarse, dim], skip [batch, time, dim] -> [batch, time, dim].
    """

    kernel_size: int = 3
    r: float = 1.5

    @nn.compact
    def __call__(self, coarse: jax.Array, skip: jax.Array) -> jax.Array:
        dim = skip.shape[-1]
        skip = channel_layer_norm("ln_skip")(skip)
        coarse = linear_upsample(channel_layer_norm("ln_coarse")(coarse), skip.shape[1])
        window_skip, instant_skip = SGPBranches(self.kernel_size, self.r, name="branches_skip")(skip)
        window_coarse, instant_coarse = SGPBranches(self.kernel_size, self.r, name="branches_coarse")(coarse)
        fused = jnp.concatenate([window_skip, window_coarse, instant_skip, instant_coarse, skip, coarse], axis=-1)
        out = gelu(nn.Dense(dim, kernel_init=nn.initializers.normal(BRANCH_INIT_STD), name="concat_fc")(fused))
        return out + FeedForward(name="ffn")(out)


class SGPEncoderDecoder(nn.Module):
    """T-DEED's encoder-decoder: `num_layers` down levels (SGP + max-pool /2), a bottom SGP block,
    and `num_layers` up levels (SGP-Mixer with the level's skip + SGP block).

    Modules: `sgp_0` ... `sgp_<2 num_layers>` in the order they run, `mixer_<level>` (level 0 is
    full resolution).

    Call: x [batch, time, dim] -> [batch, time, dim].
    """

    num_layers: int = 2
    kernel_size: int = 9
    r: float = 4.0

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        skips = []
        for level in range(self.num_layers):
            x = SGPBlock(self.kernel_size, self.r, name=f"sgp_{level}")(x)
            skips.append(x)
            x = adaptive_max_pool(x, math.ceil(x.shape[1] / 2))
        x = SGPBlock(self.kernel_size, self.r, name=f"sgp_{self.num_layers}")(x)
        for step, level in enumerate(reversed(range(self.num_layers))):
            x = SGPMixer(self.kernel_size, self.r, name=f"mixer_{level}")(x, skips[level])
            x = SGPBlock(self.kernel_size, self.r, name=f"sgp_{self.num_layers + 1 + step}")(x)
        return x
