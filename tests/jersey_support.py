"""Shared pieces of the jersey tests: the opt-in marker and the compile-speed fixture."""

from __future__ import annotations

import os

import jax
import pytest

# minute-long tests (learning, the full pipeline of every stage, PARSeq decoding parity)
SLOW = pytest.mark.skipif(not os.environ.get("ZOO_SLOW_TESTS"), reason="slow: set ZOO_SLOW_TESTS=1")


@pytest.fixture(autouse=True, scope="module")
def quick_compiles():
    """XLA without most optimisations, for test modules that compile far more than they compute
    (import it into the module)."""
    previous = jax.config.read("jax_disable_most_optimizations")
    jax.config.update("jax_disable_most_optimizations", True)
    yield
    jax.config.update("jax_disable_most_optimizations", previous)
