"""optax optimizer and learning-rate schedule from a config.

Config fields (`config.optimizer`):
  name: "adam", "adamw" or "sgd" (with `momentum` and `nesterov`, and `weight_decay` added to
    the gradient as an L2 term, as PyTorch's SGD does; YOLOX's recipe).
  learning_rate: peak learning rate.
  weight_decay: AdamW decoupled weight decay (ignored by adam).
  b1, b2, eps: Adam moments.
  clip_norm: clip the global gradient norm to this (0 disables).
  schedule: "constant", "cosine" (linear warmup then cosine decay to `end_learning_rate` at
    `config.train.num_steps`) or "plateau" (ReduceLROnPlateau, as the SoccerNet baselines use).
  warmup_steps: linear warmup from 0 (constant and cosine).
  end_learning_rate: the learning rate at the end of cosine decay, and the floor of plateau decay.
  plateau_patience, plateau_factor, plateau_accumulation: plateau decay multiplies the learning
    rate by `plateau_factor` when the training loss averaged over `plateau_accumulation` steps
    has not improved for `plateau_patience` such windows.
  sam_rho: > 0 wraps the optimizer in SAM (sharpness-aware minimisation, Foret et al. 2021) with
    that radius: `optax.contrib.sam` in its non-opaque mode, where calls alternate between an
    ascent step (params moved by rho * g / |g|) and a descent step (the optimizer's update from
    the gradient at that point, applied to the saved params). The shared train step needs nothing
    new; a run of `train.num_steps` calls makes half as many descent steps, and the schedule
    counts those. The loss logged on ascent calls is the perturbed one, and BatchNorm statistics
    are updated on both calls. Not with the plateau schedule.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import ml_collections
import optax

from zoo.errors import ConfigError

SCHEDULES = ("constant", "cosine", "plateau")


def learning_rate_schedule(config: ml_collections.ConfigDict, num_steps: int) -> optax.Schedule:
    opt = config.optimizer
    if opt.schedule not in SCHEDULES:
        raise ConfigError(f"optimizer.schedule={opt.schedule!r}; expected one of {SCHEDULES}.")
    if opt.schedule == "cosine":
        return optax.warmup_cosine_decay_schedule(
            init_value=0.0, peak_value=opt.learning_rate, warmup_steps=opt.warmup_steps,
            decay_steps=max(num_steps, opt.warmup_steps + 1), end_value=opt.end_learning_rate,
        )
    if opt.warmup_steps:
        return optax.linear_schedule(0.0, opt.learning_rate, opt.warmup_steps)
    return optax.constant_schedule(opt.learning_rate)


def sam_rho(config: ml_collections.ConfigDict) -> float:
    return float(config.optimizer.get("sam_rho", 0.0))


def descent_steps(config: ml_collections.ConfigDict, num_steps: int) -> int:
    """How many of `num_steps` calls update the weights: every second one under SAM."""
    return max(num_steps // 2, 1) if sam_rho(config) > 0 else num_steps


def make_optimizer(config: ml_collections.ConfigDict, num_steps: int) -> optax.GradientTransformationExtraArgs:
    """The optimizer; its `update` takes `value=loss` (used by plateau decay, ignored otherwise)."""
    opt = config.optimizer
    rho = sam_rho(config)
    if rho > 0 and opt.schedule == "plateau":
        raise ConfigError("optimizer.sam_rho > 0 (SAM) does not combine with optimizer.schedule='plateau'.")
    schedule = learning_rate_schedule(config, descent_steps(config, num_steps))
    if opt.name == "adam":
        base = optax.adam(schedule, b1=opt.b1, b2=opt.b2, eps=opt.eps)
    elif opt.name == "adamw":
        base = optax.adamw(schedule, b1=opt.b1, b2=opt.b2, eps=opt.eps, weight_decay=opt.weight_decay)
    elif opt.name == "sgd":
        base = optax.chain(
            optax.add_decayed_weights(opt.weight_decay),
            optax.sgd(schedule, momentum=opt.get("momentum", 0.9), nesterov=opt.get("nesterov", False)))
    else:
        raise ConfigError(f"optimizer.name={opt.name!r}; expected adam, adamw or sgd.")
    parts = []
    if opt.clip_norm:
        parts.append(optax.clip_by_global_norm(opt.clip_norm))
    parts.append(base)
    if opt.schedule == "plateau":
        parts.append(
            optax.contrib.reduce_on_plateau(
                factor=opt.plateau_factor, patience=opt.plateau_patience,
                accumulation_size=opt.plateau_accumulation,
                min_scale=opt.end_learning_rate / opt.learning_rate,
            )
        )
    optimizer = optax.chain(*parts)
    if rho <= 0:
        return optimizer
    sam = optax.contrib.sam(optimizer, optax.chain(optax.contrib.normalize(), optax.sgd(rho)),
                            sync_period=2, opaque_mode=False)

    def update(updates, state, params=None, **extra_args):
        del extra_args  # value=loss is for plateau decay, which SAM excludes
        return sam.update(updates, state, params)

    return optax.GradientTransformationExtraArgs(sam.init, update)


def _is_plateau_state(node) -> bool:
    return isinstance(node, optax.contrib.ReduceLROnPlateauState)


def current_learning_rate(config: ml_collections.ConfigDict, num_steps: int, opt_state, step):
    """The learning rate in force at `step`, including the plateau scale when there is one."""
    if sam_rho(config) > 0:  # the schedule counts descent steps
        step = step // 2
    lr = learning_rate_schedule(config, descent_steps(config, num_steps))(step)
    if config.optimizer.schedule == "plateau":
        # The plateau state's own `scale`: a model's BatchNorm `scale` params also sit in the
        # optimizer state (Adam's moments), so a lookup by name alone is ambiguous.
        plateau = [s for s in jax.tree.leaves(opt_state, is_leaf=_is_plateau_state) if _is_plateau_state(s)]
        lr = lr * jnp.asarray(plateau[0].scale)
    return lr
