"""Temporal shifts that let a per-frame 2D CNN mix information across the frames of a clip.

All three work on a batch of frames [batch * clip_len, height, width, channels] whose leading
axis is ordered clip by clip (frame t of clip b at index b * clip_len + t), so they need the clip
length; `to_clips` / `to_frames` convert between that layout and [batch, clip_len, ...].

- TSM (Lin et al., "TSM: Temporal Shift Module for Efficient Video Understanding", ICCV 2019):
  no parameters; 1/8 of the channels take the next frame's values, the next 1/8 the previous
  frame's, the rest stay (E2E-Spot's `_tsm` backbones, `n_div=8`).
- GSM (Sudhakaran et al., "Gate-Shift Networks for Video Action Recognition", CVPR 2020): on the
  first `fold` channels, a 3D convolution of BN+ReLU'd features gives two tanh gates per pixel;
  the gated part of the first half of the fold moves one frame back in time, that of the second
  half one frame forward, and the ungated residual stays (E2E-Spot's `_gsm` backbones).
- GSF (Sudhakaran et al., "Gate-Shift-Fuse for Video Action Recognition", TPAMI 2023): GSM's
  gating and shift, but the shifted and residual parts are fused with per-channel, per-frame
  weights that a small 2D convolution computes from their spatial means (T-DEED's `_gsf`).

In the originals the gated shifts end with a channel interleave of each half of the fold
(channel `a * fold / 4 + q` of a half goes to `2 * q + a`); it is kept here, so the next
convolution sees the channels in the order the original weights were trained on. Shifted-in
frames at the clip ends are zeros. `fold_channels` gives the fold of both GatedShift wrappers
(`n_div=4`): a quarter of the channels, rounded up to a multiple of 4.
"""

from __future__ import annotations

import math

import flax.linen as nn
import jax
import jax.numpy as jnp
from einops import rearrange

from zoo.models.grouped_conv import GroupedConv

SHIFTS = ("none", "tsm", "gsm", "gsf")
# PyTorch's default Conv init (kaiming_uniform with a = sqrt(5)): uniform within 1 / sqrt(fan_in).
torch_default_kernel_init = nn.initializers.variance_scaling(1.0 / 3.0, "fan_in", "uniform")


def torch_default_bias_init(fan_in: int):
    """PyTorch's default conv bias init: uniform within 1 / sqrt(fan_in)."""
    bound = 1.0 / math.sqrt(fan_in)
    return lambda key, shape, dtype=jnp.float32: jax.random.uniform(key, shape, dtype, -bound, bound)


def to_clips(frames: jax.Array, clip_len: int) -> jax.Array:
    """[batch * clip_len, ...] -> [batch, clip_len, ...]."""
    return rearrange(frames, "(b t) ... -> b t ...", t=clip_len)


def to_frames(clips: jax.Array) -> jax.Array:
    """[batch, clip_len, ...] -> [batch * clip_len, ...]."""
    return rearrange(clips, "b t ... -> (b t) ...")


def from_next_frame(x: jax.Array) -> jax.Array:
    """out[:, t] = x[:, t + 1], zeros at the last frame. x: [batch, time, ...]."""
    return jnp.concatenate([x[:, 1:], jnp.zeros_like(x[:, :1])], axis=1)


def from_previous_frame(x: jax.Array) -> jax.Array:
    """out[:, t] = x[:, t - 1], zeros at the first frame. x: [batch, time, ...]."""
    return jnp.concatenate([jnp.zeros_like(x[:, :1]), x[:, :-1]], axis=1)


def fold_channels(channels: int, n_div: int = 4) -> int:
    """Channels that a gated shift transforms: channels // n_div rounded up to a multiple of 4."""
    return math.ceil(channels // n_div / 4) * 4


def check_shift(kind: str) -> str:
    if kind not in SHIFTS:
        raise ValueError(f"Unknown temporal shift {kind!r}; expected one of {', '.join(SHIFTS)}.")
    return kind


def check_whole_clips(frames: jax.Array, clip_len: int) -> None:
    if clip_len < 1 or frames.shape[0] % clip_len:
        raise ValueError(f"{frames.shape[0]} frames are not whole clips of clip_len={clip_len}.")


def tsm_shift(frames: jax.Array, clip_len: int, fold_div: int = 8) -> jax.Array:
    """The TSM shift: channels [0, f) from the next frame, [f, 2f) from the previous, f = C // fold_div.

    frames: [batch * clip_len, height, width, channels] -> the same shape.
    """
    check_whole_clips(frames, clip_len)
    fold = frames.shape[-1] // fold_div
    clips = to_clips(frames, clip_len)
    shifted = jnp.concatenate(
        [from_next_frame(clips[..., :fold]), from_previous_frame(clips[..., fold : 2 * fold]), clips[..., 2 * fold :]],
        axis=-1,
    )
    return to_frames(shifted)


def interleave_halves(x: jax.Array) -> jax.Array:
    """The originals' channel order after a gated shift: [..., (a q)] -> [..., (q a)], a = 2."""
    return rearrange(x, "... (a q) -> ... (q a)", a=2)


class GateShift(nn.Module):
    """GSM or GSF on the first `fold` channels of a batch of frames.

    Attributes:
      fuse: False is GSM (shifted + residual), True is GSF (weighted fusion of the two).
      fold: channels that are gated and shifted (a multiple of 4, for the interleave); 0 takes
        `fold_channels(channels)` as both originals do. The other channels pass unchanged.

    Call: frames [batch * clip_len, height, width, channels], clip_len ->
      [batch * clip_len, height, width, channels].

    Parameters: `bn` (BatchNorm3d of the fold), `gate` (Conv3d fold -> 2, 3x3x3, 2 groups: one
    gate per half) and, for GSF, `fuse_first` / `fuse_second` (Conv2d 2 -> 1, 3x3, over the
    [channels, time] map of the spatial means, one per half). GSM's gate starts at zero (the
    originals zero-init it), GSF's with PyTorch's default init.
    """

    fuse: bool = False
    fold: int = 0

    @nn.compact
    def __call__(self, frames: jax.Array, clip_len: int, *, train: bool) -> jax.Array:
        fold = self.fold or fold_channels(frames.shape[-1])
        if fold % 4 or not 0 < fold <= frames.shape[-1]:
            raise ValueError(f"GateShift fold {fold} must be a positive multiple of 4, at most {frames.shape[-1]}.")
        check_whole_clips(frames, clip_len)
        half = fold // 2
        x = to_clips(frames[..., :fold], clip_len)  # [b, t, h, w, fold]
        normed = nn.relu(
            nn.BatchNorm(use_running_average=not train, momentum=0.9, epsilon=1e-5, name="bn")(x)
        )
        if self.fuse:
            kernel_init, bias_init = torch_default_kernel_init, torch_default_bias_init(27 * half)
        else:
            kernel_init = bias_init = nn.initializers.zeros
        gates = jnp.tanh(
            GroupedConv(2, (3, 3, 3), groups=2, use_bias=True, method="products", kernel_init=kernel_init,
                        bias_init=bias_init, name="gate")(normed)
        )  # [b, t, h, w, 2]
        first, second = x[..., :half], x[..., half:]
        gated_first, gated_second = gates[..., :1] * first, gates[..., 1:] * second
        # The first half's gated part comes from the next frame, the second half's from the previous.
        shifted = (from_next_frame(gated_first), from_previous_frame(gated_second))
        residual = (first - gated_first, second - gated_second)
        if self.fuse:
            halves = [
                self._fuse(s, r, name)
                for s, r, name in zip(shifted, residual, ("fuse_first", "fuse_second"))
            ]
        else:
            halves = [s + r for s, r in zip(shifted, residual)]
        out = jnp.concatenate([interleave_halves(h) for h in halves], axis=-1)
        return jnp.concatenate([to_frames(out), frames[..., fold:]], axis=-1)

    def _fuse(self, shifted: jax.Array, residual: jax.Array, name: str) -> jax.Array:
        """GSF's fusion: w * shifted + (1 - w) * residual, w [b, t, 1, 1, c] from a 3x3 conv over
        the (channel, time) map of both spatial means (the original's Conv2d layout: H = channel,
        W = time, input channels (shifted, residual)).

        shifted, residual: [b, t, h, w, c] -> [b, t, h, w, c].
        """
        means = jnp.stack([shifted.mean(axis=(2, 3)), residual.mean(axis=(2, 3))], axis=-1)  # [b, t, c, 2]
        means = rearrange(means, "b t c two -> b c t two")
        logits = nn.Conv(1, (3, 3), padding=((1, 1), (1, 1)), kernel_init=torch_default_kernel_init,
                         bias_init=torch_default_bias_init(2 * 9), name=name)(means)
        weight = rearrange(jax.nn.sigmoid(logits), "b c t 1 -> b t 1 1 c")
        return shifted * weight + residual * (1.0 - weight)
