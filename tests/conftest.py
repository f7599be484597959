"""Test setup: 4 simulated CPU devices before anything touches JAX, absl flags marked parsed."""

import os

os.environ.setdefault("XLA_FLAGS", "")
import jax  # noqa: E402

jax.config.update("jax_num_cpu_devices", 4)
# Compiling, not running, is most of the suite's time (tiny inputs): XLA's optimisation passes cost
# more than they save here (measured: about 40% less CPU time). Subprocesses inherit it too.
os.environ.setdefault("JAX_DISABLE_MOST_OPTIMIZATIONS", "1")
jax.config.update("jax_disable_most_optimizations", os.environ["JAX_DISABLE_MOST_OPTIMIZATIONS"] == "1")

import tempfile  # noqa: E402

# One persistent compilation cache for the session and the subprocesses it starts: the runs
# of a test module compile the same model again and again (init, train step, predictor).
_CACHE = os.environ.setdefault("JAX_COMPILATION_CACHE_DIR", tempfile.mkdtemp(prefix="zoo-jax-cache-"))
os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0")
os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES", "-1")
jax.config.update("jax_compilation_cache_dir", _CACHE)
jax.config.update("jax_persistent_cache_min_compile_time_secs", 0)
jax.config.update("jax_persistent_cache_min_entry_size_bytes", -1)

from absl import flags  # noqa: E402

# grain's multiprocessing and absl logging expect parsed flags outside absl.app.run.
flags.FLAGS.mark_as_parsed()

import pathlib  # noqa: E402

import pytest  # noqa: E402

REPO = pathlib.Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def repo_root() -> pathlib.Path:
    return REPO


@pytest.fixture(scope="module")
def torch():
    """PyTorch (the test is skipped without it) on one thread while a module runs: the inputs
    are tiny, and OpenMP threads spinning against JAX's thread pool (or any other busy core)
    make PyTorch's small convolutions several times slower."""
    torch = pytest.importorskip("torch")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield torch
    torch.set_num_threads(threads)
