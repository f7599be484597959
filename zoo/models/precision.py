"""The compute dtype of the step being traced, for models that make floats out of integer inputs.

The core computes in bfloat16 by casting the params and the floating inputs (float32 params stay
the master copy). A model that turns uint8 frames into floats itself asks `compute_dtype()` for the
dtype to use, so that its first layer does not promote everything after it back to float32.
"""

from __future__ import annotations

import contextlib
import contextvars

import jax.numpy as jnp

_COMPUTE_DTYPE: contextvars.ContextVar = contextvars.ContextVar("zoo_compute_dtype", default=jnp.float32)


def compute_dtype():
    """float32, or bfloat16 while the core traces a mixed-precision step or predictor."""
    return _COMPUTE_DTYPE.get()


@contextlib.contextmanager
def computing_in(dtype):
    """Traces what runs inside with `dtype` as the compute dtype."""
    token = _COMPUTE_DTYPE.set(dtype)
    try:
        yield
    finally:
        _COMPUTE_DTYPE.reset(token)
