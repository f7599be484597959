"""The jersey pipeline over seeds, with its ablations: the README's jersey table, reproducibly.

    python benchmarks/jersey_pipeline.py --workdir runs/learning/jersey_pipeline --seeds 0 1 2 \
        --pose runs/learning/jersey_pose/seed{seed} --legibility runs/learning/jersey_legibility/seed{seed} \
        --recogniser runs/learning/jersey_crnn/seed{seed} \
        [--variant ctc:pipeline.recogniser=runs/learning/jersey_crnn/seed{seed}] \
        [--set data.manual_dir=TREE data.data_dir=TFDS]

Per seed, the stage runs of that seed (`{seed}` in a path is replaced; from
`benchmarks/learning.py` for each stage config). For each variant (default: `full`; `upper_body`,
a fixed upper-body box instead of the pose crop; `no_legibility`, every crop read; more with
`--variant name:field=value,...`), the documented protocol, through `evaluate.py`:

  1. evaluate on `valid` (held-out train tracklets); its scores give the accuracy every
     `eval.min_confidence` would reach (`best_min_confidence`, see `zoo.tasks.jersey`);
  2. evaluate on `test` with that threshold.

Prints, per variant, the test accuracy (equal to the official `SoccerNet.Evaluation.JerseyNumber`)
as mean +- standard deviation over the seeds with the per-seed values and thresholds, next to what
answering -1 for every tracklet scores on the same split; writes it all to
`<workdir>/jersey_pipeline.json`. A rerun skips the evaluations already done.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

from benchmarks.learning import mean_spread, run_command  # noqa: E402

CONFIG = "configs/jersey/pipeline.py"
VARIANTS = {
    "full": [],
    "upper_body": ["eval.crop=upper_body"],
    "no_legibility": ["eval.use_legibility=False"],
}


def _variant(text: str) -> tuple[str, list[str]]:
    name, _, overrides = text.partition(":")
    if not name or not overrides:
        raise argparse.ArgumentTypeError(f"expected name:field=value[,field=value...], got {text!r}")
    return name, overrides.split(",")


def _evaluate(workdir: str, split: str, overrides: list[str]) -> dict:
    """`evaluate.py` of the pipeline config on `split` in `workdir`; its metrics.json (cached)."""
    metrics = os.path.join(workdir, "predictions", split, "metrics.json")
    if not os.path.isfile(metrics):
        run_command([sys.executable, os.path.join(REPO, "evaluate.py"), f"--config={CONFIG}", f"--workdir={workdir}",
                     f"--split={split}", *(f"--config.{o}" for o in overrides)])
    with open(metrics) as f:
        return json.load(f)


def _run(args, seed: int, name: str, overrides: list[str]) -> dict:
    stages = [f"pipeline.{stage}={getattr(args, stage).format(seed=seed)}"
              for stage in ("pose", "legibility", "recogniser")]
    common = [*args.set, *stages, *(o.format(seed=seed) for o in overrides)]
    root = os.path.join(args.workdir, name, f"seed{seed}")
    valid = _evaluate(os.path.join(root, "valid"), "valid", common)
    threshold = valid["best_min_confidence"]
    test = _evaluate(os.path.join(root, "test"), "test", [*common, f"eval.min_confidence={threshold}"])
    return {"threshold": threshold, "valid_accuracy": valid["min_confidence_sweep"][f"{threshold:.2f}"],
            "accuracy": test["Accuracy"], "legible_accuracy": test["legible_accuracy"],
            "illegible_accuracy": test["illegible_accuracy"],
            "tracklets": test["tracklets"],
            "all_minus_one": test["legibility"]["illegible_as_illegible"] + test["legibility"]["illegible_as_number"]}


def _first_run(results: dict[str, dict[str, dict]]) -> dict:
    return next(iter(next(iter(results.values())).values()))


def table(results: dict[str, dict[str, dict]]) -> str:
    lines = ["| variant | test accuracy | legible / illegible accuracy | per seed | min_confidence (chosen on valid) |",
             "|---|---|---|---|---|"]
    for name, runs in results.items():
        seeds = sorted(runs, key=int)
        accuracy = [runs[s]["accuracy"] for s in seeds]
        legible = mean_spread([runs[s]["legible_accuracy"] for s in seeds])
        illegible = mean_spread([runs[s]["illegible_accuracy"] for s in seeds])
        lines.append(f"| {name} | {mean_spread(accuracy)} | {legible} / {illegible} | "
                     f"{', '.join(f'{a:.3f}' for a in accuracy)} | {', '.join(str(runs[s]['threshold']) for s in seeds)} |")
    first = _first_run(results)
    lines.append(f"| -1 for every tracklet | {first['all_minus_one'] / first['tracklets']:.3f} | 0 / 1 | | |")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workdir", required=True, help="one folder per variant and seed goes here")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    for stage in ("pose", "legibility", "recogniser"):
        parser.add_argument(f"--{stage}", required=True, help=f"the {stage} run of each seed, with {{seed}}")
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    parser.add_argument("--variant", type=_variant, action="append", default=[],
                        help="an extra variant, name:field=value,... ({seed} allowed in values)")
    parser.add_argument("--set", nargs="*", default=[], help="config overrides for every run, e.g. data.manual_dir=X")
    args = parser.parse_args(argv)
    os.makedirs(args.workdir, exist_ok=True)
    variants = {name: VARIANTS[name] for name in args.variants} | dict(args.variant)
    results = {name: {str(seed): _run(args, seed, name, overrides) for seed in args.seeds}
               for name, overrides in variants.items()}
    with open(os.path.join(args.workdir, "jersey_pipeline.json"), "w") as f:
        json.dump(results, f, indent=2)
    tracklets = _first_run(results)["tracklets"]
    print(f"\njersey pipeline on test ({tracklets} tracklets; {', '.join(args.set) or 'synthetic default'}):\n")
    print(table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
