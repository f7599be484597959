"""A workdir is one run's history: its config, what was derived from its data, its checkpoints.

`<workdir>/config.json` is the run's config, written once the run has started for real (data
prepared, model built, checkpoints readable) and never rewritten with other values: a rerun that
asks for a different model or data is refused, so the checkpoints always match the config beside
them. `<workdir>/run.json` records which fields were derived from the data (`Task.derive_config`),
so that a rerun with the derive default (0) is not taken for a change.

Inference (evaluate.py, zoo.predict, ensembles, pipeline stages) rebuilds a run's model from its
config.json alone.
"""

from __future__ import annotations

import json
import os
import shlex
from typing import Any

import jax
import ml_collections

from zoo.errors import ConfigError, UserError

CONFIG_FILE = "config.json"
RUN_FILE = "run.json"

# Fields a rerun may change: how long, how often, how it logs and evaluates. Anything else
# (task, seed, model, data, augmentation, loss, optimizer, batch) shapes what the checkpoints are.
CHANGEABLE = (
    "train.num_steps", "train.log_every_steps", "train.checkpoint_every_steps", "train.keep_checkpoints",
    "train.eval_every_steps", "train.async_checkpoints", "train.precision", "data.read_threads",
    "eval.", "pipeline.",
)


class RunConflictError(UserError):
    """A rerun in a workdir whose run was made with another model or data config."""


def flatten(config: ml_collections.ConfigDict | dict) -> dict[str, Any]:
    """{"model.vocab_size": 64, ...}, with JSON's view of values (tuples become lists)."""
    tree = json.loads(config.to_json() if hasattr(config, "to_json") else json.dumps(config))
    out = {}

    def walk(node, prefix):
        for key, value in node.items():
            if isinstance(value, dict) and value:
                walk(value, f"{prefix}{key}.")
            else:
                out[f"{prefix}{key}"] = value

    walk(tree, "")
    return out


def set_fields(config: ml_collections.ConfigDict, values: dict[str, Any]) -> None:
    """Sets dotted fields (e.g. {"model.num_classes": 243}) on a possibly locked config."""
    for dotted, value in values.items():
        node = config
        *parents, leaf = dotted.split(".")
        for name in parents:
            node = node[name]
        with node.unlocked():
            node[leaf] = value


def read_config(workdir: str) -> ml_collections.ConfigDict | None:
    path = os.path.join(workdir, CONFIG_FILE)
    if not os.path.isfile(path):
        return None
    try:
        with open(path) as f:
            return ml_collections.ConfigDict(json.load(f))
    except json.JSONDecodeError as error:
        raise UserError(f"{path}: not valid JSON ({error}).") from None


def require_config(workdir: str, what: str = "--workdir") -> ml_collections.ConfigDict:
    """The config of a trained run, or a UserError that says what the folder should be."""
    if not os.path.isdir(workdir):
        raise UserError(f"{what} {workdir}: no such folder.")
    config = read_config(workdir)
    if config is None:
        raise UserError(f"{what} {workdir}: no {CONFIG_FILE} there; it must be a workdir of train.py "
                        "(or of evaluate.py for a pipeline).")
    return config


def derived_fields(workdir: str) -> dict[str, Any]:
    path = os.path.join(workdir, RUN_FILE)
    if not os.path.isfile(path):
        return {}
    with open(path) as f:
        return json.load(f).get("derived", {})


def _changeable(field: str) -> bool:
    return any(field == c or (c.endswith(".") and field.startswith(c)) for c in CHANGEABLE)


def differences(saved: ml_collections.ConfigDict, requested: ml_collections.ConfigDict,
                derived: dict[str, Any] | None = None) -> list[tuple[str, Any, Any]]:
    """(field, saved value, requested value) for every field that shapes the run and differs.

    A derived field (model.num_classes read from the data) counts as unchanged when the request
    leaves it at its derive default.
    """
    derived = derived or {}
    old, new = flatten(saved), flatten(requested)
    found = []
    for field in sorted(old.keys() | new.keys()):
        if _changeable(field):
            continue
        a, b = old.get(field, "<absent>"), new.get(field, "<absent>")
        if a == b or (field in derived and b in (0, "", None, [])):
            continue
        found.append((field, a, b))
    return found


def _override(field: str, value: Any) -> str:
    text = shlex.quote(value) if isinstance(value, str) else json.dumps(value).replace(" ", "")
    return f"--config.{field}={text}"


def check_same_run(workdir: str, requested: ml_collections.ConfigDict) -> None:
    """Refuses to continue the run in `workdir` with a config that shapes another run."""
    saved = read_config(workdir)
    if saved is None:
        return
    changed = differences(saved, requested, derived_fields(workdir))
    if not changed:
        return
    shown = "; ".join(f"{f} is {json.dumps(a)} there, {json.dumps(b)} here" for f, a, b in changed[:4])
    more = f" (and {len(changed) - 4} more)" if len(changed) > 4 else ""
    fix = " ".join(_override(f, a) for f, a, _ in changed[:4] if a != "<absent>")
    raise RunConflictError(
        f"{workdir} holds a run made with another config: {shown}{more}. A workdir keeps one run, "
        f"so its checkpoints stay true to its config.json: use a new --workdir, or rerun with {fix}.")


def save_config(config: ml_collections.ConfigDict, workdir: str, derived: dict[str, Any]) -> None:
    """Writes config.json and run.json (process 0), atomically."""
    if jax.process_index() != 0:
        return
    os.makedirs(workdir, exist_ok=True)
    for name, content in ((CONFIG_FILE, config.to_json_best_effort(indent=2)),
                          (RUN_FILE, json.dumps({"task": config.task, "derived": derived}, indent=2))):
        tmp = os.path.join(workdir, f".{name}.tmp")
        with open(tmp, "w") as f:
            f.write(content)
        os.replace(tmp, os.path.join(workdir, name))


def parse_run(spec: str) -> tuple[str, int | None]:
    """"runs/x" or "runs/x:1500" -> (workdir, step or None)."""
    head, sep, tail = spec.rpartition(":")
    if sep and tail.isdigit():
        return head, int(tail)
    return spec, None


def check_pipeline(config: ml_collections.ConfigDict, stages: tuple[str, ...]) -> None:
    """config.pipeline names only stages the task uses (which ones it needs, the task checks)."""
    given = sorted(k for k, v in config.get("pipeline", {}).items() if v)
    unknown = [name for name in given if name not in stages]
    if unknown:
        raise ConfigError(f"config.pipeline names {unknown}, which the {config.task} task does not use; "
                          f"its stages: {list(stages) or 'none'}.")
