"""Grouped convolutions computed as one batched matrix product over explicit patches.

The same function and kernel layout as `nn.Conv(..., feature_group_count=groups)`, but XLA:CPU
runs the gradients of grouped convolutions (RegNet's 3x3 group convs, GSM/GSF's 2-group Conv3d)
tens of times slower than their forward pass, which made a RegNetY train step ~60x its forward.
Gathering the k^d shifted views and contracting them with one `einsum` (batched over the groups)
turns forward and backward into slices and matrix products, which every backend runs well.
The patches cost k^d times the input's memory, small at the resolutions frames are read at.
XLA's own grouped 2D convolution is the faster forward pass, so method "native_forward" keeps it
and only differentiates through the patches (a custom VJP; first-order gradients only). For few
output channels (GSM's gates), method "products" multiplies first and sums shifted taps after.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp
from einops import rearrange


def patch_conv(
    x: jax.Array,
    kernel: jax.Array,
    *,
    strides: Sequence[int],
    padding: Sequence[tuple[int, int]],
    groups: int,
) -> jax.Array:
    """A cross-correlation like `lax.conv_general_dilated` with feature_group_count=groups,
    computed from explicit patches.

    Args:
      x: [batch, *spatial, in] (channels last; d spatial dims).
      kernel: [*window, in / groups, out], flax's layout; output channel g * (out / groups) + o
        belongs to group g, which reads input channels g * (in / groups) ... .
      strides, padding: per spatial dim; padding (low, high) with zeros.

    Returns:
      [batch, *out_spatial, out], out_spatial[d] = (size + pads - window) // stride + 1.
    """
    dims = kernel.ndim - 2
    window = kernel.shape[:dims]
    x = jnp.pad(x, ((0, 0), *padding, (0, 0)))
    out_sizes = [(x.shape[1 + d] - window[d]) // strides[d] + 1 for d in range(dims)]
    views = []
    for offset in itertools.product(*(range(k) for k in window)):
        index = tuple(slice(o, o + (n - 1) * s + 1, s) for o, n, s in zip(offset, out_sizes, strides))
        views.append(x[(slice(None), *index)])
    patches = rearrange(jnp.stack(views, axis=-2), "... k (g i) -> ... k g i", g=groups)
    weights = kernel.reshape(-1, kernel.shape[-2], groups, kernel.shape[-1] // groups)  # [k, i, g, o]
    out = jnp.einsum("...kgi,kigo->...go", patches, weights)
    return rearrange(out, "... g o -> ... (g o)")


def product_conv(x: jax.Array, kernel: jax.Array, *, padding: Sequence[tuple[int, int]], groups: int) -> jax.Array:
    """`patch_conv` with stride 1, computed the other way round: one product of the input with
    every window tap ([taps, ..., out]), then the taps' shifted slices summed. Cheaper than
    patches when the output has few channels (GSM/GSF's 2 gates read a quarter of the channels).
    """
    dims = kernel.ndim - 2
    window = kernel.shape[:dims]
    grouped = rearrange(x, "... (g i) -> ... g i", g=groups)
    weights = kernel.reshape(-1, kernel.shape[-2], groups, kernel.shape[-1] // groups)  # [k, i, g, o]
    taps = jnp.einsum("...gi,kigo->k...go", grouped, weights)  # [k, batch, *spatial, g, o]
    taps = jnp.pad(taps, ((0, 0), (0, 0), *padding, (0, 0), (0, 0)))  # zero input pads give zero taps
    out_sizes = [taps.shape[2 + d] - window[d] + 1 for d in range(dims)]
    # Split (whose gradient is a concatenation) rather than index the taps: indexing would make
    # the backward pass zero-pad every tap to the size of all of them.
    out = None
    for tap, offset in zip(jnp.split(taps, taps.shape[0]), itertools.product(*(range(k) for k in window))):
        view = tap[(0, slice(None), *(slice(o, o + n) for o, n in zip(offset, out_sizes)))]
        out = view if out is None else out + view
    return rearrange(out, "... g o -> ... (g o)")


def _dimension_numbers(dims: int):
    spatial = "DHW"[-dims:] if dims <= 3 else None
    if spatial is None:
        raise ValueError(f"grouped_conv supports 1 to 3 spatial dims; got {dims}.")
    return (f"N{spatial}C", f"{spatial}IO", f"N{spatial}C")


@functools.partial(jax.custom_vjp, nondiff_argnums=(2, 3, 4))
def _native_forward_conv(x, kernel, strides, padding, groups):
    return jax.lax.conv_general_dilated(
        x, kernel, strides, padding, dimension_numbers=_dimension_numbers(kernel.ndim - 2),
        feature_group_count=groups)


def _native_forward(x, kernel, strides, padding, groups):
    return _native_forward_conv(x, kernel, strides, padding, groups), (x, kernel)


def _patch_backward(strides, padding, groups, residuals, cotangent):
    x, kernel = residuals
    _, vjp = jax.vjp(lambda x, k: patch_conv(x, k, strides=strides, padding=padding, groups=groups), x, kernel)
    return vjp(cotangent)


_native_forward_conv.defvjp(_native_forward, _patch_backward)


def grouped_conv(
    x: jax.Array,
    kernel: jax.Array,
    *,
    strides: Sequence[int],
    padding: Sequence[tuple[int, int]],
    groups: int,
    method: str = "patches",
) -> jax.Array:
    """A grouped convolution by `method`: "patches" (`patch_conv`), "products" (`product_conv`,
    stride 1 only) or "native_forward" (XLA's convolution forward with `patch_conv`'s gradients)."""
    if method == "native_forward":
        return _native_forward_conv(x, kernel, tuple(strides), tuple(tuple(p) for p in padding), groups)
    if method == "products":
        if any(s != 1 for s in strides):
            raise ValueError(f"product_conv computes stride 1 only; got strides {tuple(strides)}.")
        return product_conv(x, kernel, padding=padding, groups=groups)
    if method == "patches":
        return patch_conv(x, kernel, strides=strides, padding=padding, groups=groups)
    raise ValueError(f"Unknown grouped convolution method {method!r}.")


class GroupedConv(nn.Module):
    """nn.Conv with feature_group_count=groups, symmetric padding `kernel // 2` per dim, computed
    by `grouped_conv` (`method`: see there). Parameters `kernel` [*window, in / groups, features] and, if `use_bias`, `bias`.

    Call: x [batch, *spatial, in] -> [batch, *out_spatial, features].
    """

    features: int
    kernel_size: Sequence[int]
    strides: Sequence[int] | None = None
    groups: int = 1
    use_bias: bool = False
    method: str = "patches"
    kernel_init: nn.initializers.Initializer = nn.initializers.lecun_normal()
    bias_init: nn.initializers.Initializer = nn.initializers.zeros

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        if x.shape[-1] % self.groups or self.features % self.groups:
            raise ValueError(f"{x.shape[-1]} -> {self.features} channels do not split into {self.groups} groups.")
        window = tuple(self.kernel_size)
        kernel = self.param("kernel", self.kernel_init, (*window, x.shape[-1] // self.groups, self.features))
        strides = tuple(self.strides) if self.strides is not None else (1,) * len(window)
        y = grouped_conv(x, kernel, strides=strides, padding=[(k // 2, k // 2) for k in window], groups=self.groups,
                         method=self.method)
        if self.use_bias:
            y = y + self.param("bias", self.bias_init, (self.features,))
        return y
