"""Test setup: 4 simulated CPU devices before anything touches JAX, absl flags marked parsed."""

import os

os.environ.setdefault("XLA_FLAGS", "")
import jax  # noqa: E402

jax.config.update("jax_num_cpu_devices", 4)

from absl import flags  # noqa: E402

# grain's multiprocessing and absl logging expect parsed flags outside absl.app.run.
flags.FLAGS.mark_as_parsed()

import pathlib  # noqa: E402

import pytest  # noqa: E402

REPO = pathlib.Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def repo_root() -> pathlib.Path:
    return REPO
