"""The train state: a plain pytree of everything a step reads and writes."""

from __future__ import annotations

from typing import Any

import flax.struct
import jax

PyTree = Any


@flax.struct.dataclass
class TrainState:
    """Params, model state (e.g. batch statistics), optimizer state, step and base rng.

    A pytree with no methods that hide state: the train step is a function (state, batch) ->
    state, and randomness is the base `rng` folded with `step`, so a resumed run draws the same
    dropout masks as an uninterrupted one.
    """

    params: PyTree
    model_state: PyTree  # flax collections other than params, e.g. {"batch_stats": ...}; {} if none
    opt_state: PyTree
    step: jax.Array  # int32 scalar
    rng: jax.Array  # uint32[2] base key, never advanced: per-step keys are fold_in(rng, step)
