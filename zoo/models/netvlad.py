"""NetVLAD pooling and the NetVLAD++ spotting model of the official SoccerNet-v2 baseline.

NetVLAD++ (Giancola & Ghanem, CVPRW 2021, "Temporally-Aware Feature Pooling for Action Spotting in
Soccer Broadcasts") splits a window of frame features at its centre: the frames before and after
the centre are each pooled by their own NetVLAD layer with half the vocabulary, so the pooled code
knows whether a cue came before or after the candidate instant. The two codes are concatenated,
then dropout, one linear layer and a sigmoid give scores for background + each class.
"""

from __future__ import annotations

import einops
import flax.linen as nn
import jax
import jax.numpy as jnp

# torch.nn.functional.normalize clamps the norm at 1e-12; the same keeps all-zero inputs finite.
_NORM_EPS = 1e-12


def l2_normalize(x: jax.Array, axis: int) -> jax.Array:
    norm = jnp.sqrt(jnp.sum(jnp.square(x), axis=axis, keepdims=True))
    return x / jnp.maximum(norm, _NORM_EPS)


class NetVLAD(nn.Module):
    """NetVLAD pooling of a set of features (Arandjelović et al., CVPR 2016), as in the baseline.

    Inputs are L2-normalised per frame, softly assigned to `clusters` learned centres, the
    assignment-weighted residuals are summed over time, L2-normalised per cluster (intra-norm) and
    then globally.

    Attributes:
      clusters: vocabulary size K.

    Call: features [batch, time, dim] -> code [batch, dim * K].
    """

    clusters: int

    @nn.compact
    def __call__(self, features: jax.Array) -> jax.Array:
        dim = features.shape[-1]
        init = nn.initializers.normal(stddev=1.0 / dim**0.5)
        assignment_weights = self.param("assignment", init, (dim, self.clusters))
        centres = self.param("centres", init, (dim, self.clusters))

        features = l2_normalize(features, axis=-1)
        assignment = jax.nn.softmax(features @ assignment_weights, axis=-1)  # [b, t, k]
        # Residuals to every centre, summed over time: sum_t a_tk x_t - (sum_t a_tk) c_k.
        weighted_sum = jnp.einsum("btk,btd->bdk", assignment, features)
        vlad = weighted_sum - jnp.sum(assignment, axis=1)[:, None, :] * centres[None]
        vlad = l2_normalize(vlad, axis=1)  # intra-normalisation, per cluster
        # Flatten in the baseline's order (feature-major, [d, k] row-major) so that converted
        # PyTorch weights of the classifier line up.
        vlad = einops.rearrange(vlad, "b d k -> b (d k)")
        return l2_normalize(vlad, axis=-1)


def temporal_vlad_code(window: jax.Array, *, vocab_size: int, projection_dim: int | None) -> jax.Array:
    """NetVLAD++ pooling of a window: [batch, time, dim] -> code [batch, width * vocab_size].

    Projects features of another width to `projection_dim` (0 or None: never), then pools the frames
    before the centre and those from the centre on, each with its own NetVLAD of vocab_size // 2
    clusters, and concatenates the two codes (width = projection_dim, or dim without projection).
    Call it inside an `@nn.compact` method: its layers are created there, as "projection",
    "vlad_before" and "vlad_after" of the calling module, so every NetVLAD++ model names them alike.
    """
    if projection_dim and window.shape[-1] != projection_dim:
        window = nn.Dense(projection_dim, name="projection")(window)
    middle = window.shape[1] // 2
    before = NetVLAD(vocab_size // 2, name="vlad_before")(window[:, :middle])
    after = NetVLAD(vocab_size // 2, name="vlad_after")(window[:, middle:])
    return jnp.concatenate([before, after], axis=-1)


class NetVLADPlusPlus(nn.Module):
    """Temporally-aware NetVLAD++ window classifier.

    Attributes:
      num_classes: number of event classes; the output has one more column, background, first.
      vocab_size: total NetVLAD vocabulary; each half of the window gets vocab_size // 2.
      projection_dim: features of another width are first projected to this by a linear layer
        (the baseline does so for anything that is not 512-d); 0 (or None) disables the projection.
      dropout_rate: dropout on the pooled code (0.4 in the baseline).

    Call: window [batch, time, dim] -> logits [batch, num_classes + 1] (column 0 is background).
    Each column is an independent sigmoid (multi-label), not a softmax: `jax.nn.sigmoid(logits)`
    gives the baseline's scores, and the loss works on the logits for numerical stability.
    """

    num_classes: int
    vocab_size: int = 64
    projection_dim: int | None = 512
    dropout_rate: float = 0.4

    @nn.compact
    def __call__(self, window: jax.Array, *, train: bool) -> jax.Array:
        code = temporal_vlad_code(window, vocab_size=self.vocab_size, projection_dim=self.projection_dim)
        code = nn.Dropout(self.dropout_rate, deterministic=not train)(code)
        return nn.Dense(self.num_classes + 1, name="classifier")(code)
