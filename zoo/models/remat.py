"""Rematerialisation of a model's blocks (`config.model.remat`): the backward pass recomputes each
block's activations instead of keeping them, trading about a third more compute for memory that no
longer grows with depth. The parameters are the same with or without it."""

from __future__ import annotations

import flax.linen as nn


def maybe_remat(block: type[nn.Module], remat: bool, static_argnums: tuple[int, ...]) -> type[nn.Module]:
    """`block`, recomputed in the backward pass when `remat`.

    static_argnums: the positions of the block's non-array arguments (counting `self` as 0), e.g.
    the `train` flag, which must then be passed positionally.
    """
    return nn.remat(block, static_argnums=static_argnums) if remat else block
