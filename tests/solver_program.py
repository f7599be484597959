"""The calibration solver's compiled program, shared by the test modules that solve cameras.

The tests compile with XLA's optimisations off (tests/conftest.py): right for networks on tiny
inputs, wrong for the solver, whose one program (chunks of 16 images, 57 keypoint and 256
line-point slots, the default settings, as zoo.tasks.calibration uses it) runs hundreds of
Levenberg-Marquardt iterations: unoptimised, its runs cost more than the compile saves. So it is
compiled once per process with the optimisations on; later calls, whatever the flag, reuse it
(the flag is not part of JAX's jit cache key).
"""

from __future__ import annotations

import functools

import jax
import numpy as np

from zoo.postprocess import camera_solver

CHUNK, SLOTS = 16, (57, 256)


@functools.cache
def compile_optimised(config: camera_solver.SolverConfig = camera_solver.SolverConfig()) -> None:
    empty = camera_solver.Observations(
        np.zeros((1, 1, 3), np.float32), np.zeros((1, 1, 2), np.float32), np.zeros((1, 1), np.float32),
        np.zeros((1, 1, 2), np.float32), np.zeros((1, 1), np.int32), np.zeros((1, 1), np.float32))
    previous = jax.config.read("jax_disable_most_optimizations")
    jax.config.update("jax_disable_most_optimizations", False)
    try:
        camera_solver.solve(empty, config=config, chunk=CHUNK, slots=SLOTS)
    finally:
        jax.config.update("jax_disable_most_optimizations", previous)
