# Over 600 lines: the exact and the vectorised path of one metric, side by side (tested so).
"""mAP and CMC of SoccerNet-v3 player re-identification, equal to the official evaluator.

The official `SoccerNet.Evaluation.ReIdentification.evaluate` is the specification. Each query
ranks every gallery sample of its own action (no other), each exactly once. With `match[k]` true
when the k-th ranked sample has the query's `person_uid`:

  AP(query)  = sum_k match[k] * precision@k / #matches   (non-interpolated, over the whole list)
  CMC@r      = fraction of queries with a match among their first r samples
  mAP        = mean of AP over the queries of the ground truth; "rank-1" = CMC@1

As in the official code, CMC (hence "rank-1") is computed in float32 and mAP in float64; the
official evaluator stops at rank 1, here `max_rank` sets how many CMC values "cmc" holds. A ranking
shorter than `max_rank` counts as matched beyond its end (its identity is always in it).

A ranking is refused, as by the official evaluator, when a ground-truth query has none, when it
holds a non-integer, a gallery sample twice, a sample of another action, or misses one of its
action's samples, or when the query's identity is not among them. The query reported is the one
the official evaluator reports (the first failing query in ground-truth order, its first problem in
ranking order). Errors are `TypeError` for a non-integer and `RankingError` (a ValueError) for the
rest, each naming the query; where the official code raises a bare `KeyError` (an id that is no
gallery sample, a query whose action has no gallery sample) this raises `RankingError` too.
Extra queries in the ranking are ignored, as officially.

Three ways in: `evaluate` (files), `ranking_scores` (rankings as arrays of gallery rows) and,
from the model's output directly, `scores_from_embeddings` (query/gallery embeddings with their
person and action ids: `rank_by_action` ranks each query's action gallery, then the rankings are
scored as the files would be); `scores_from_distances` takes per-action distance matrices.

Tie rule of `scores_from_distances` / `rank_gallery` / `rank_by_action`: gallery samples are
ranked by increasing distance with a stable sort, so equal distances keep gallery row order (for
rows listed by `zoo.formats.reid.list_split`, increasing bbox_idx). The official torchreid
exporter uses numpy's default, unstable sort, whose tie order is unspecified.

How it is fast: every query's ranking is concatenated into one flat array; validation, matches,
running precision and first hits are vectorised over it (a scatter for duplicates, cumulative
sums and `np.add.reduceat` over the matched items only). With msgspec installed, `evaluate` first
reads both files with the typed readers of `zoo.formats.reid_fast`: the ground truth, mapped
rather than copied, is decoded straight into structs of the three fields the evaluator needs,
keyed by int, then into arrays; the ranking into int-keyed int lists, flattened in one pass. What
those readers cannot vouch for, and any ranking with a problem, goes to the exact path, which
reads again with the standard json module and reports the problem as described above. Both paths
give the same scores and the same errors (tested on edited files).
"""

from __future__ import annotations

import argparse
import itertools
import os
import sys
from collections.abc import Sequence
from typing import Any

import numpy as np

from zoo.cli import user_errors
from zoo.formats import reid as formats
from zoo.formats import reid_fast

RESULT_KEYS = ("mAP", "rank-1", "cmc")


class RankingError(ValueError):
    """A ranking the official evaluator refuses; `query` names the failing query."""

    def __init__(self, query: Any, problem: str):
        super().__init__(f"query {query}: {problem}")
        self.query = query
        self.problem = problem

    def __reduce__(self):
        return type(self), (self.query, self.problem)


def _summary(ap: np.ndarray, first_hit: np.ndarray, max_rank: int) -> dict:
    """Scores from per-query AP [Q] float64 and 0-based rank of the first match [Q]."""
    if len(ap) == 0:
        raise ValueError("no query to evaluate")
    ranks = np.arange(1, max_rank + 1)
    hits = first_hit[:, None] < ranks[None, :]
    # float32 sums and division, as the official evaluator computes its CMC.
    cmc = hits.astype(np.float32).sum(0) / len(ap)
    return {
        "mAP": float(np.mean(ap)),
        "rank-1": float(cmc[0]),
        "cmc": [float(c) for c in cmc],
    }


def _check_max_rank(max_rank: int) -> None:
    if isinstance(max_rank, bool) or not isinstance(max_rank, int) or max_rank < 1:
        raise ValueError(f"max_rank must be a positive int, got {max_rank!r}")


def _first_problem(
    query_pids: np.ndarray,
    query_actions: np.ndarray,
    gallery_pids: np.ndarray,
    gallery_actions: np.ndarray,
    rows: np.ndarray,
    lengths: np.ndarray,
    not_int: np.ndarray,
    absent: np.ndarray,
):
    """The official evaluator's first complaint, or None, and the flat match vector.

    rows [N] int64: gallery row of every ranked item, queries concatenated; -1 where unknown.
    lengths [Q]: items per query. not_int [N] bool: items that are no integer. absent [Q] bool:
    queries without a ranking. Returns (problem, matches) with problem None or
    (query, kind, detail): detail the flat index of the item for kinds "not_int", "duplicate",
    "unknown", "cross_action", the gallery row for "missing", else None.
    """
    num_queries, num_gallery = len(lengths), len(gallery_actions)
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    owner = np.repeat(np.arange(num_queries), lengths)  # [N] query of each item
    unknown = ~not_int & ((rows < 0) | (rows >= num_gallery))
    known = ~not_int & ~unknown
    if num_gallery == 0:  # nothing to look up; every item is unknown
        gallery_pids = gallery_actions = np.zeros(1, np.int64)
    safe_rows = np.where(known, rows, 0)

    duplicate = np.zeros(len(rows), bool)
    known_items = np.flatnonzero(known)
    keys = owner[known_items] * np.int64(num_gallery) + rows[known_items]
    order = np.argsort(keys, kind="stable")  # equal keys keep ranking order: flag the later one
    repeated = keys[order][1:] == keys[order][:-1]
    duplicate[known_items[order[1:][repeated]]] = True

    cross_action = known & (gallery_actions[safe_rows] != query_actions[owner])
    bad_items = np.flatnonzero(not_int | unknown | duplicate | cross_action)
    matches = known & (gallery_pids[safe_rows] == query_pids[owner])

    # Same-action gallery size per query; a complete ranking without bad items has this length.
    expected = np.zeros(num_queries, np.int64)
    if num_gallery:
        actions, counts = np.unique(gallery_actions, return_counts=True)
        where = np.clip(np.searchsorted(actions, query_actions), 0, len(actions) - 1)
        present = actions[where] == query_actions
        expected[present] = counts[where[present]]

    has_bad_item = np.zeros(num_queries, bool)
    has_bad_item[owner[bad_items]] = True
    has_match = np.bincount(owner[matches], minlength=num_queries) > 0
    failing = absent | has_bad_item | (lengths != expected) | ~has_match
    if not failing.any():
        return None, matches

    query = int(np.argmax(failing))
    if absent[query]:
        return (query, "absent", None), matches
    if has_bad_item[query]:
        item = int(bad_items[np.searchsorted(owner[bad_items], query)])
        for kind, flags in (
            ("not_int", not_int),
            ("duplicate", duplicate),
            ("unknown", unknown),
            ("cross_action", cross_action),
        ):
            if flags[item]:
                return (query, kind, item), matches
    if expected[query] == 0:
        return (query, "no_gallery", None), matches
    if lengths[query] != expected[query]:
        listed = set(rows[offsets[query] : offsets[query + 1]].tolist())
        same_action = np.flatnonzero(gallery_actions == query_actions[query])
        row = next(int(r) for r in same_action if int(r) not in listed)
        return (query, "missing", row), matches
    return (query, "identity", None), matches


def _precision_at_hits(matches: np.ndarray, lengths: np.ndarray):
    """AP [Q] and 0-based rank of the first match [Q] of each query, or None when a query has
    no match. matches [N] bool: the flat match vector, queries concatenated; lengths [Q].

    Works on the matched items only: the k-th match of a query, at 0-based rank i, has
    precision k / (i + 1), divided as the official evaluator divides; the AP sums those in
    ranking order (unmatched items add exact zeros there).
    """
    starts = np.cumsum(lengths) - lengths
    hits = np.flatnonzero(matches)  # ascending, so grouped by query
    # matches per query: where each query's items begin and end among the hits
    bounds = np.searchsorted(hits, np.append(starts, len(matches)))
    per_query = np.diff(bounds)
    if not per_query.all():
        return None
    first = bounds[:-1]  # index in `hits` of each query's first match
    matched_so_far = np.arange(1, len(hits) + 1) - np.repeat(first, per_query)
    rank = hits - np.repeat(starts, per_query)
    ap = np.add.reduceat(matched_so_far / (rank + 1.0), first) / per_query
    return ap, rank[first]


def _scores_from_matches(matches: np.ndarray, lengths: np.ndarray, max_rank: int) -> dict:
    """mAP/CMC from the flat match vector of valid rankings (every query has a match)."""
    if len(lengths) == 0:
        raise ValueError("no query to evaluate")
    found = _precision_at_hits(matches, lengths)
    if found is None:
        raise RuntimeError("a validated ranking without a match")  # validation prevents it
    return _summary(*found, max_rank)


def _raise(problem, query_name, item_value, gallery_name, query_action, gallery_action):
    query, kind, detail = problem
    q = query_name(query)
    if kind == "absent":
        raise RankingError(q, "the ranking has no entry for this query; every query needs one")
    if kind == "not_int":
        raise TypeError(
            f"query {q}: the ranking must list integer gallery ids, found "
            f"{item_value(detail)!r} of type {type(item_value(detail)).__name__}"
        )
    if kind == "duplicate":
        raise RankingError(q, f"gallery sample '{item_value(detail)}' is ranked more than once")
    if kind == "unknown":
        raise RankingError(q, f"'{item_value(detail)}' is not a gallery sample")
    if kind == "cross_action":
        raise RankingError(
            q,
            f"gallery sample '{item_value(detail)}' is from action {gallery_action(detail)}, not "
            f"from the query's action {query_action(query)}; rank only same-action samples",
        )
    if kind == "no_gallery":
        raise RankingError(q, f"no gallery sample is from the query's action {query_action(query)}")
    if kind == "missing":
        raise RankingError(
            q,
            f"gallery sample {gallery_name(detail)} of the query's action {query_action(query)} "
            "is not ranked; every same-action sample must be",
        )
    raise RankingError(q, "no gallery sample of its action has the query's person_uid")


def ranking_scores(
    query_pids,
    query_actions,
    gallery_pids,
    gallery_actions,
    rankings: Sequence,
    *,
    max_rank: int = 1,
) -> dict:
    """Scores of rankings given as arrays, without files.

    query_pids, query_actions [Q]; gallery_pids, gallery_actions [G] (any comparable dtype);
    rankings: per query, a 1-D integer array of gallery row indices, best first. Validates as
    `evaluate` does (queries and gallery samples named by their row) and returns
    {"mAP": float, "rank-1": float, "cmc": [CMC@1..max_rank]}.
    """
    _check_max_rank(max_rank)
    query_pids, query_actions = np.asarray(query_pids), np.asarray(query_actions)
    gallery_pids, gallery_actions = np.asarray(gallery_pids), np.asarray(gallery_actions)
    if not (len(query_pids) == len(query_actions) == len(rankings)):
        raise ValueError(
            f"{len(query_pids)} query pids, {len(query_actions)} query actions and "
            f"{len(rankings)} rankings: one of each per query"
        )
    if len(gallery_pids) != len(gallery_actions):
        raise ValueError(f"{len(gallery_pids)} gallery pids but {len(gallery_actions)} actions")
    arrays = []
    for query, ranking in enumerate(rankings):
        ranking = np.asarray(ranking)
        if ranking.size == 0:
            ranking = ranking.astype(np.int64)
        if ranking.ndim != 1 or ranking.dtype.kind not in "iu":
            raise TypeError(
                f"query row {query}: a ranking must be a 1-D integer array, got {ranking.dtype} "
                f"of shape {ranking.shape}"
            )
        arrays.append(ranking.astype(np.int64))
    lengths = np.array([len(a) for a in arrays], np.int64)
    rows = np.concatenate(arrays) if arrays else np.zeros(0, np.int64)
    problem, matches = _first_problem(
        query_pids,
        query_actions,
        gallery_pids,
        gallery_actions,
        rows,
        lengths,
        np.zeros(len(rows), bool),
        np.zeros(len(lengths), bool),
    )
    if problem is not None:
        _raise(
            problem,
            query_name=lambda q: f"row {q}",
            item_value=lambda i: int(rows[i]),
            gallery_name=lambda r: f"'{r}'",
            query_action=lambda q: query_actions[q],
            gallery_action=lambda i: gallery_actions[rows[i]],
        )
    return _scores_from_matches(matches, lengths, max_rank)


def rank_gallery(distances) -> np.ndarray:
    """Gallery rows by increasing distance, per query: [Q, G] float -> [Q, G] int64.

    Stable: equal distances keep gallery row order. NaN distances raise ValueError.
    """
    distances = np.asarray(distances)
    if distances.ndim != 2:
        raise ValueError(f"distances must be [n_query, n_gallery], got shape {distances.shape}")
    if np.isnan(distances).any():
        raise ValueError("distances hold NaN; a ranking needs comparable distances")
    return np.argsort(distances, axis=1, kind="stable")


def scores_from_distances(
    distances: Sequence,
    query_pids: Sequence,
    gallery_pids: Sequence,
    *,
    max_rank: int = 1,
) -> dict:
    """Scores straight from per-action distance matrices, as `evaluate` would give for the
    rankings `rank_gallery` makes of them (stable sort: ties keep gallery order).

    distances: one [n_query, n_gallery] array per action (smaller is closer); query_pids: one
    [n_query] array per action; gallery_pids: one [n_gallery] array per action. Raises ValueError
    when a query's identity is not in its action's gallery. Returns the `evaluate` dict.
    """
    _check_max_rank(max_rank)
    if not (len(distances) == len(query_pids) == len(gallery_pids)):
        raise ValueError("give one distance matrix, query pids and gallery pids per action")
    all_ap, all_first = [], []
    for action, (dist, q_pids, g_pids) in enumerate(zip(distances, query_pids, gallery_pids)):
        q_pids, g_pids = np.asarray(q_pids), np.asarray(g_pids)
        dist = np.asarray(dist)
        if dist.shape != (len(q_pids), len(g_pids)):
            raise ValueError(
                f"action {action}: distances of shape {dist.shape} for {len(q_pids)} queries "
                f"and {len(g_pids)} gallery samples"
            )
        if len(q_pids) == 0:
            continue
        matches = g_pids[rank_gallery(dist)] == q_pids[:, None]  # [Q, G]
        found = matches.any(axis=1)
        if not found.all():
            query = int(np.argmin(found))
            raise RankingError(
                f"row {query} of action {action}",
                "no gallery sample of its action has the query's person_uid",
            )
        precision = np.cumsum(matches, axis=1) / np.arange(1.0, matches.shape[1] + 1)
        all_ap.append(np.where(matches, precision, 0.0).sum(axis=1) / matches.sum(axis=1))
        all_first.append(np.argmax(matches, axis=1))
    if not all_ap:
        raise ValueError("no query to evaluate")
    return _summary(np.concatenate(all_ap), np.concatenate(all_first), max_rank)


DISTANCES = ("euclidean", "cosine")


def _distances(query: np.ndarray, gallery: np.ndarray, distance: str) -> np.ndarray:
    """[q, d] x [g, d] -> [q, g] float64, smaller is closer.

    "euclidean": squared Euclidean distance (the same order as the distance itself), written as
    |q|^2 + |g|^2 - 2 q.g, as the ReID task computes it; "cosine": 1 - cosine similarity.
    """
    if distance == "euclidean":
        squared = (query**2).sum(1)[:, None] + (gallery**2).sum(1)[None, :] - 2 * query @ gallery.T
        return np.maximum(squared, 0.0)
    q = query / np.maximum(np.linalg.norm(query, axis=1, keepdims=True), 1e-12)
    g = gallery / np.maximum(np.linalg.norm(gallery, axis=1, keepdims=True), 1e-12)
    return 1.0 - q @ g.T


def rank_by_action(
    query_embeddings,
    query_actions,
    gallery_embeddings,
    gallery_actions,
    *,
    distance: str = "euclidean",
) -> list[np.ndarray]:
    """Each query's ranking of the gallery samples of its own action, best first.

    query_embeddings [Q, D], query_actions [Q]; gallery_embeddings [G, D], gallery_actions [G].
    Returns, per query, a [G_action] int64 array of gallery rows ordered by increasing `distance`
    ("euclidean" or "cosine"); ties keep gallery row order (stable sort). A query whose action has
    no gallery sample gets an empty array. Raises ValueError for mismatched shapes, an unknown
    distance, or non-finite embeddings.
    """
    if distance not in DISTANCES:
        raise ValueError(f"unknown distance {distance!r}; expected one of {DISTANCES}")
    queries = np.asarray(query_embeddings, np.float64)
    gallery = np.asarray(gallery_embeddings, np.float64)
    query_actions, gallery_actions = np.asarray(query_actions), np.asarray(gallery_actions)
    if queries.ndim != 2 or gallery.ndim != 2 or queries.shape[1] != gallery.shape[1]:
        raise ValueError(
            f"embeddings must be [n, dim] with one dim: query {queries.shape}, "
            f"gallery {gallery.shape}"
        )
    if query_actions.shape != (len(queries),) or gallery_actions.shape != (len(gallery),):
        raise ValueError(
            f"one action per embedding: {query_actions.shape} query actions for "
            f"{len(queries)} queries, {gallery_actions.shape} gallery actions for {len(gallery)}"
        )
    if not (np.isfinite(queries).all() and np.isfinite(gallery).all()):
        raise ValueError("embeddings hold NaN or infinity; a ranking needs finite distances")

    # Group rows by action with one stable sort per side: rows of an action stay in row order.
    g_order = np.argsort(gallery_actions, kind="stable")
    g_keys, g_starts = np.unique(gallery_actions[g_order], return_index=True)
    g_ends = np.append(g_starts[1:], len(g_order))
    q_order = np.argsort(query_actions, kind="stable")
    q_keys, q_starts = np.unique(query_actions[q_order], return_index=True)
    q_ends = np.append(q_starts[1:], len(q_order))

    rankings: list[np.ndarray] = [np.zeros(0, np.int64)] * len(queries)
    where = np.searchsorted(g_keys, q_keys)
    for key, q_start, q_end, w in zip(q_keys, q_starts, q_ends, where):
        if w >= len(g_keys) or g_keys[w] != key:
            continue  # no gallery sample of this action: the scorer says so
        q_rows = q_order[q_start:q_end]
        g_rows = g_order[g_starts[w] : g_ends[w]]
        distances = _distances(queries[q_rows], gallery[g_rows], distance)
        order = np.argsort(distances, axis=1, kind="stable")
        for row, ranked in zip(q_rows, g_rows[order]):
            rankings[row] = ranked
    return rankings


def scores_from_embeddings(
    query_embeddings,
    query_pids,
    query_actions,
    gallery_embeddings,
    gallery_pids,
    gallery_actions,
    *,
    distance: str = "euclidean",
    max_rank: int = 1,
) -> dict:
    """Scores straight from embeddings: each query ranks its action's gallery (`rank_by_action`),
    scored as `evaluate` scores the same rankings written to `ranking_results.json`.

    query_embeddings [Q, D], query_pids [Q], query_actions [Q]; gallery_embeddings [G, D],
    gallery_pids [G], gallery_actions [G]. Returns {"mAP", "rank-1", "cmc"}; raises as
    `ranking_scores` does (queries named by row) when an action has no gallery sample or a query's
    identity is not in its action's gallery.
    """
    _check_max_rank(max_rank)
    rankings = rank_by_action(
        query_embeddings, query_actions, gallery_embeddings, gallery_actions, distance=distance
    )
    return ranking_scores(
        query_pids, query_actions, gallery_pids, gallery_actions, rankings, max_rank=max_rank
    )


def _person_codes(query_pids: np.ndarray, gallery_pids: np.ndarray):
    """person_uid arrays (int64, or object arrays of ints and strings, as `BboxColumns` holds
    them) -> int64 arrays, equal where the uids are equal (==, as the official compares)."""
    if query_pids.dtype.kind == "i" and gallery_pids.dtype.kind == "i":  # all ints: themselves
        return query_pids, gallery_pids
    codes: dict[Any, int] = {}
    gallery = np.array([codes.setdefault(p, len(codes)) for p in gallery_pids.tolist()], np.int64)
    query = np.array([codes.setdefault(p, len(codes)) for p in query_pids.tolist()], np.int64)
    return query, gallery


def _gallery_rows(gallery_ids: np.ndarray, items: np.ndarray) -> np.ndarray:
    """Gallery row (file order) of each ranked bbox_idx [N]; -1 for ids of no gallery sample."""
    if len(gallery_ids) == 0 or len(items) == 0:
        return np.full(len(items), -1, np.int64)
    low, high = int(gallery_ids.min()), int(gallery_ids.max())
    if low >= 0 and high < 4 * len(gallery_ids) + 1024:  # dense ids, as bbox_idx are: a table
        table = np.full(high + 1, -1, np.int64)
        table[gallery_ids] = np.arange(len(gallery_ids))
        if items.min() >= 0 and items.max() <= high:  # every id inside the table: one gather
            return table[items]
        rows = np.full(len(items), -1, np.int64)
        inside = (items >= 0) & (items <= high)
        rows[inside] = table[items[inside]]
        return rows
    rows = np.full(len(items), -1, np.int64)
    order = np.argsort(gallery_ids, kind="stable")
    where = np.clip(np.searchsorted(gallery_ids[order], items), 0, len(order) - 1)
    found = gallery_ids[order][where] == items
    rows[found] = order[where[found]]
    return rows


def _valid_matches(
    query_pids, query_actions, gallery_pids, gallery_actions, rows, lengths
) -> np.ndarray | None:
    """The flat match vector [N] bool when every query's ranking is valid, else None.

    Valid, as the official evaluator requires: a non-empty ranking of known gallery rows
    (rows [N], -1 unknown; lengths [Q]) of the query's action only, each of them exactly once.
    (Whether it holds the query's identity is `_precision_at_hits`'s check.) Faster than
    `_first_problem`, which also finds what is wrong: duplicates are found with one scatter,
    since a same-action sample's place inside its action is a dense key within the ranking.
    """
    num_items = len(rows)
    if num_items == 0 or not lengths.all() or rows.min() < 0:
        return None
    if not np.array_equal(gallery_actions[rows], np.repeat(query_actions, lengths)):
        return None
    # Group the gallery by action (stable: linear on rows already grouped, as files are).
    order = np.argsort(gallery_actions, kind="stable")
    sorted_actions = gallery_actions[order]
    group_starts = np.flatnonzero(np.append(True, sorted_actions[1:] != sorted_actions[:-1]))
    sizes = np.diff(np.append(group_starts, len(order)))
    # Every query ranks at least one sample of its own action, so its action is a group.
    group_of_query = np.searchsorted(sorted_actions[group_starts], query_actions)
    if not np.array_equal(sizes[group_of_query], lengths):
        return None
    place = np.empty(len(order), np.int64)  # index of each gallery row inside its action
    place[order] = np.arange(len(order)) - np.repeat(group_starts, sizes)
    seen = np.zeros(num_items, bool)  # keys fill 0..N-1 exactly when no sample is ranked twice
    seen[np.repeat(np.cumsum(lengths) - lengths, lengths) + place[rows]] = True
    if not seen.all():
        return None
    return gallery_pids[rows] == np.repeat(query_pids, lengths)


def _evaluate_fast(groundtruth_file, ranking_file, max_rank: int) -> dict | None:
    """`evaluate` for valid files read by the fast readers of `zoo.formats.reid_fast`; None
    when they cannot read them or the ranking has any problem, for `evaluate`'s exact path to
    read again and report."""
    truth = reid_fast.read_bbox_columns_fast(groundtruth_file)
    if truth is None:
        return None
    query, gallery = truth["query"], truth["gallery"]
    if not len(query.bbox_idx) or not len(gallery.bbox_idx):
        return None
    document = reid_fast.read_ranking_by_index_fast(ranking_file)
    if document is None:
        return None
    try:
        query_ids = query.bbox_idx.tolist()
        # Rankings written in the ground truth's query order need no lookup.
        if list(document) == query_ids:
            rankings = list(document.values())
        else:
            rankings = list(map(document.get, query_ids))
        lengths = np.fromiter(map(len, rankings), np.int64, len(rankings))  # None: TypeError
        items = np.fromiter(itertools.chain.from_iterable(rankings), np.int64, int(lengths.sum()))
    except TypeError:  # a query without a ranking
        return None
    except OverflowError:  # beyond 64 bits: the exact path says so
        return None
    query_pids, gallery_pids = _person_codes(query.person_uid, gallery.person_uid)
    rows = _gallery_rows(gallery.bbox_idx, items)
    matches = _valid_matches(
        query_pids, query.action_idx, gallery_pids, gallery.action_idx, rows, lengths
    )
    if matches is None:
        return None
    found = _precision_at_hits(matches, lengths)
    if found is None:  # a query whose identity is not in its ranking
        return None
    return _summary(*found, max_rank)


def evaluate(
    groundtruth_file: str | os.PathLike,
    ranking_file: str | os.PathLike,
    *,
    max_rank: int = 1,
) -> dict:
    """Score `ranking_results.json` against `<split>_bbox_info.json`, as the official evaluator.

    Returns {"mAP": float, "rank-1": float, "cmc": [CMC@1..max_rank]}; "mAP" and "rank-1" equal
    the official values. A malformed ground truth or a ranking file that is no JSON object
    raises `ReidFormatError`; a ranking the official evaluator refuses raises as described in the
    module docstring, naming the query by its bbox_idx. On the fast path (msgspec installed) the
    ground truth's entries are checked on the three fields the evaluator reads only, and a field
    repeated inside one entry takes its last value, as with the official reader; the exact path
    (`read_bbox_info`) refuses both.
    """
    _check_max_rank(max_rank)
    scores = _evaluate_fast(groundtruth_file, ranking_file, max_rank)
    if scores is not None:
        return scores
    truth = formats.read_bbox_info(groundtruth_file)
    document = formats.load_json(ranking_file)
    if not isinstance(document, dict):
        raise formats.ReidFormatError(
            ranking_file, "expected an object mapping query bbox_idx to gallery lists"
        )
    queries, gallery = truth["query"], truth["gallery"]
    pid_codes: dict[Any, int] = {}  # person_uid (int or str) -> code; == semantics as official
    gallery_ids = list(gallery)
    row_of = {g: row for row, g in enumerate(gallery_ids)}
    gallery_pids = np.array(
        [pid_codes.setdefault(e["person_uid"], len(pid_codes)) for e in gallery.values()], np.int64
    )
    query_ids = list(queries)
    query_pids = np.array(
        [pid_codes.setdefault(e["person_uid"], len(pid_codes)) for e in queries.values()], np.int64
    )
    # action_idx as written (any int, even beyond 64 bits) for messages, as codes for the arrays
    gallery_action_ids = [e["action_idx"] for e in gallery.values()]
    query_action_ids = [e["action_idx"] for e in queries.values()]
    action_codes: dict[int, int] = {}
    gallery_actions, query_actions = (
        np.array([action_codes.setdefault(a, len(action_codes)) for a in ids], np.int64)
        for ids in (gallery_action_ids, query_action_ids)
    )

    raw, row_lists, not_int_items, absent = [], [], [], []
    offset = 0
    for q in query_ids:
        absent.append(str(q) not in document)
        ranking = [] if absent[-1] else document[str(q)]
        if not isinstance(ranking, list):  # the official evaluator raises TypeError on these
            not_int_items.append(offset)
            ranking = [None]
        elif not all(type(g) is int for g in ranking):  # bool is refused too
            bad = next(j for j, g in enumerate(ranking) if type(g) is not int)
            not_int_items.append(offset + bad)
            ranking = [g if type(g) is int else None for g in ranking]
        raw.append(ranking)
        row_lists.append([row_of.get(g, -1) for g in ranking])
        offset += len(ranking)
    lengths = np.array([len(r) for r in raw], np.int64)
    rows = np.fromiter((r for rs in row_lists for r in rs), np.int64, count=offset)
    not_int = np.zeros(offset, bool)
    not_int[not_int_items] = True
    starts = np.concatenate([[0], np.cumsum(lengths)])

    problem, matches = _first_problem(
        query_pids,
        query_actions,
        gallery_pids,
        gallery_actions,
        rows,
        lengths,
        not_int,
        np.array(absent, bool),
    )
    if problem is not None:

        def item_value(item):
            query = int(np.searchsorted(starts, item, side="right") - 1)
            value = raw[query][item - starts[query]]
            if value is None:  # a non-int: show what the file holds
                listed = document[str(query_ids[query])]
                value = listed[item - starts[query]] if isinstance(listed, list) else listed
            return value

        _raise(
            problem,
            query_name=lambda q: f"'{query_ids[q]}'",
            item_value=item_value,
            gallery_name=lambda r: f"'{gallery_ids[r]}'",
            query_action=lambda q: query_action_ids[q],
            gallery_action=lambda i: gallery_action_ids[rows[i]],
        )
    return _scores_from_matches(matches, lengths, max_rank)


@user_errors
def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m zoo.metrics.reid",
        description="SoccerNet-v3 ReID mAP and rank-1 (equal to the official evaluator).",
    )
    parser.add_argument("--groundtruth", required=True, help="<split>_bbox_info.json")
    parser.add_argument("--ranking", required=True, help="ranking_results.json")
    parser.add_argument("--max-rank", type=int, default=1, help="print CMC up to this rank")
    parser.add_argument("--verbose", action="store_true", help="show the traceback of errors")
    args = parser.parse_args(argv)
    results = evaluate(args.groundtruth, args.ranking, max_rank=args.max_rank)
    print(f"mAP    : {100 * results['mAP']:.2f}")
    for rank, value in enumerate(results["cmc"], start=1):
        print(f"rank-{rank:<2}: {100 * value:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
