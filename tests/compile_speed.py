"""A module fixture that compiles with most XLA optimizations off: the tiny programs of tests run
in microseconds either way, and their compilation takes half the time."""

from __future__ import annotations

import jax
import pytest


@pytest.fixture(autouse=True, scope="module")
def fast_compiles():
    previous = jax.config.values.get("jax_disable_most_optimizations", False)
    jax.config.update("jax_disable_most_optimizations", True)
    yield
    jax.config.update("jax_disable_most_optimizations", previous)
