"""The training input of tasks whose examples fit a random-access source: shuffled batches forever."""

from __future__ import annotations

import grain
import jax


def shuffled_batches(source, *, seed: int, batch_size: int) -> grain.MapDataset:
    """This process's share of `source` (every process_count-th example), reshuffled each epoch
    with `seed`, repeated forever, in batches of `batch_size` (the last partial batch of an epoch
    dropped): what `TrainData.dataset` wants."""
    return (
        grain.MapDataset.source(source)[jax.process_index()::jax.process_count()]
        .seed(seed)
        .shuffle()
        .repeat()
        .batch(batch_size, drop_remainder=True)
    )
