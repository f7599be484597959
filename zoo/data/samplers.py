"""Batch samplers for metric learning, as random-access plans of example indices.

A plan maps a batch number (0, 1, 2, ... without end) to the example indices of that batch, as a
pure function of (seed, batch number). Wrapped as `grain.MapDataset.range(...).map(plan)`, the
batch number is all the state there is, so a grain iterator checkpoint resumes on the same next
batch, and each process of a multi-host run takes every `process_count`-th batch number.
"""

from __future__ import annotations

import functools

import numpy as np

# Batch numbers are drawn from range(ENDLESS): plans are defined for every one of them.
ENDLESS = 2**40


def _groups(labels: np.ndarray) -> list[np.ndarray]:
    """Example indices of each distinct label, in label order."""
    labels = np.asarray(labels)
    order = np.argsort(labels, kind="stable")
    _, starts = np.unique(labels[order], return_index=True)
    return np.split(order, starts[1:])


class IdentityBatches:
    """P x K batches: `identities` identities per batch, `instances` examples of each.

    Each epoch visits the identities in a new random order, `identities` per batch (the torchreid
    RandomIdentitySampler idea, as a plan); an identity with fewer than `instances` examples is
    sampled with replacement.

    Call: plan[batch_number] -> int64 [identities * instances] example indices.
    """

    def __init__(self, identity: np.ndarray, *, identities: int, instances: int, seed: int):
        self._groups = _groups(identity)
        if len(self._groups) < identities:
            raise ValueError(
                f"A P x K batch needs {identities} identities, the training set has {len(self._groups)}: "
                f"lower the batch size or raise data.instances_per_identity."
            )
        self.identities, self.instances, self.seed = identities, instances, seed
        self.batches_per_epoch = len(self._groups) // identities

    def __len__(self) -> int:
        return ENDLESS

    def __getitem__(self, batch: int) -> np.ndarray:
        epoch, position = divmod(int(batch), self.batches_per_epoch)
        order = np.random.default_rng([self.seed, epoch]).permutation(len(self._groups))
        chosen = order[position * self.identities : (position + 1) * self.identities]
        rng = np.random.default_rng([self.seed, epoch, position, 1])
        picks = [
            rng.choice(self._groups[g], self.instances, replace=len(self._groups[g]) < self.instances)
            for g in chosen
        ]
        return np.concatenate(picks).astype(np.int64)


class ActionBatches:
    """Batches that keep the players of one action together (hard negatives: team-mates).

    Each epoch shuffles the actions and the examples inside each action, lays the actions end to
    end and cuts the stream into batches of `batch_size`; a batch thus holds whole actions (and
    the ends of its neighbours), as the 2023 challenge winners trained.

    Call: plan[batch_number] -> int64 [batch_size] example indices.
    """

    def __init__(self, action: np.ndarray, *, batch_size: int, seed: int):
        self._groups = _groups(action)
        self._size = sum(len(g) for g in self._groups)
        if self._size < batch_size:
            raise ValueError(f"The training set has {self._size} examples, fewer than one batch of {batch_size}.")
        self.batch_size, self.seed = batch_size, seed
        self.batches_per_epoch = self._size // batch_size

    def __len__(self) -> int:
        return ENDLESS

    @functools.lru_cache(maxsize=2)
    def _stream(self, epoch: int) -> np.ndarray:
        rng = np.random.default_rng([self.seed, epoch])
        return np.concatenate([rng.permutation(self._groups[a]) for a in rng.permutation(len(self._groups))])

    def __getitem__(self, batch: int) -> np.ndarray:
        epoch, position = divmod(int(batch), self.batches_per_epoch)
        start = position * self.batch_size
        return self._stream(epoch)[start : start + self.batch_size].astype(np.int64)


class ShuffledBatches:
    """Every example once per epoch, in a new random order each epoch, `batch_size` per batch.

    The incomplete last batch of an epoch is dropped; a dataset smaller than a batch fills it by
    repeating its (shuffled) examples.
    """

    def __init__(self, count: int, *, batch_size: int, seed: int):
        if count <= 0 or batch_size <= 0:
            raise ValueError(f"need examples and a positive batch size, got {count} and {batch_size}")
        self.count, self.batch_size, self.seed = count, batch_size, seed
        self.batches_per_epoch = max(count // batch_size, 1)

    @functools.lru_cache(maxsize=4)
    def _epoch(self, epoch: int) -> np.ndarray:
        order = np.random.default_rng([self.seed, epoch]).permutation(self.count)
        return np.resize(order, max(self.count, self.batch_size))

    def __getitem__(self, batch: int) -> np.ndarray:
        epoch, index = divmod(int(batch), self.batches_per_epoch)
        return self._epoch(epoch)[index * self.batch_size : (index + 1) * self.batch_size]
