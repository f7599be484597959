"""Flag parsing shared by train.py and evaluate.py: config typos become short, clear errors.

ml_collections already refuses an override of a field that does not exist (the config is
locked), but with a long traceback. `parse_flags` reports instead which `--config.` flag is
wrong and lists the valid fields at that level.
"""

from __future__ import annotations

import importlib.util
import sys

from absl import flags


def _load_config(spec: str):
    path, _, arg = spec.partition(":")
    module_spec = importlib.util.spec_from_file_location("_zoo_config", path)
    if module_spec is None:
        return None
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    return module.get_config(arg or None)


def _bad_override(config, argv: list[str]) -> str | None:
    """Message for the first `--config.a.b=...` naming a field that does not exist."""
    for arg in argv:
        if not arg.startswith("--config."):
            continue
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


def parse_flags(argv: list[str]) -> list[str]:
    """absl flags parser for `app.run(main, flags_parser=parse_flags)`."""
    try:
        return flags.FLAGS(argv)
    except flags.Error as error:
        message = str(error)
    except (KeyError, AttributeError, ValueError, TypeError) as error:
        message = str(error).strip("'\"").replace("\\n", " ").replace("\\'", "'")
        spec = next((a.split("=", 1)[1] for a in argv if a.startswith("--config=")), None)
        if spec is None and "--config" in argv:
            spec = argv[argv.index("--config") + 1]
        try:
            config = _load_config(spec) if spec else None
        except Exception:  # the original error says more than a second failure would
            config = None
        if config is not None:
            message = _bad_override(config, argv) or message
    print(f"FATAL flags error: {message}\nPass --help for usage.", file=sys.stderr)
    sys.exit(2)


class _OwnInfoOnly:
    """Drops INFO and DEBUG records that libraries (orbax, TFDS, grain) send through absl."""

    def filter(self, record) -> bool:
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
