"""Fields every task shares: seed, training loop, optimizer, checkpoints, evaluation.

A task config starts from `base()` and sets its own `task`, `data`, `model` and `eval` fields.
"""

import ml_collections


def base() -> ml_collections.ConfigDict:
    config = ml_collections.ConfigDict()
    config.task = ""  # registered task name (zoo.tasks)
    config.seed = 0  # parameter init, dropout and data order all derive from it
    config.init_from = ""  # a run's workdir or orbax checkpoint to take params from (fine-tuning)
    # Regular expressions of param paths not to take from init_from (e.g. a head for other classes).
    config.init_from_exclude = ()

    config.train = ml_collections.ConfigDict()
    config.train.batch_size = 256  # global batch, split over all devices of all processes
    config.train.num_steps = 10_000
    config.train.log_every_steps = 50  # metrics.jsonl / TensorBoard interval
    config.train.checkpoint_every_steps = 500
    config.train.keep_checkpoints = 3  # the newest K checkpoints are kept
    config.train.eval_every_steps = 0  # evaluate on config.eval.split every N steps (0: only at the end)
    # Compute precision: bf16 computes in bfloat16 with float32 params, optimizer state and loss;
    # auto is bf16 on GPU and TPU, fp32 on CPU (where bf16 is emulated and slower).
    config.train.precision = "auto"  # auto | fp32 | bf16
    config.train.grad_accum_steps = 1  # split each batch into K micro-batches; one update per batch
    # Recompute the model's activations in the backward pass instead of keeping them: "none" or
    # "full". Models with residual blocks also have `model.remat` (per block, less recompute).
    config.train.remat = "none"
    config.train.async_checkpoints = True  # save in the background; the loop waits only when it must

    config.optimizer = ml_collections.ConfigDict()
    config.optimizer.name = "adam"  # adam | adamw | sgd
    config.optimizer.learning_rate = 1e-3
    config.optimizer.weight_decay = 1e-4  # adamw only
    config.optimizer.b1 = 0.9
    config.optimizer.b2 = 0.999
    config.optimizer.eps = 1e-8
    config.optimizer.momentum = 0.9  # sgd only
    config.optimizer.nesterov = False  # sgd only
    config.optimizer.clip_norm = 0.0  # global gradient-norm clipping; 0 disables
    config.optimizer.schedule = "constant"  # constant | cosine | plateau
    config.optimizer.warmup_steps = 0
    config.optimizer.end_learning_rate = 1e-6  # cosine end value and plateau floor
    config.optimizer.plateau_patience = 10  # plateau: windows without improvement before decay
    config.optimizer.plateau_factor = 0.1  # plateau: learning-rate multiplier at each decay
    config.optimizer.plateau_accumulation = 100  # plateau: steps averaged into one loss window
    config.optimizer.sam_rho = 0.0  # > 0: sharpness-aware minimisation of this radius (zoo.train.optimizer)

    config.eval = ml_collections.ConfigDict()
    config.eval.split = "valid"  # evaluated at the end of training ("" to skip)
    config.eval.batch_size = 256  # inference batch, split over this process's devices
    config.eval.ensemble = ()  # other runs of this task ("workdir" or "workdir:step") predicting with this one

    # The trained runs a pipeline uses, by stage name: {"detector": "runs/det", "reid": "runs/reid:3000"}.
    # Each is restored from its own config.json; the task says which stages it needs.
    config.pipeline = ml_collections.ConfigDict()
    return config
