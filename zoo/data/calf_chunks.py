"""CALF's training chunks: the published class-balanced sampling of 2-minute windows of a half.

Every draw picks a class uniformly (the classes plus "no action"), then one of its anchors:
  - an action of that class: the chunk starts U[-(T - RF), -RF) frames from it, so the action
    falls in the middle part of the chunk (T chunk frames, RF the receptive field in frames);
  - "no action": a stretch of frames at least T long where every class is far from any of its
    actions (shift <= K0 or >= K3 for all classes), and a chunk inside it.
Classes without any anchor in the training halves are not drawn (the published code would fail
on them). The first and last ceil(RF / 2) frames of a chunk carry no segmentation loss (their
shifts are set to -1, inside the no-loss zone) and no spotting target, as published.

A half is a `ChunkSource` item: its features [F, D], per-frame shifts [F, C] and any per-frame
context arrays; `inputs_of(half, start)` cuts the model inputs of one chunk from it (the task
passes the function that renders top views or graph nodes for the chunk's frames).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from zoo.losses.calf import frame_shifts, spotting_targets


@dataclasses.dataclass(frozen=True)
class HalfChunks:
    """What the sampler needs of one half.

    features: [F, D]; events: [F, C] bool (an action of class c at frame t); context: any
    per-half data that `inputs_of` uses (top-view features, players on the pitch...).
    """

    features: np.ndarray
    events: np.ndarray
    context: Any = None

    @property
    def num_frames(self) -> int:
        return len(self.features)


def event_matrix(frames: Sequence[int], class_index: Sequence[int], num_frames: int, num_classes: int) -> np.ndarray:
    """[F, C] bool from action frames and classes; frames past the end go to the last frame, as
    the official CALF reader does."""
    events = np.zeros((num_frames, num_classes), bool)
    frames = np.minimum(np.asarray(frames, np.int64), num_frames - 1)
    events[frames, np.asarray(class_index, np.int64)] = True
    return events


def far_stretches(shifts: np.ndarray, k: np.ndarray, min_length: int) -> list[tuple[int, int]]:
    """[start, end) runs of frames where every class is far from its actions, >= min_length long."""
    far = np.all((shifts <= k[0]) | (shifts >= k[3]), axis=1)
    edges = np.diff(np.concatenate([[0], far.astype(np.int8), [0]]))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    return [(int(s), int(e)) for s, e in zip(starts, ends) if e - s >= min_length]


class ChunkSampler:
    """Draws training chunks (a grain `random_map` transform over any index).

    Args:
      halves: the training halves.
      k: [4, C] K parameters in frames.
      chunk_size, receptive_field: T and RF in frames.
      num_detections: N action slots of the spotting targets.
      inputs_of: (half, start) -> the model inputs of frames [start, start + T) of the half, a
        dict with at least "features" [T, D] (frames past the end of a short half are zeros).

    Each draw is {"inputs": ..., "shifts": [T, C] float32, "targets": [N, 2 + C] float32}.
    """

    def __init__(
        self,
        halves: Sequence[HalfChunks],
        *,
        k: np.ndarray,
        chunk_size: int,
        receptive_field: int,
        num_detections: int,
        inputs_of: Callable[[HalfChunks, int], Mapping[str, np.ndarray]],
    ):
        self.halves = list(halves)
        self.k = np.asarray(k, np.float32)
        self.chunk_size, self.receptive_field = chunk_size, receptive_field
        self.num_detections = num_detections
        self.inputs_of = inputs_of
        self.shifts = [frame_shifts(h.events, self.k) for h in self.halves]
        num_classes = self.k.shape[1]
        anchors: list[list] = [[] for _ in range(num_classes + 1)]
        for index, (half, shifts) in enumerate(zip(self.halves, self.shifts)):
            for frame, klass in zip(*np.nonzero(half.events)):
                anchors[klass].append((index, int(frame)))
            for start, end in far_stretches(shifts, self.k, chunk_size):
                anchors[num_classes].append((index, start, end))
        self.anchors = [a for a in anchors if a]  # the classes that can be drawn
        self.drawn_classes = [c for c, a in enumerate(anchors) if a]
        if not self.anchors:
            raise ValueError("No training half holds an action or a long enough stretch without one.")

    def draw(self, rng: np.random.Generator) -> tuple[int, int]:
        """(half index, chunk start) of one chunk."""
        group = self.anchors[int(rng.integers(len(self.anchors)))]
        anchor = group[int(rng.integers(len(group)))]
        t, rf = self.chunk_size, self.receptive_field
        if len(anchor) == 2:
            index, frame = anchor
            start = frame + int(rng.integers(-t + rf, -rf))
        else:
            index, first, end = anchor
            start = int(rng.integers(first, end - t + 1))
        return index, int(np.clip(start, 0, max(self.halves[index].num_frames - t, 0)))

    def chunk(self, index: int, start: int) -> dict[str, Any]:
        """The training example of the chunk of half `index` starting at `start`."""
        t = self.chunk_size
        shifts = self.shifts[index][start:start + t]
        if len(shifts) < t:  # a half shorter than a chunk: the padding carries no loss
            shifts = np.concatenate([shifts, np.full((t - len(shifts), shifts.shape[1]), -1, np.float32)])
        shifts = shifts.copy()
        border = math.ceil(self.receptive_field / 2)
        shifts[:border] = -1
        shifts[t - border:] = -1
        targets, _ = spotting_targets(shifts, self.num_detections)
        return {"inputs": dict(self.inputs_of(self.halves[index], start)), "shifts": shifts, "targets": targets}

    def __call__(self, _, rng: np.random.Generator) -> dict[str, Any]:
        return self.chunk(*self.draw(rng))


def cut_frames(array: np.ndarray, start: int, length: int) -> np.ndarray:
    """array[start:start + length] along the first axis, zero-padded to `length`."""
    part = array[start:start + length]
    if len(part) < length:
        part = np.concatenate([part, np.zeros((length - len(part),) + part.shape[1:], part.dtype)])
    return part
