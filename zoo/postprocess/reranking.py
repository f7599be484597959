"""k-reciprocal re-ranking (Zhong et al., CVPR 2017), vectorised over one action's query + gallery.

In SoccerNet ReID a query is only ever ranked against the gallery of its own action (tens of
images), so the whole algorithm runs on small dense [n, n] matrices with numpy set operations
written as boolean matrix products.
"""

from __future__ import annotations

import numpy as np


def _nearest(rank: np.ndarray, k: int) -> np.ndarray:
    """Boolean [n, n]: is j among the k nearest of i (i itself included)."""
    n = rank.shape[0]
    member = np.zeros((n, n), dtype=bool)
    np.put_along_axis(member, rank[:, : min(k, n)], True, axis=1)
    return member


def k_reciprocal_rerank(
    query_gallery: np.ndarray, query_query: np.ndarray, gallery_gallery: np.ndarray,
    *, k1: int = 20, k2: int = 6, lambda_value: float = 0.3,
) -> np.ndarray:
    """Re-ranked distances [queries, gallery] from original (squared Euclidean or any) distances.

    Steps, as in the paper: (1) the k-reciprocal neighbours R(i, k1) of every image (i among the
    k1 nearest of j and j among the k1 nearest of i), (2) expanded by the R(j, k1/2) of members
    that share more than 2/3 of theirs with R(i, k1), (3) encoded as Gaussian-weighted vectors V,
    (4) averaged over the k2 nearest (local query expansion), (5) Jaccard distance between the
    V's, (6) mixed with the original distance: (1 - lambda) * jaccard + lambda * original.

    k1 and k2 are clipped to the number of images, so a small action still works.
    """
    q = query_gallery.shape[0]
    top = np.concatenate([query_query, query_gallery], axis=1)
    bottom = np.concatenate([query_gallery.T, gallery_gallery], axis=1)
    original = np.concatenate([top, bottom], axis=0).astype(np.float64)
    original = original / np.maximum(original.max(axis=1, keepdims=True), 1e-12)  # per row, as the paper's code
    n = original.shape[0]
    rank = np.argsort(original, axis=1, kind="stable")

    forward = _nearest(rank, k1 + 1)
    reciprocal = forward & forward.T  # (1)
    half = _nearest(rank, int(np.around(k1 / 2)) + 1)
    half_reciprocal = half & half.T
    sizes = half_reciprocal.sum(axis=1)
    overlap = reciprocal.astype(np.int64) @ half_reciprocal.T.astype(np.int64)  # [i, j] = |R(i) & R_half(j)|
    grow = reciprocal & (overlap > 2.0 / 3.0 * sizes[None, :])
    expanded = reciprocal | ((grow.astype(np.int64) @ half_reciprocal.astype(np.int64)) > 0)  # (2)

    weights = np.where(expanded, np.exp(-original), 0.0)
    vectors = weights / weights.sum(axis=1, keepdims=True)  # (3)
    if k2 > 1:
        vectors = vectors[rank[:, : min(k2, n)]].mean(axis=1)  # (4)

    shared = np.minimum(vectors[:q, None, :], vectors[None, :, :]).sum(axis=-1)  # [q, n]
    jaccard = 1.0 - shared / (2.0 - shared)  # (5): rows of V sum to 1, so |max| = 2 - |min|
    final = (1.0 - lambda_value) * jaccard + lambda_value * original[:q]  # (6)
    return final[:, q:]
