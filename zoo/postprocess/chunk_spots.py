"""From chunk-wise class and displacement outputs to the actions of a half (ASTRA's inference).

    spots = predict_half(config, predictor, half)          # Spots at config.data.output_rate

1. The half is cut into chunks of `config.data.chunk_seconds` starting every
   `config.eval.chunk_stride_seconds` (ASTRA: 50 s every 8 s), run through the model a batch of
   chunks at a time.
2. Every output step j of a chunk starting at output step s whose class probability p exceeds
   `config.eval.nms_threshold` votes for step round(s + j - displacement) of the half (clipped to
   it); each step of the half keeps, per class, the highest vote (ASTRA `testSpotting`).
3. Per class, soft NMS with that class's window (`config.eval.nms_window_seconds`, ASTRA's
   per-class windows) and threshold: `zoo.postprocess.nms.soft_nms` with half-width
   window x rate / 2, which is ASTRA's `get_spot_from_SNMS` (squared decay over +-window/2).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence

import ml_collections
import numpy as np

from zoo.data.feature_chunks import chunk_starts, feature_rate, input_frames, num_output_steps, output_frames
from zoo.data.feature_halves import Half
from zoo.postprocess.nms import soft_nms


@dataclasses.dataclass(frozen=True)
class Spots:
    """The actions spotted in one half; `frame` at `framerate` (write with that framerate)."""

    frame: np.ndarray  # [N] int64
    class_index: np.ndarray  # [N] int64
    confidence: np.ndarray  # [N] float64
    framerate: float


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * np.asarray(x, np.float64)))


def chunk_outputs(predictors: Sequence[Callable[[np.ndarray], dict]],
                  chunks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Class probabilities and displacements of chunks [n, T_in, dim], averaged over an ensemble.

    Returns ([n, T, K], [n, T, K]) without the background column.
    """
    outputs = [predictor(chunks) for predictor in predictors]
    probabilities = np.mean([_sigmoid(o["class_logits"]) for o in outputs], axis=0)[..., 1:]
    displacement = np.mean([np.asarray(o["displacement"], np.float64) for o in outputs], axis=0)[..., 1:]
    return probabilities, displacement


def vote_scores(probabilities: np.ndarray, displacement: np.ndarray, chunk_first_steps: np.ndarray, *,
                num_steps: int, threshold: float, scores: np.ndarray | None = None) -> np.ndarray:
    """Step 2 of the module docstring for a batch of chunks; returns (and fills) [num_steps, K] scores.

    probabilities, displacement: [chunks, T, K] (`chunk_outputs`).
    chunk_first_steps: [chunks] the half's output step of each chunk's first step.
    """
    chunks, steps, classes = probabilities.shape
    if scores is None:
        scores = np.zeros((num_steps, classes), np.float64)
    step = chunk_first_steps[:, None, None] + np.arange(steps)[None, :, None] - displacement
    target = np.clip(np.rint(step), 0, num_steps - 1).astype(np.int64)  # rint: torch's round, half to even
    vote = probabilities > threshold
    column = np.broadcast_to(np.arange(classes), probabilities.shape)
    np.maximum.at(scores, (target[vote], column[vote]), probabilities[vote])
    return scores


def spot_scores(scores: np.ndarray, *, windows: np.ndarray, threshold: float) -> tuple[np.ndarray, ...]:
    """Per-class soft NMS of [steps, K] scores with per-class half-widths `windows` [K] (steps).

    Returns (frame, class_index, confidence) sorted by class, then frame.
    """
    found = []
    for klass in range(scores.shape[1]):
        frame, _, confidence = soft_nms(scores[:, klass : klass + 1], window=max(int(windows[klass]), 1),
                                        threshold=threshold)
        found.append((frame, np.full(len(frame), klass, np.int64), confidence))
    frame, klass, confidence = (np.concatenate(parts) for parts in zip(*found))
    return frame.astype(np.int64), klass, confidence.astype(np.float64)


def predict_half(config: ml_collections.ConfigDict, predictor: Callable | Sequence[Callable], half: Half) -> Spots:
    """The actions of one half from a chunk spotter (module docstring); frames at config.data.output_rate.

    predictor: a Predictor, or several (an ensemble: their probabilities and displacements are averaged).
    """
    predictors = list(predictor) if isinstance(predictor, (list, tuple)) else [predictor]
    rate, output_rate = feature_rate(config), config.data.output_rate
    chunk_in = input_frames(config)
    stride_in = int(round(config.eval.chunk_stride_seconds * rate))
    features = half.features
    starts = chunk_starts(len(features), stride=stride_in)
    num_steps = num_output_steps(len(features), rate=rate, output_rate=output_rate)
    scores = np.zeros((num_steps, len(config.eval.nms_window_seconds)), np.float64)
    batch = max(1, config.eval.batch_size)
    for first in range(0, len(starts), batch):
        batch_starts = starts[first : first + batch]
        frames = np.clip(batch_starts[:, None] + np.arange(chunk_in)[None], 0, len(features) - 1)
        probabilities, displacement = chunk_outputs(predictors, features[frames])
        if probabilities.shape[1] != output_frames(config):
            raise ValueError(f"the model gives {probabilities.shape[1]} output steps per chunk, "
                             f"the config {output_frames(config)}")
        first_steps = np.rint(batch_starts * output_rate / rate).astype(np.int64)
        vote_scores(probabilities, displacement, first_steps, num_steps=num_steps,
                    threshold=config.eval.nms_threshold, scores=scores)
    windows = np.asarray(config.eval.nms_window_seconds, np.float64) * output_rate / 2
    frame, klass, confidence = spot_scores(scores, windows=windows, threshold=config.eval.nms_threshold)
    return Spots(frame=frame, class_index=klass, confidence=confidence, framerate=output_rate)
