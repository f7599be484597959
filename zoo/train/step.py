"""The one train step every task shares, the train-state initialiser, and the predictor.

`train_step` is a module-level function of (state, batch): the task contributes only its loss.
It is jit-compiled once per run with the state replicated, the batch sharded on the `data` mesh
axis, and the state donated so parameters are updated in place.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax

from zoo.train import mesh as mesh_lib
from zoo.train.state import TrainState
from zoo.train.task import Metrics


def _apply(model: nn.Module, params, model_state, inputs, *, train: bool, rng=None):
    """model.apply that also returns the updated model state ({} for stateless models)."""
    variables = {"params": params, **model_state}
    rngs = {"dropout": rng} if rng is not None else None
    if not model_state:
        return model.apply(variables, inputs, train=train, rngs=rngs), model_state
    if not train:
        return model.apply(variables, inputs, train=False), model_state
    return model.apply(variables, inputs, train=True, rngs=rngs, mutable=list(model_state))


def train_step(
    state: TrainState,
    batch: dict[str, Any],
    *,
    model: nn.Module,
    loss_fn: Callable[[Any, dict[str, Any]], tuple[jax.Array, Metrics]],
    tx: optax.GradientTransformationExtraArgs,
) -> tuple[TrainState, Metrics]:
    """One optimisation step: forward, task loss, backward, optax update.

    Args:
      state: the replicated train state.
      batch: dict of global arrays sharded on `data`; "inputs" goes to the model, the rest is for
        the loss.
      model, loss_fn, tx: bound with functools.partial before jit (static).

    Returns:
      The new state and metrics as (sum, count) pairs, including loss, grad_norm and lr-free
      bookkeeping that the loop turns into means.
    """
    rng = jax.random.fold_in(state.rng, state.step)

    def objective(params):
        outputs, model_state = _apply(
            model, params, state.model_state, batch["inputs"], train=True, rng=rng
        )
        loss, metrics = loss_fn(outputs, batch)
        return loss, (model_state, metrics)

    (loss, (model_state, metrics)), grads = jax.value_and_grad(objective, has_aux=True)(
        state.params
    )
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


def jit_train_step(model, loss_fn, tx, mesh: jax.sharding.Mesh, state_shardings):
    """train_step compiled with explicit shardings and the state donated."""
    return jax.jit(
        functools.partial(train_step, model=model, loss_fn=loss_fn, tx=tx),
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


def abstract_train_state(model, tx, example_inputs: np.ndarray, seed: int, mesh: jax.sharding.Mesh):
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
    example_inputs: np.ndarray,
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


def make_predictor(model: nn.Module, mesh: jax.sharding.Mesh, batch_size: int):
    """Returns `bind(state) -> predictor`, a Predictor over the given state's params.

    The predictor runs the model with train=False over inputs of any length: it cuts them into
    batches of `batch_size` (a multiple of the device count), pads the last batch, shards each
    batch on `data`, and gathers the outputs on every process. Every process must call it with
    the same inputs (as in multi-host evaluation, where each process reads the whole split).
    """
    devices = mesh.devices.size
    batch_size = max(devices, batch_size // devices * devices)

    @functools.partial(
        jax.jit,
        in_shardings=(mesh_lib.replicated(mesh), mesh_lib.replicated(mesh), mesh_lib.batch_sharded(mesh)),
        out_shardings=mesh_lib.replicated(mesh),
    )
    def forward(params, model_state, inputs):
        outputs, _ = _apply(model, params, model_state, inputs, train=False)
        return outputs

    def bind(state: TrainState):
        def predict(inputs):
            num = jax.tree.leaves(inputs)[0].shape[0]
            outputs = []
            for start in range(0, num, batch_size):
                chunk = jax.tree.map(lambda x: np.asarray(x[start : start + batch_size]), inputs)
                valid = jax.tree.leaves(chunk)[0].shape[0]
                if valid < batch_size:  # pad the tail; padded rows are dropped below
                    chunk = jax.tree.map(
                        lambda x: np.concatenate(
                            [x, np.repeat(x[-1:], batch_size - valid, axis=0)]
                        ),
                        chunk,
                    )
                chunk = jax.tree.map(
                    lambda x: jax.make_array_from_process_local_data(
                        mesh_lib.batch_sharded(mesh), x, x.shape
                    ),
                    chunk,
                )
                out = forward(state.params, state.model_state, chunk)
                outputs.append(jax.tree.map(lambda y: np.asarray(y)[:valid], out))
            return jax.tree.map(lambda *ys: np.concatenate(ys), *outputs)

        return predict

    return bind
