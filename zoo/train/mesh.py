"""The device mesh, data-parallel shardings, and global batches built from per-process shards.

Data parallelism is `jax.jit` over a one-axis mesh named `data`: batches are sharded on it,
parameters and optimizer state are replicated. This is what `jax.pmap` did, in its current form
(pmap is in maintenance mode and is itself implemented with jit + shard_map).
"""

from __future__ import annotations

import os

import jax
import numpy as np
from absl import logging
from jax.sharding import AxisType, NamedSharding
from jax.sharding import PartitionSpec as P

DATA_AXIS = "data"


def maybe_initialize_distributed() -> None:
    """Joins a multi-process run when launched as several processes; a no-op for one process.

    Launch modes:
      - JAX_COORDINATOR_ADDRESS=host:port, JAX_NUM_PROCESSES=N and JAX_PROCESS_ID=i set on each
        process (any cluster, or several processes on one machine);
      - Slurm (srun with several tasks) or Open MPI (mpirun -n N): jax finds everything itself.
    Must run before anything touches a device.
    """
    if jax.distributed.is_initialized():
        return
    coordinator = os.environ.get("JAX_COORDINATOR_ADDRESS")
    many_tasks = any(int(os.environ.get(n, "1")) > 1 for n in ("SLURM_NTASKS", "OMPI_COMM_WORLD_SIZE"))
    if not coordinator and not many_tasks:
        return
    # Cross-process collectives on CPU (tests, CPU clusters) need gloo; GPUs use NCCL regardless.
    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    if coordinator:
        missing = [n for n in ("JAX_NUM_PROCESSES", "JAX_PROCESS_ID") if n not in os.environ]
        if missing:
            raise ValueError(f"JAX_COORDINATOR_ADDRESS is set, so {' and '.join(missing)} must be too.")
        jax.distributed.initialize(
            coordinator, int(os.environ["JAX_NUM_PROCESSES"]), int(os.environ["JAX_PROCESS_ID"])
        )
    else:
        jax.distributed.initialize()
    logging.info(
        "Process %d of %d, %d local devices of %d.",
        jax.process_index(), jax.process_count(), jax.local_device_count(), jax.device_count(),
    )


def make_mesh(num_devices: int | None = None) -> jax.sharding.Mesh:
    """A one-axis `data` mesh over all devices (or the first `num_devices`).

    The axis type is Auto, set on purpose (make_mesh defaults to Explicit): the inputs and
    outputs of every jitted function carry explicit shardings, and XLA propagates them inside.
    Explicit mode would type-check every intermediate instead, and rejects stock Linen layers:
    `nn.Dropout` draws a replicated mask and selects it against batch-sharded activations.
    """
    num_devices = num_devices or jax.device_count()
    return jax.make_mesh(
        (num_devices,), (DATA_AXIS,), axis_types=(AxisType.Auto,),
        devices=jax.devices()[:num_devices],
    )


def local_mesh() -> jax.sharding.Mesh:
    """A `data` mesh over this process's devices only: each process predicts its own shard of a
    split with it, at its own pace, with no collective across processes."""
    if jax.process_count() == 1:
        return make_mesh()
    return jax.make_mesh((jax.local_device_count(),), (DATA_AXIS,), axis_types=(AxisType.Auto,),
                         devices=jax.local_devices())


def onto(tree, mesh: jax.sharding.Mesh):
    """A replicated pytree of arrays (e.g. params) placed replicated on `mesh`.

    With several processes the train state lives on every process's devices; a local mesh gets
    a copy of this process's replica (each device of a fully replicated array holds all of it).
    """
    def place(x):
        if isinstance(x, jax.Array) and not x.is_fully_addressable:
            x = x.addressable_data(0)
        return jax.device_put(x, replicated(mesh))

    return jax.tree.map(place, tree)


def replicated(mesh: jax.sharding.Mesh) -> NamedSharding:
    return NamedSharding(mesh, P())


def batch_sharded(mesh: jax.sharding.Mesh) -> NamedSharding:
    """Shards the leading (batch) axis over `data`; other axes are whole on every device."""
    return NamedSharding(mesh, P(DATA_AXIS))


def check_batch_size(global_batch_size: int, mesh: jax.sharding.Mesh) -> int:
    """The per-process batch size; the global batch must split evenly over devices."""
    devices = mesh.devices.size
    if global_batch_size % devices:
        raise ValueError(
            f"The batch size {global_batch_size} does not split evenly over {devices} devices; "
            f"use a multiple of {devices} (--config.train.batch_size)."
        )
    return global_batch_size // jax.process_count()


def global_batch(local_batch, mesh: jax.sharding.Mesh):
    """Builds global arrays sharded on `data` from this process's slice of the batch.

    Each process passes only the examples it read ([global_batch / process_count, ...]); with one
    process this is a plain sharded device_put.
    """
    sharding = batch_sharded(mesh)
    return jax.tree.map(
        lambda x: jax.make_array_from_process_local_data(sharding, np.asarray(x)), local_batch
    )
