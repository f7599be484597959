"""Python objects across processes: gather records on process 0, broadcast results from it.

Evaluation lets every process predict its own shard of a split; the records (any picklable
objects) travel as padded uint8 arrays through JAX's cross-process collectives, so no shared
filesystem is assumed. With one process these are identities.
"""

from __future__ import annotations

import pickle
from typing import Any

import jax
import numpy as np
from jax.experimental import multihost_utils


def _as_bytes(obj: Any) -> np.ndarray:
    return np.frombuffer(pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL), np.uint8)


def gather_to_main(obj: Any) -> list[Any] | None:
    """Every process's `obj`, in process order, on process 0; None on the others."""
    if jax.process_count() == 1:
        return [obj]
    data = _as_bytes(obj)
    lengths = np.asarray(multihost_utils.process_allgather(np.array([len(data)], np.int64))).reshape(-1)
    padded = np.zeros(int(lengths.max()), np.uint8)
    padded[: len(data)] = data
    every = np.asarray(multihost_utils.process_allgather(padded))
    if jax.process_index() != 0:
        return None
    return [pickle.loads(every[i, : lengths[i]].tobytes()) for i in range(len(lengths))]


def broadcast_from_main(obj: Any) -> Any:
    """Process 0's `obj` on every process (the others pass anything, e.g. None)."""
    if jax.process_count() == 1:
        return obj
    data = _as_bytes(obj) if jax.process_index() == 0 else np.zeros(0, np.uint8)
    length = int(multihost_utils.broadcast_one_to_all(np.array(len(data), np.int64)))
    buffer = np.zeros(length, np.uint8)
    if jax.process_index() == 0:
        buffer[:] = data
    return pickle.loads(np.asarray(multihost_utils.broadcast_one_to_all(buffer)).tobytes())
