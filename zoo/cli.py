"""What every command line shares: one error policy, config flags that fail clearly, quiet logs.

The error policy: a `zoo.errors.UserError` (bad files, bad configs, a workdir of another run, an
interrupted run), a missing file and a config-flag mistake print one line, `error: <message>`,
and exit non-zero (130 for an interrupted run); the traceback is shown only with `--verbose` or
`ZOO_VERBOSE=1`. Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import argparse
import functools
import glob
import importlib.util
import os
import sys
from collections.abc import Callable, Sequence

from absl import flags

from zoo.errors import UserError

VERBOSE_ENV = "ZOO_VERBOSE"
# Errors that name their file well enough for one line.
_USER_OS_ERRORS = (FileNotFoundError, NotADirectoryError, IsADirectoryError, PermissionError)


def verbose(argv: Sequence[str] | None = None) -> bool:
    argv = sys.argv if argv is None else argv
    return os.environ.get(VERBOSE_ENV, "") not in ("", "0") or "--verbose" in argv


def fail(message: str, code: int = 1) -> None:
    print(f"error: {message}", file=sys.stderr)
    sys.exit(code)


def exit_code(error: BaseException) -> int:
    return 130 if type(error).__name__ == "Interrupted" or isinstance(error, KeyboardInterrupt) else 1


def user_errors(main: Callable) -> Callable:
    """Wraps a command's main: user errors become one `error:` line and a non-zero exit."""

    @functools.wraps(main)
    def run(*args, **kwargs):
        try:
            return main(*args, **kwargs)
        except KeyboardInterrupt as error:
            if verbose():
                raise
            fail("interrupted; a training run resumes from its newest checkpoint when the same command is "
                 "rerun.", exit_code(error))
        except (UserError, *_USER_OS_ERRORS) as error:
            if verbose():
                raise
            fail(str(error) if not isinstance(error, OSError) or not error.filename
                 else f"{error.filename}: {error.strerror}", exit_code(error))

    return run


# ----------------------------------------------------------------------------- config flags


def split_counts(text: str) -> dict[str, int]:
    """An argparse type: "train=4,test=2" -> {"train": 4, "test": 2} (the synthetic generators)."""
    counts = {}
    for item in text.split(","):
        split, sep, count = item.partition("=")
        if not sep or not count.strip().isdigit():
            raise argparse.ArgumentTypeError(f"expected split=count, got {item!r}")
        counts[split.strip()] = int(count)
    return counts


def config_spec(argv: Sequence[str]) -> str | None:
    """The value of `--config` (a file, optionally with `:variant`) in argv, if any."""
    for index, arg in enumerate(argv):
        if arg.startswith("--config="):
            return arg.split("=", 1)[1]
        if arg == "--config" and index + 1 < len(argv):
            return argv[index + 1]
    return None


def flag_value(argv: Sequence[str], name: str) -> str | None:
    for index, arg in enumerate(argv):
        if arg.startswith(f"--{name}="):
            return arg.split("=", 1)[1]
        if arg == f"--{name}" and index + 1 < len(argv):
            return argv[index + 1]
    return None


def load_config_module(path: str):
    spec = importlib.util.spec_from_file_location("_zoo_config", path)
    if spec is None:
        raise UserError(f"--config {path}: not a Python config file.")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def load_config(spec: str):
    path, _, arg = spec.partition(":")
    return load_config_module(path).get_config(arg or None)


def config_overrides(argv: Sequence[str]) -> list[str]:
    return [a for a in argv if a.startswith("--config.")]


def _bad_override(config, argv: Sequence[str]) -> str | None:
    """Message for the first `--config.a.b=...` naming a field that does not exist."""
    for arg in config_overrides(argv):
        path = arg[len("--config."):].split("=", 1)[0].split(".")
        node, seen = config, []
        for name in path:
            keys = list(node.keys()) if hasattr(node, "keys") else []
            if name not in keys:
                where = ".".join(["config", *seen])
                return (f"{arg}: {where} has no field {name!r}. Valid fields of {where}: "
                        f"{', '.join(sorted(keys))}.")
            node, seen = node[name], [*seen, name]
    return None


def _check_config_file(argv: Sequence[str]) -> None:
    spec = config_spec(argv)
    if spec is None:
        return
    path = spec.partition(":")[0]
    if not os.path.isfile(path):
        fail(f"--config {path}: no such config file (configs are under configs/<task>/<model>.py).", 2)
    try:
        load_config(spec)  # an unknown variant or a broken file, reported before absl wraps it
    except Exception as error:  # noqa: BLE001 - any failure of the user's config file is reported as such
        if verbose(argv):
            raise
        fail(f"--config {spec}: {error}", 2)


def _variants_of(path: str) -> tuple[str, ...]:
    try:
        return tuple(getattr(load_config_module(path), "VARIANTS", ()))
    except Exception:  # noqa: BLE001 - help must not fail on one broken config
        return ()


def configs_help(repo: str, spec: str | None) -> str:
    """The variants of the given config, or of every config under `<repo>/configs`."""
    if spec:
        path = spec.partition(":")[0]
        variants = _variants_of(path) if os.path.isfile(path) else ()
        return f"\nVariants of {path} (--config {path}:<variant>): {', '.join(variants) or 'none'}\n"
    lines = ["", "Configs and their variants (--config configs/<task>/<model>.py:<variant>; the first is the default):"]
    for path in sorted(glob.glob(os.path.join(repo, "configs", "*", "*.py"))):
        if os.path.basename(path) in ("__init__.py", "common.py"):
            continue
        variants = _variants_of(path)
        if variants:
            lines.append(f"  {os.path.relpath(path, repo):44s} {', '.join(variants)}")
    return "\n".join(lines) + "\n"


def parse_flags(argv: list[str], *, help_text: str = "", repo: str | None = None) -> list[str]:
    """absl flags parser for `app.run(main, flags_parser=...)`: `--help` exits 0 and lists the
    configs' variants; a missing config file, an unknown variant or a misspelt `--config.` field
    is one `error:` line (exit 2)."""
    if any(a in ("-h", "--help", "--helpshort") for a in argv[1:]):
        print(help_text.strip() + "\n")
        print(flags.FLAGS.main_module_help())
        if repo:
            print(configs_help(repo, config_spec(argv)))
        sys.exit(0)
    _check_config_file(argv)
    try:
        return flags.FLAGS(argv)
    except flags.Error as error:
        message = str(error)
    except (KeyError, AttributeError, ValueError, TypeError) as error:
        message = str(error).strip("'\"").replace("\\n", " ").replace("\\'", "'")
        spec = config_spec(argv)
        try:
            config = load_config(spec) if spec else None
        except Exception:  # noqa: BLE001 - the original error says more than a second failure would
            config = None
        if config is not None:
            message = _bad_override(config, argv) or message
    fail(f"{message} (--help for usage)", 2)
    return []


def describe_config(argv: Sequence[str], workdir: str) -> str:
    """One log line for the config: the file, the overrides, and where the full config is."""
    spec = config_spec(argv) or "the run's config.json"
    overrides = config_overrides(argv)
    return (f"Config {spec}" + (f" with {' '.join(overrides)}" if overrides else "")
            + f"; the full config: {os.path.join(workdir, 'config.json')}")


# ----------------------------------------------------------------------------- logs


# Library warnings that say nothing to a user: orbax restoring one item of a managed checkpoint
# (its metadata lives a folder up), TFDS about a dataset folder it is about to write.
_LIBRARY_NOISE = ("Metadata file does not exist", "has no dataset_info.json")


class _OwnInfoOnly:
    """Drops INFO and DEBUG records that libraries (orbax, TFDS, grain) send through absl."""

    def filter(self, record) -> bool:
        message = record.getMessage() if record.levelno < 40 else ""
        if any(noise in message for noise in _LIBRARY_NOISE):
            return False
        if record.levelno >= 30:  # WARNING and above always pass
            return True
        path = record.pathname.replace("\\", "/")
        return "/zoo/" in path or path.endswith(("/train.py", "/evaluate.py"))


def quiet_libraries() -> None:
    """Keeps the console readable: the zoo's own INFO lines, only warnings from libraries."""
    import logging as std_logging

    from absl import logging

    logging.get_absl_handler().addFilter(_OwnInfoOnly())
    std_logging.getLogger("absl").addFilter(_OwnInfoOnly())
    for name in ("tensorflow_datasets", "orbax", "grain"):
        std_logging.getLogger(name).setLevel(std_logging.WARNING)
