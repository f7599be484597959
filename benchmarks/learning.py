"""Learning results over seeds: the README's synthetic numbers, reproducibly.

    python benchmarks/learning.py --config configs/action_spotting/netvlad_pp.py --seeds 0 1 2 \
        --workdir runs/learning/nvpp [--set train.num_steps=3000 ...]

For each seed, runs the documented command (`python train.py --config ... --config.seed=S`) in its
own workdir, then evaluates the same model untrained (initialised with that seed) on the same
split through the same path. Prints a table of every headline metric, untrained and trained, as
mean +- standard deviation over the seeds with the per-seed values, and writes it to
`<workdir>/learning.json`. Seeds change the initialisation and the data order; the synthetic
data is the same for every seed (its own seed is `data.synthetic.seed`).

Reproducibility: a run is bit-identical on the same machine and software (same command, same
seed); across machines XLA may order floating-point reductions differently, and training
amplifies that, so another machine lands inside the spread over seeds, not on the same digits.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)


def run_command(command: list[str]) -> None:
    """Print and run a zoo command from the repository root; if it fails, exit with its status
    (it has printed its own `error:` line, so no traceback is added here)."""
    print("$", " ".join(command), flush=True)
    status = subprocess.run(command, cwd=REPO).returncode
    if status:
        sys.exit(status)


def _train(config_spec: str, workdir: str, seed: int, overrides: list[str]) -> None:
    run_command([sys.executable, os.path.join(REPO, "train.py"), f"--config={config_spec}", f"--workdir={workdir}",
                 f"--config.seed={seed}", *(f"--config.{o}" for o in overrides)])


def _scores(workdir: str) -> dict[str, float]:
    """The headline numbers of the run's final evaluation (its last evaluation row)."""
    from zoo.train.runs import read_config

    split = read_config(workdir).eval.split
    rows = [json.loads(line) for line in open(os.path.join(workdir, "metrics.jsonl"))]
    rows = [r for r in rows if r["split"] == split]
    return {k: v for k, v in rows[-1].items() if k not in ("step", "split")}


def _untrained(workdir: str) -> dict[str, float]:
    from absl import flags

    flags.FLAGS.mark_as_parsed()
    import zoo.tasks
    from zoo.train import mesh as mesh_lib
    from zoo.train.evaluation import evaluate_variables
    from zoo.train.optimizer import make_optimizer
    from zoo.train.runs import read_config
    from zoo.train.step import init_train_state

    config = read_config(workdir)
    task = zoo.tasks.get_task(config.task)
    model = task.make_model(config)
    state, _ = init_train_state(model, make_optimizer(config, 1), task.example_inputs(config), config.seed,
                                mesh_lib.make_mesh())
    scores = evaluate_variables(task, config, workdir, state, config.eval.split,
                                os.path.join(workdir, "predictions", "untrained"))
    return scores.headline


def mean_spread(values: list[float | None]) -> str:
    """Mean ± sample standard deviation of the values given, 3 decimals. None and NaN (a metric
    with nothing to score, e.g. JaC of a run that wrote no camera) are left out."""
    values = [v for v in values if v is not None and not math.isnan(v)]
    if not values:
        return "n/a"
    if len(values) == 1:
        return f"{values[0]:.3f}"
    return f"{statistics.mean(values):.3f} ± {statistics.stdev(values):.3f}"


def table(results: dict[str, dict[str, dict[str, float]]]) -> str:
    seeds = sorted(results, key=int)
    metrics = sorted({m for r in results.values() for m in r["trained"]})
    lines = [f"| metric | untrained | trained ({len(seeds)} seeds) | per seed ({', '.join(seeds)}) |",
             "|---|---|---|---|"]
    for metric in metrics:
        trained = [results[s]["trained"].get(metric) for s in seeds]
        untrained = [results[s]["untrained"].get(metric) for s in seeds]
        per_seed = ", ".join("n/a" if v is None or math.isnan(v) else f"{v:.3f}" for v in trained)
        lines.append(f"| {metric} | {mean_spread(untrained)} | {mean_spread(trained)} | {per_seed} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", required=True, help="config file, with :variant")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--workdir", required=True, help="one subfolder per seed goes here")
    parser.add_argument("--set", nargs="*", default=[], help="config overrides, e.g. train.num_steps=100")
    args = parser.parse_args(argv)
    os.makedirs(args.workdir, exist_ok=True)
    path = os.path.join(args.workdir, "learning.json")
    results = json.load(open(path)) if os.path.isfile(path) else {}
    for seed in args.seeds:
        workdir = os.path.join(args.workdir, f"seed{seed}")
        if str(seed) not in results:  # a rerun skips the seeds already done
            _train(args.config, workdir, seed, args.set)
            results[str(seed)] = {"trained": _scores(workdir), "untrained": _untrained(workdir)}
            with open(path, "w") as f:
                json.dump(results, f, indent=2)
    print(f"\n{args.config} ({', '.join(args.set) or 'as documented'}):\n")
    print(table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
