"""What every task gets from the shared step and loop: mixed precision, gradient accumulation,
rematerialisation, a stop on a non-finite loss, and a clean stop on Ctrl-C."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np
import orbax.checkpoint as ocp
import pytest

from configs.action_spotting import netvlad_pp
from tests import fake_task
from zoo.tasks import action_spotting
from zoo.train import mesh as mesh_lib
from zoo.train import train_and_evaluate
from zoo.errors import ConfigError
from zoo.train.loop import NonFiniteLoss
from zoo.train.optimizer import make_optimizer
from zoo.train.step import compute_dtype, init_train_state, jit_train_step

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _config():
    config = netvlad_pp.get_config("tiny")
    config.model.dropout_rate = 0.0  # the same function of the batch however it is split
    return config


def _batches(config, num, batch):
    rng = np.random.default_rng(0)
    shape = action_spotting.example_inputs(config).shape[1:]
    return [{"inputs": rng.normal(size=(batch, *shape)).astype(np.float32),
             "targets": (rng.random((batch, 18)) < 0.1).astype(np.float32)} for _ in range(num)]


def _train(config, batches, **options):
    mesh = mesh_lib.make_mesh()
    model = action_spotting.make_model(config)
    tx = make_optimizer(config, num_steps=len(batches))
    state, shardings = init_train_state(model, tx, action_spotting.example_inputs(config), 0, mesh)
    step = jit_train_step(model, action_spotting.loss, tx, mesh, shardings, **options)
    losses = []
    for batch in batches:
        state, metrics = step(state, mesh_lib.global_batch(batch, mesh))
        losses.append(float(metrics["loss"][0]))
    return jax.device_get(state.params), losses


def test_accumulating_k_micro_batches_equals_one_batch_k_times_larger():
    config, batches = _config(), _batches(_config(), 3, 16)
    whole_params, whole = _train(config, batches)
    split_params, split = _train(config, batches, accumulation=4)  # 4 micro-batches of 4, 1 per device
    np.testing.assert_allclose(split, whole, rtol=1e-5)
    # float32 sums in another order: equal to a few ulps of the updates.
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5), split_params, whole_params)


def test_rematerialisation_changes_memory_not_results():
    config, batches = _config(), _batches(_config(), 2, 8)
    plain_params, plain = _train(config, batches)
    remat_params, remat = _train(config, batches, remat="full")
    np.testing.assert_allclose(remat, plain, rtol=1e-6)
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7), remat_params, plain_params)


SLOW = pytest.mark.skipif(not os.environ.get("ZOO_SLOW_TESTS"), reason="slow: set ZOO_SLOW_TESTS=1")


# RegNetY's grouped convolutions and gate-shift take minutes to compile on 2 CPU cores.
@pytest.mark.parametrize("family", ["resnet", pytest.param("regnet", marks=SLOW)])
def test_block_rematerialisation_gives_the_same_params_and_gradients(family):
    from zoo.models.regnet import RegNetSpec, RegNetY
    from zoo.models.resnet import ResNet

    images = np.random.default_rng(0).normal(size=(4, 32, 32, 3)).astype(np.float32)
    if family == "resnet":
        make, args = (lambda remat: ResNet(stage_sizes=(1, 1, 1, 1), remat=remat)), (images,)
    else:  # with the gate-shift-fuse inside the blocks, over clips of 2 frames
        spec = RegNetSpec(widths=(8, 16, 16, 16), depths=(1, 2, 1, 1), group_size=8, stem_width=8)
        make, args = (lambda remat: RegNetY(spec, "gsf", remat=remat)), (images, 2)
    variables = make(False).init(jax.random.key(0), *args, train=False)
    assert jax.tree.map(jnp.shape, make(True).init(jax.random.key(0), *args, train=False)) == \
        jax.tree.map(jnp.shape, variables)

    def gradients(remat):
        def loss(params):
            out, _ = make(remat).apply({**variables, "params": params}, *args, train=True, mutable=["batch_stats"])
            return (out ** 2).mean()
        return jax.jit(jax.grad(loss))(variables["params"])  # jitted: op by op, remat is very slow

    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7), gradients(True), gradients(False))


def test_bf16_compute_gives_the_fp32_loss_to_bf16_precision():
    config, batches = _config(), _batches(_config(), 4, 8)
    fp32_params, fp32 = _train(config, batches)
    bf16_params, bf16 = _train(config, batches, dtype=jnp.bfloat16)
    # bfloat16 keeps 8 bits of mantissa: a relative error of a few 1e-3 per operation.
    np.testing.assert_allclose(bf16, fp32, rtol=2e-2)
    assert bf16 != fp32  # it did compute in bf16
    # Params and their updates stay float32 (the master copy).
    assert all(x.dtype == np.float32 for x in jax.tree.leaves(bf16_params))


def test_auto_precision_is_bf16_on_accelerators_and_fp32_on_cpu():
    assert compute_dtype("auto", "gpu") == jnp.bfloat16
    assert compute_dtype("auto", "tpu") == jnp.bfloat16
    assert compute_dtype("auto", "cpu") == jnp.float32
    with pytest.raises(ValueError, match="expected one of"):
        compute_dtype("fp16")


def test_a_non_finite_loss_stops_the_run_and_keeps_the_last_good_checkpoint(tmp_path):
    config = fake_task.get_config()
    config.optimizer.learning_rate = 1e30  # the loss overflows float32 within a few steps
    config.train.checkpoint_every_steps = 1
    workdir = str(tmp_path / "run")
    with pytest.raises(NonFiniteLoss, match=r"The loss is (nan|inf) at step (\d+).*newest checkpoint \(step \d+\) is intact"):
        train_and_evaluate(config, workdir, fake_task.TASK)
    steps = sorted(int(s) for s in os.listdir(os.path.join(workdir, "checkpoints")) if s.isdigit())
    with ocp.StandardCheckpointer() as checkpointer:
        params = checkpointer.restore(os.path.join(workdir, "checkpoints", str(steps[-1]), "state"))["params"]
    assert all(np.isfinite(x).all() for x in jax.tree.leaves(params))


def _command(workdir, *extra):
    return [sys.executable, os.path.join(REPO, "train.py"),
            f"--config={os.path.join(REPO, 'configs/action_spotting/netvlad_pp.py')}:tiny", f"--workdir={workdir}",
            "--config.train.num_steps=100000", "--config.train.checkpoint_every_steps=50",
            "--config.train.log_every_steps=10", "--config.eval.split=", *extra]


def test_ctrl_c_saves_the_step_reached_and_says_how_to_resume(tmp_path):
    workdir = tmp_path / "run"
    env = dict(os.environ, JAX_PLATFORMS="cpu")
    env.pop("XLA_FLAGS", None)
    process = subprocess.Popen(_command(workdir), env=env, cwd=tmp_path, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 240
    while time.time() < deadline and not (workdir / "checkpoints" / "50").is_dir():
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 130, err[-2000:]
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "Rerun the same command to resume" in errors[0], err[-2000:]
    assert "Traceback" not in err
    stopped = int(errors[0].split("Interrupted at step ")[1].split()[0])
    assert (workdir / "checkpoints" / str(stopped) / "state").is_dir()

    resumed = subprocess.run(_command(workdir, f"--config.train.num_steps={stopped + 2}"), env=env, cwd=tmp_path,
                             capture_output=True, text=True, timeout=240)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert "Resumed from" in resumed.stderr


def test_the_plateau_learning_rate_is_read_from_its_own_state_beside_batchnorm_scales():
    """Adam's moments hold every param, BatchNorm's `scale` included: the plateau scale must not
    be looked up by name alone."""
    from configs import common
    from zoo.train.optimizer import current_learning_rate, make_optimizer

    config = common.base()
    config.optimizer.schedule, config.optimizer.learning_rate = "plateau", 0.01
    params = {"bn": {"scale": jnp.ones(3), "bias": jnp.zeros(3)}, "dense": {"kernel": jnp.ones((3, 2))}}
    tx = make_optimizer(config, num_steps=10)
    opt_state = tx.init(params)
    assert float(current_learning_rate(config, 10, opt_state, 0)) == pytest.approx(0.01)


def test_sam_alternates_ascent_and_descent_in_the_shared_step():
    """`optimizer.sam_rho` > 0 (the jersey legibility recipe): the first call moves the params by
    rho * g / |g| (ascent), the second applies the base update computed at that point to the
    saved params; the core's `value=` argument is accepted; the schedule counts descent steps."""
    import ml_collections
    import optax
    from zoo.train.optimizer import current_learning_rate

    config = ml_collections.ConfigDict({"optimizer": {
        "name": "sgd", "momentum": 0.0, "weight_decay": 0.0, "learning_rate": 0.1, "sam_rho": 0.5,
        "schedule": "constant", "warmup_steps": 0, "clip_norm": 0.0}, "train": {"num_steps": 4}})
    tx = make_optimizer(config, 4)
    loss = lambda w: jnp.sum(jnp.array([1.0, 3.0]) * w**2)
    w = jnp.array([1.0, 1.0])
    state = tx.init(w)
    g = jax.grad(loss)(w)
    updates, state = tx.update(g, state, w, value=loss(w))
    adversarial = optax.apply_updates(w, updates)
    np.testing.assert_allclose(adversarial, w + 0.5 * g / jnp.linalg.norm(g), rtol=1e-6)
    updates, state = tx.update(jax.grad(loss)(adversarial), state, adversarial, value=loss(adversarial))
    np.testing.assert_allclose(optax.apply_updates(adversarial, updates), w - 0.1 * jax.grad(loss)(adversarial),
                               rtol=1e-6)

    config.optimizer.schedule, config.optimizer.end_learning_rate = "cosine", 0.0
    # 4 calls, 2 descent steps: calls 0-1 at the first descent's rate, calls 2-3 at the second's
    assert float(current_learning_rate(config, 4, None, 1)) == pytest.approx(0.1)
    assert float(current_learning_rate(config, 4, None, 3)) == pytest.approx(0.05)
    config.optimizer.schedule = "plateau"
    with pytest.raises(ConfigError, match="SAM"):
        make_optimizer(config, 4)
