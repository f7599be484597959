"""A module-scoped fixture for test modules whose time is XLA compiling: import `quick_compiles`."""

import jax
import pytest


@pytest.fixture(autouse=True, scope="module")
def quick_compiles():
    """XLA without most optimisations while the module runs: its tests run each compiled function
    once or twice, so compiling dominates (flax's example tests do the same)."""
    before = jax.config.read("jax_disable_most_optimizations")
    jax.config.update("jax_disable_most_optimizations", True)
    yield
    jax.config.update("jax_disable_most_optimizations", before)
