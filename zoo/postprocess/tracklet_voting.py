"""From per-crop evidence to one shirt number per tracklet: ball filter, appearance outliers,
legibility filter and the Bayesian combination of the number probabilities.

Koshkina & Elder's consolidation, made exact where theirs approximates:

- **Balls** are tracklets whose crops are small on average (both mean height <= 35 px and mean
  width <= 30 px, their rule); they answer -1.
- **Outliers by appearance**: a tracklet's crops should all show one person, so crops far from
  the tracklet's mean appearance embedding (a ReID embedding) are dropped: fit a Gaussian to the
  distances from the mean, drop crops beyond mean + `threshold` standard deviations, refit on
  the kept crops, `rounds` times. (The published script computes `threshold * std` but compares
  the raw distance excess with `threshold`; here the threshold is in standard deviations, as
  their text says.)
- **Legibility**: only crops the legibility classifier passes (probability >= its threshold)
  are read.
- **Combination**: each read crop gives log P(text = n) for every number n = 0..99 (exact
  sequence probabilities from the recogniser, so the number's length is part of it, not a
  separate guess). Treating crops as independent views, the tracklet's log-posterior is the sum
  over crops, plus an optional log-prior over numbers. Each crop's probabilities are first
  floored at `probability_floor` (renormalised), so one over-confident crop cannot veto what
  many others agree on. The answer is the arg-max; its confidence is the geometric-mean
  posterior (the softmax of the mean log-probability, which does not grow with the number of
  crops), and below `min_confidence`, or with fewer than `min_legible` read crops, the answer is
  -1. The published pipeline combines the tens and units positions independently (a sum of
  per-position log-likelihoods); the sequence probabilities here include it as a special case.
"""

from __future__ import annotations

import dataclasses

import numpy as np
from scipy.special import logsumexp

from zoo.formats.jersey import ILLEGIBLE

BALL_MAX_HEIGHT = 35.0
BALL_MAX_WIDTH = 30.0
NUMBERS = 100


def is_ball(heights: np.ndarray, widths: np.ndarray, *, max_height: float = BALL_MAX_HEIGHT,
            max_width: float = BALL_MAX_WIDTH) -> bool:
    """Whether a tracklet with crops of these sizes (pixels) is a ball: small on average."""
    return bool(np.mean(heights) <= max_height and np.mean(widths) <= max_width)


def appearance_inliers(embeddings: np.ndarray, *, threshold: float = 3.5, rounds: int = 3) -> np.ndarray:
    """Which crops of a tracklet show its main subject: bool [n] from embeddings [n, d].

    Tracklets of fewer than 3 crops keep them all (no Gaussian to fit).
    """
    embeddings = np.asarray(embeddings, np.float64)
    keep = np.ones(len(embeddings), bool)
    if len(embeddings) < 3:
        return keep
    for _ in range(rounds):
        centre = embeddings[keep].mean(axis=0)
        distance = np.linalg.norm(embeddings - centre, axis=1)
        mean, std = distance[keep].mean(), distance[keep].std()
        new = distance - mean <= threshold * std
        if not new.any() or np.array_equal(new, keep):
            break
        keep = new
    return keep


@dataclasses.dataclass(frozen=True)
class Vote:
    """A tracklet's answer: `number` (-1: not visible), `confidence` of the best number (NaN
    when nothing was read), `read` (crops that voted) and `posterior` [100] (the geometric-mean
    posterior over 0..99, zeros when nothing was read)."""

    number: int
    confidence: float
    read: int
    posterior: np.ndarray


def combine(number_log_probs: np.ndarray, *, probability_floor: float = 1e-3, min_confidence: float = 0.5,
            min_legible: int = 1, log_prior: np.ndarray | None = None) -> Vote:
    """The tracklet's number from its read crops' log P(text = n) [crops, 100].

    probability_floor: each crop's distribution (over 0..99, renormalised) is raised to at least
      this probability per number, then renormalised.
    min_confidence: the geometric-mean posterior the best number needs, else -1.
    min_legible: crops that must have been read, else -1.
    log_prior: optional log-prior over 0..99 [100] (e.g. from training label counts).
    """
    scores = np.asarray(number_log_probs, np.float64).reshape(-1, NUMBERS)
    read = len(scores)
    if read < max(min_legible, 1):
        return Vote(ILLEGIBLE, float("nan"), read, np.zeros(NUMBERS))
    crop_probs = np.exp(scores - logsumexp(scores, axis=1, keepdims=True))  # over 0..99
    crop_probs = np.maximum(crop_probs, min(max(probability_floor, 0.0), 1.0 / NUMBERS))
    crop_probs /= crop_probs.sum(axis=1, keepdims=True)
    mean_log = np.log(crop_probs).mean(axis=0)
    if log_prior is not None:
        mean_log = mean_log + np.asarray(log_prior, np.float64) / read
    posterior = np.exp(mean_log - logsumexp(mean_log))
    best = int(np.argmax(posterior))
    confidence = float(posterior[best])
    number = best if confidence >= min_confidence else ILLEGIBLE
    return Vote(number, confidence, read, posterior)
