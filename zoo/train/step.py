"""The one train step every task shares, the train-state initialiser, and the predictor.

`train_step` is a module-level function of (state, batch): the task contributes only its loss.
It is jit-compiled once per run with the state replicated, the batch sharded on the `data` mesh
axis, and the state donated so parameters are updated in place. Three options change how it
computes, never what it means:
  - compute dtype: bfloat16 casts the float32 params and the floating inputs for the forward and
    backward passes; params, optimizer state, gradients and the loss stay float32;
  - gradient accumulation: the batch is split into K micro-batches whose gradients are averaged
    before one optimizer update (a lax.scan, so memory is that of one micro-batch);
  - rematerialisation ("full"): the forward pass is recomputed in the backward pass instead of
    keeping its activations (models with a `remat` field can do it per block instead).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import einops
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax

from zoo.models.precision import computing_in
from zoo.train import mesh as mesh_lib
from zoo.train.state import TrainState
from zoo.train.task import Metrics

PRECISIONS = ("auto", "fp32", "bf16")
REMAT = ("none", "full")


def compute_dtype(precision: str, platform: str | None = None):
    """The compute dtype of `config.train.precision`: auto is bf16 on GPU and TPU, fp32 on CPU."""
    if precision not in PRECISIONS:
        raise ValueError(f"train.precision={precision!r}; expected one of {PRECISIONS}.")
    if precision == "auto":
        platform = platform or jax.default_backend()
        precision = "fp32" if platform == "cpu" else "bf16"
    return jnp.bfloat16 if precision == "bf16" else jnp.float32


def _cast_floating(tree, dtype):
    """Floating leaves to `dtype`; integer leaves (uint8 frames, labels) as they are."""
    return jax.tree.map(lambda x: x.astype(dtype) if jnp.issubdtype(x.dtype, jnp.floating) else x, tree)


def _apply(model: nn.Module, params, model_state, inputs, *, train: bool, rng=None, dtype=jnp.float32):
    """model.apply that also returns the updated model state ({} for stateless models).

    With a bfloat16 `dtype` the params and floating inputs are cast for this call only, and the
    floating outputs come back as float32 for the loss and post-processing.
    """
    if dtype != jnp.float32:
        params, inputs = _cast_floating(params, dtype), _cast_floating(inputs, dtype)
    variables = {"params": params, **model_state}
    rngs = {"dropout": rng} if rng is not None else None
    with computing_in(dtype):
        if not model_state:
            outputs = model.apply(variables, inputs, train=train, rngs=rngs)
        elif not train:
            outputs = model.apply(variables, inputs, train=False)
        else:
            outputs, model_state = model.apply(variables, inputs, train=True, rngs=rngs, mutable=list(model_state))
    return _cast_floating(outputs, jnp.float32), model_state


def _micro_batches(batch, steps: int, sharding):
    """[B, ...] -> [steps, B / steps, ...]: micro-batch i holds examples i, i + steps, ...

    Taking every `steps`-th example keeps each device's rows on that device (the batch is sharded
    in contiguous blocks), so no micro-batch moves data between devices.
    """
    def split(x):
        if x.shape[0] % steps:
            raise ValueError(f"A batch of {x.shape[0]} does not split into {steps} micro-batches.")
        x = einops.rearrange(x, "(b k) ... -> k b ...", k=steps)
        return x if sharding is None else jax.lax.with_sharding_constraint(x, sharding)

    return jax.tree.map(split, batch)


def train_step(
    state: TrainState,
    batch: dict[str, Any],
    *,
    model: nn.Module,
    loss_fn: Callable[[Any, dict[str, Any]], tuple[jax.Array, Metrics]],
    tx: optax.GradientTransformationExtraArgs,
    dtype=jnp.float32,
    accumulation: int = 1,
    remat: str = "none",
    micro_sharding=None,
) -> tuple[TrainState, Metrics]:
    """One optimisation step: forward, task loss, backward (over K micro-batches), optax update.

    Args:
      state: the replicated train state.
      batch: dict of global arrays sharded on `data`; "inputs" (an array or a pytree) goes to the
        model, the rest is for the loss.
      model, loss_fn, tx, dtype, accumulation, remat, micro_sharding: bound with
        functools.partial before jit (static).

    Returns:
      The new state and metrics as (sum, count) pairs, including loss and grad_norm.
    """
    rng = jax.random.fold_in(state.rng, state.step)

    def objective(params, model_state, micro_batch, key):
        outputs, model_state = _apply(model, params, model_state, micro_batch["inputs"], train=True,
                                      rng=key, dtype=dtype)
        loss, metrics = loss_fn(outputs, micro_batch)
        return loss, (model_state, metrics)

    if remat == "full":
        objective = jax.checkpoint(objective)
    grad_fn = jax.value_and_grad(objective, has_aux=True)

    if accumulation == 1:
        (loss, (model_state, metrics)), grads = grad_fn(state.params, state.model_state, batch, rng)
    else:
        def accumulate(carry, xs):
            grads_sum, loss_sum, model_state, metrics_sum = carry
            micro_batch, index = xs
            (loss, (model_state, metrics)), grads = grad_fn(
                state.params, model_state, micro_batch, jax.random.fold_in(rng, index))
            add = lambda a, b: jax.tree.map(jnp.add, a, b)  # noqa: E731
            return (add(grads_sum, grads), loss_sum + loss, model_state, add(metrics_sum, metrics)), None

        micro = _micro_batches(batch, accumulation, micro_sharding)
        first = jax.tree.map(lambda x: x[0], micro)
        # Shapes of the metrics, for the scan's zero carry.
        _, (_, metrics_shape) = jax.eval_shape(objective, state.params, state.model_state, first, rng)
        zeros = lambda tree: jax.tree.map(lambda x: jnp.zeros(x.shape, x.dtype), tree)  # noqa: E731
        carry = (zeros(state.params), jnp.zeros((), jnp.float32), state.model_state, zeros(metrics_shape))
        (grads, loss, model_state, metrics), _ = jax.lax.scan(
            accumulate, carry, (micro, jnp.arange(accumulation)))
        grads = jax.tree.map(lambda g: g / accumulation, grads)
        loss = loss / accumulation

    updates, opt_state = tx.update(grads, state.opt_state, state.params, value=loss)
    params = optax.apply_updates(state.params, updates)
    one = jnp.ones((), jnp.float32)
    metrics = {
        **metrics,
        "loss": (loss, one),
        "grad_norm": (optax.tree.norm(grads), one),
    }
    new_state = state.replace(
        params=params, model_state=model_state, opt_state=opt_state, step=state.step + 1
    )
    return new_state, metrics


def jit_train_step(model, loss_fn, tx, mesh: jax.sharding.Mesh, state_shardings, *,
                   dtype=jnp.float32, accumulation: int = 1, remat: str = "none"):
    """train_step compiled with explicit shardings and the state donated."""
    if remat not in REMAT:
        raise ValueError(f"train.remat={remat!r}; expected one of {REMAT} (per-block remat is a "
                         "model field, config.model.remat, where the model has one).")
    if accumulation < 1:
        raise ValueError(f"train.grad_accum_steps={accumulation}; expected 1 or more.")
    micro_sharding = jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec(None, mesh_lib.DATA_AXIS))
    return jax.jit(
        functools.partial(train_step, model=model, loss_fn=loss_fn, tx=tx, dtype=dtype,
                          accumulation=accumulation, remat=remat, micro_sharding=micro_sharding),
        in_shardings=(state_shardings, mesh_lib.batch_sharded(mesh)),
        out_shardings=(state_shardings, mesh_lib.replicated(mesh)),
        donate_argnums=(0,),
    )


def _state_initializer(model: nn.Module, tx: optax.GradientTransformation, example_inputs):
    """seed -> a fresh TrainState (to be traced: by eval_shape for shapes, by jit to build it).

    example_inputs: the model's inputs (an array or a pytree of arrays) with a leading batch axis;
    the first example of each leaf is used.
    """
    example = jax.tree.map(lambda x: jnp.asarray(x[:1]), example_inputs)

    def init(seed):
        base = jax.random.key_data(jax.random.key(seed))
        init_rng, dropout_rng = jax.random.split(jax.random.wrap_key_data(base))
        variables = model.init({"params": init_rng, "dropout": dropout_rng}, example, train=False)
        variables = dict(variables)
        params = variables.pop("params")
        return TrainState(
            params=params, model_state=variables, opt_state=tx.init(params),
            step=jnp.zeros((), jnp.int32), rng=base,
        )

    return init


def abstract_train_state(model, tx, example_inputs, seed: int, mesh: jax.sharding.Mesh):
    """The state's shapes and (replicated) shardings as ShapeDtypeStructs, nothing computed.

    Enough to restore a checkpoint onto this mesh without compiling the initialiser.
    Returns (abstract state, shardings).
    """
    abstract = jax.eval_shape(_state_initializer(model, tx, example_inputs), seed)
    shardings = jax.tree.map(lambda _: mesh_lib.replicated(mesh), abstract)
    abstract = jax.tree.map(
        lambda x, s: jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=s), abstract, shardings
    )
    return abstract, shardings


def init_train_state(
    model: nn.Module,
    tx: optax.GradientTransformation,
    example_inputs,
    seed: int,
    mesh: jax.sharding.Mesh,
) -> tuple[TrainState, Any]:
    """Initialises the state directly into its (replicated) sharding.

    Shapes come from `jax.eval_shape`, so nothing is materialised on one device first.
    Returns the state and the pytree of its shardings.
    """
    _, shardings = abstract_train_state(model, tx, example_inputs, seed, mesh)
    init = _state_initializer(model, tx, example_inputs)
    return jax.jit(init, out_shardings=shardings)(seed), shardings


def abstract_variables(model: nn.Module, example_inputs) -> tuple[Any, Any]:
    """(params, model state) of `model` as ShapeDtypeStructs: what inference restores."""
    example = jax.tree.map(lambda x: jnp.asarray(x[:1]), example_inputs)
    variables = dict(jax.eval_shape(
        lambda: model.init({"params": jax.random.key(0), "dropout": jax.random.key(1)}, example, train=False)))
    params = variables.pop("params")
    return params, variables


def parameter_count(params) -> int:
    return int(sum(np.prod(x.shape) for x in jax.tree.leaves(params)))


def make_predictor(model: nn.Module, mesh: jax.sharding.Mesh, batch_size: int, *, dtype=jnp.float32):
    """Returns `bind(state) -> predictor`, a Predictor over the given state's params.

    `state` is anything with `params` and `model_state` (a TrainState, or what inference
    restores). The predictor runs the model with train=False over inputs of any length: it cuts
    them into batches of `batch_size` (rounded to a multiple of the mesh's devices), pads the last
    batch, shards each batch over `mesh` and returns numpy outputs. Evaluation passes this
    process's local mesh (`mesh_lib.local_mesh()`), so that each process predicts its own shard
    of a split independently; the params are then copied onto it.
    """
    devices = mesh.devices.size
    batch_size = max(devices, batch_size // devices * devices)
    replicated, sharded = mesh_lib.replicated(mesh), mesh_lib.batch_sharded(mesh)

    @functools.partial(jax.jit, in_shardings=(replicated, replicated, sharded), out_shardings=replicated)
    def forward(params, model_state, inputs):
        outputs, _ = _apply(model, params, model_state, inputs, train=False, dtype=dtype)
        return outputs

    def bind(state):
        params = mesh_lib.onto(state.params, mesh)
        model_state = mesh_lib.onto(state.model_state, mesh)

        def predict(inputs):
            num = jax.tree.leaves(inputs)[0].shape[0]
            outputs = []
            for start in range(0, num, batch_size):
                chunk = jax.tree.map(lambda x: np.asarray(x[start : start + batch_size]), inputs)
                valid = jax.tree.leaves(chunk)[0].shape[0]
                if valid < batch_size:  # pad the tail; padded rows are dropped below
                    chunk = jax.tree.map(
                        lambda x: np.concatenate([x, np.repeat(x[-1:], batch_size - valid, axis=0)]), chunk)
                chunk = jax.device_put(chunk, sharded)
                out = forward(params, model_state, chunk)
                outputs.append(jax.tree.map(lambda y: np.asarray(y)[:valid], out))
            if not outputs:
                raise ValueError("The predictor was given no examples.")
            return jax.tree.map(lambda *ys: np.concatenate(ys), *outputs)

        return predict

    return bind
