"""Evaluates a trained run on a split and writes the official submission files.

    python evaluate.py --config configs/action_spotting/netvlad_pp.py --workdir runs/nvpp --split test
    python evaluate.py --config ... --workdir runs/nvpp --split challenge   # zip for the server

Uses the newest checkpoint in --workdir unless --step is given. Pass the same config (and
overrides) the run was trained with.
"""

from absl import app, flags, logging
from ml_collections import config_flags

import zoo.tasks
import zoo.train
from zoo.cli import parse_flags, quiet_libraries

_CONFIG = config_flags.DEFINE_config_file(
    "config", None, "Path to the run's config file, optionally with :arg.", lock_config=True,
)
_WORKDIR = flags.DEFINE_string("workdir", None, "The run's workdir (holds checkpoints/).")
_SPLIT = flags.DEFINE_string("split", "test", "Split to evaluate: train, valid, test or challenge.")
_STEP = flags.DEFINE_integer("step", None, "Checkpoint step to evaluate (default: the newest).")
flags.mark_flags_as_required(["config", "workdir"])


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
    quiet_libraries()
    config = _CONFIG.value
    task = zoo.tasks.get_task(config.task)
    results, output_dir = zoo.train.evaluate_checkpoint(
        config, _WORKDIR.value, task, _SPLIT.value, _STEP.value
    )
    print(f"\nSubmission files: {output_dir}/ and {output_dir}.zip")
    if results:
        print(f"Metrics on {_SPLIT.value}:")
        for name, value in sorted(results.items()):
            print(f"  {name:28s} {value:.4f}")
    else:
        logging.info("No labels for split %s: nothing to score locally.", _SPLIT.value)


if __name__ == "__main__":
    app.run(main, flags_parser=parse_flags)
