"""Flax Linen models, one file per family, built from a config big_vision style.

`config.model.name` names a model below; every other field of `config.model` is a constructor
field of that module, passed as it is (`Model(**config.model)`). A task adds what it derives from
the data or from other config sections (the number of classes, the clip length) as `extra`.

    model = zoo.models.build(config.model, num_classes=17)
"""

from __future__ import annotations

import dataclasses
import importlib
from collections.abc import Mapping
from typing import Any

import flax.linen as nn

from zoo.errors import ConfigError

# name -> "module:Class" under zoo.models; modules are imported on first use.
_REGISTRY = {
    "netvlad_pp": "netvlad:NetVLADPlusPlus",
    "e2e_spot": "e2e_spot:E2ESpot",
    "tdeed": "tdeed:TDEED",
    "reid": "reid_head:ReidModel",
    "calf": "calf:CALF",
    "astra": "astra:ASTRA",
    "heatmap_pose": "pose:HeatmapPose",
    "resnet_classifier": "resnet:ResNetClassifier",
    "parseq": "parseq:PARSeq",
    "crnn": "crnn:CRNN",
    "yolox": "yolox:YOLOX",
    "captioner": "captioner:Captioner",
    "pitch_heatmaps": "pitch_heatmaps:PitchHeatmapNet",
}


def register(name: str, target: str) -> None:
    """Adds a model (`"module:Class"` under zoo.models, or a full dotted module path)."""
    _REGISTRY[name] = target


def model_names() -> list[str]:
    return sorted(_REGISTRY)


def model_class(name: str) -> type[nn.Module]:
    if name not in _REGISTRY:
        raise ConfigError(f"Unknown model.name {name!r}; known models: {', '.join(sorted(_REGISTRY))}.")
    module, _, cls = _REGISTRY[name].partition(":")
    module = module if "." in module else f"zoo.models.{module}"
    return getattr(importlib.import_module(module), cls)


def constructor_fields(cls: type[nn.Module]) -> set[str]:
    """The fields a Linen module takes (without Flax's own `parent` and `name`)."""
    return {f.name for f in dataclasses.fields(cls) if f.init} - {"parent", "name"}


def build(model_config: Mapping[str, Any], *, skip: tuple[str, ...] = (), **extra: Any) -> nn.Module:
    """The module `model_config.name` with the other fields of `model_config` and `extra` as arguments.

    skip: fields of model_config that the task reads itself (e.g. the team recipe, which decides
      the number of class columns and the heads).
    Raises ValueError naming any field the module does not take (a config typo), so that a field
    is never silently ignored.
    """
    fields = dict(model_config.to_dict() if hasattr(model_config, "to_dict") else model_config)
    for name in skip:
        fields.pop(name, None)
    name = fields.pop("name", None)
    if not name:
        raise ConfigError("config.model.name is empty; known models: " + ", ".join(sorted(_REGISTRY)))
    cls = model_class(name)
    fields.update(extra)
    unknown = sorted(set(fields) - constructor_fields(cls))
    if unknown:
        raise ConfigError(
            f"config.model: {cls.__name__} ({name}) takes no field {', '.join(map(repr, unknown))}; "
            f"its fields: {', '.join(sorted(constructor_fields(cls)))}."
        )
    return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in fields.items()})
