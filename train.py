"""Trains a SoccerNet model.

    python train.py --config configs/action_spotting/netvlad_pp.py --workdir runs/nvpp
    python train.py --config configs/action_spotting/netvlad_pp.py:tiny --workdir /tmp/nvpp \
        --config.train.num_steps=100

Re-running the same command resumes from the newest checkpoint in --workdir; a command that asks
for another model or data in that workdir is refused (a workdir keeps one run). Ctrl-C stops after
the current step and saves it.

`--config.train.num_steps=0` trains nothing: it saves the initial weights, or converted ones given
by `--config.init_from=weights/...`, as the run's step 0 and evaluates them, so that published
weights become a run that `evaluate.py`, `zoo.predict` and a pipeline's `config.pipeline.<stage>`
can name (and a later rerun with more steps fine-tunes from there).
"""

import os
import sys

from absl import app, flags, logging
from ml_collections import config_flags

import zoo.tasks
import zoo.train
from zoo import cli
from zoo.errors import UserError
from zoo.train.evaluation import format_scores

REPO = os.path.dirname(os.path.abspath(__file__))
_CONFIG = config_flags.DEFINE_config_file(
    "config", None, "Path to a config file, optionally with :variant (e.g. netvlad_pp.py:tiny).",
    lock_config=True,
)
_WORKDIR = flags.DEFINE_string("workdir", None, "Where checkpoints, logs and predictions go.")
flags.DEFINE_bool("verbose", False, f"Show the traceback of errors (or set {cli.VERBOSE_ENV}=1).")
flags.mark_flags_as_required(["config", "workdir"])


@cli.user_errors
def main(argv):
    if len(argv) > 1:
        raise UserError(f"unexpected arguments {argv[1:]} (flags are --config, --workdir, --config.<field>=...).")
    cli.quiet_libraries()
    config = _CONFIG.value
    logging.info(cli.describe_config(sys.argv, _WORKDIR.value))
    task = zoo.tasks.get_task(config.task)
    scores = zoo.train.train_and_evaluate(config, _WORKDIR.value, task, zoo.tasks.get_task)
    if scores is not None:
        print(f"\nFinal evaluation on {config.eval.split}:")
        print("\n".join(format_scores(scores)))


if __name__ == "__main__":
    app.run(main, flags_parser=lambda argv: cli.parse_flags(argv, help_text=__doc__, repo=REPO))
