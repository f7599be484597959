"""Trains a SoccerNet model.

    python train.py --config configs/action_spotting/netvlad_pp.py --workdir runs/nvpp
    python train.py --config configs/action_spotting/netvlad_pp.py:tiny --workdir /tmp/nvpp \
        --config.train.num_steps=100

Re-running the same command resumes from the newest checkpoint in --workdir.
"""

from absl import app, flags, logging
from ml_collections import config_flags

import zoo.tasks
import zoo.train
from zoo.cli import parse_flags, quiet_libraries

_CONFIG = config_flags.DEFINE_config_file(
    "config", None, "Path to a config file, optionally with :arg (e.g. netvlad_pp.py:tiny).",
    lock_config=True,
)
_WORKDIR = flags.DEFINE_string("workdir", None, "Where checkpoints, logs and predictions go.")
flags.mark_flags_as_required(["config", "workdir"])


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
    quiet_libraries()
    config = _CONFIG.value
    logging.info("Config:\n%s", config)
    task = zoo.tasks.get_task(config.task)
    results = zoo.train.train_and_evaluate(config, _WORKDIR.value, task)
    if results:
        print("\nFinal evaluation on %s:" % config.eval.split)
        for name, value in sorted(results.items()):
            print(f"  {name:28s} {value:.4f}")


if __name__ == "__main__":
    app.run(main, flags_parser=parse_flags)
